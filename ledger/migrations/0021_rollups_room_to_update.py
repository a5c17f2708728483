"""Room on the roll-ups' pages for their rows' updates (0021_rollups_room_to_update.sql); on
the way back, the default fill."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()

REVERSE = [
    "ALTER TABLE ledger_dailybalance RESET (fillfactor)",
    "ALTER TABLE ledger_monthlybalance RESET (fillfactor)",
]


class Migration(migrations.Migration):
    dependencies = [("ledger", "0020_rollups_keyed_by_account_once")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
