"""The subledgers (lots, lot movements, disposals, loan events) sealed with the journal."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP INDEX holdings_lot_opened_by",
    "DROP TABLE holdings_subledgerseal",
    "DROP FUNCTION holdings_subledger_seals_after_insert()",
    "DROP FUNCTION holdings_subledger_seal_immutable()",
    "DROP FUNCTION holdings_subledger_rows_count(jsonb)",
    "DROP FUNCTION holdings_subledger_rows_hash(jsonb)",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0012_cancellations"), ("ledger", "0013_guarded_flag_checked")]

    # The seals of the entries already posted are written by the next sealing run (the
    # journal's five-minute job seals the subledgers right after the journal).
    operations = [migrations.RunSQL(SQL, REVERSE)]
