"""Every entry posting to an account that holds lots, and every entry lots move with, is
compared with its lots at commit: units and cost per account, on the entry's day
(0036_entries_match_their_lots.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_entries_match_lots ON holdings_entry_lots_pending",
    "DROP FUNCTION holdings_entries_match_lots()",
    "DROP TRIGGER holdings_movements_touch_entries ON holdings_lotmovement",
    "DROP TRIGGER holdings_postings_touch_lots ON ledger_posting",
    "DROP FUNCTION holdings_entries_touch_lots()",
    "DROP TABLE holdings_entry_lots_pending",
    "DROP FUNCTION holdings_entry_lots_pending_guard()",
    "DROP FUNCTION holdings_account_holds_lots(bigint)",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0035_lot_checks_kept")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
