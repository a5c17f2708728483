from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
# On the way back, what the SQL created is dropped and what it replaced restored.
REVERSE = [
    "DROP TRIGGER ledger_account_acyclic ON ledger_account",
    "DROP TRIGGER ledger_account_chart_changed ON ledger_account",
    "DROP TRIGGER ledger_account_in_use ON ledger_account",
    "DROP TRIGGER ledger_commodity_chart_changed ON ledger_commodity",
    "DROP TRIGGER ledger_commodity_in_use ON ledger_commodity",
    "DROP TRIGGER ledger_dailybalance_guard ON ledger_dailybalance",
    "DROP TRIGGER ledger_dailybalance_no_truncate ON ledger_dailybalance",
    "DROP TRIGGER ledger_entries_after_insert ON ledger_journalentry",
    "DROP TRIGGER ledger_entry_before_insert ON ledger_journalentry",
    "DROP TRIGGER ledger_entry_immutable ON ledger_journalentry",
    "DROP TRIGGER ledger_entry_no_truncate ON ledger_journalentry",
    "DROP TRIGGER ledger_reversal_check ON ledger_journalentry",
    "DROP TRIGGER ledger_monthlybalance_guard ON ledger_monthlybalance",
    "DROP TRIGGER ledger_monthlybalance_no_truncate ON ledger_monthlybalance",
    "DROP TRIGGER ledger_period_close_guard ON ledger_periodclose",
    "DROP TRIGGER ledger_period_close_no_truncate ON ledger_periodclose",
    "DROP TRIGGER ledger_periodclose_chart_changed ON ledger_periodclose",
    "DROP TRIGGER ledger_posting_after_insert ON ledger_posting",
    "DROP TRIGGER ledger_posting_immutable ON ledger_posting",
    "DROP TRIGGER ledger_posting_no_truncate ON ledger_posting",
    "ALTER TABLE ledger_account DROP CONSTRAINT ledger_account_parent_same_kind",
    "ALTER TABLE ledger_posting DROP CONSTRAINT ledger_posting_quantity_scale",
    "ALTER TABLE ledger_posting DROP CONSTRAINT ledger_posting_value_scale",
    "ALTER TABLE ledger_journalentry DROP COLUMN posted_xact",
    "DROP TABLE ledger_chart_version",
    "DROP SEQUENCE ledger_chart_version_seq",
    "DROP SEQUENCE ledger_entry_sequence",
    "DROP FUNCTION ledger_account_acyclic()",
    "DROP FUNCTION ledger_account_in_use()",
    "DROP FUNCTION ledger_chart_changed()",
    "DROP FUNCTION ledger_commodity_in_use()",
    "DROP FUNCTION ledger_entries_after_insert()",
    "DROP FUNCTION ledger_entry_before_insert()",
    "DROP FUNCTION ledger_entry_immutable()",
    "DROP FUNCTION ledger_period_close_guard()",
    "DROP FUNCTION ledger_posting_after_insert()",
    "DROP FUNCTION ledger_posting_immutable()",
    "DROP FUNCTION ledger_reversal_check()",
    "DROP FUNCTION ledger_rollup_guard()",
    "DROP FUNCTION ledger_violation(text,text)",
]


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
