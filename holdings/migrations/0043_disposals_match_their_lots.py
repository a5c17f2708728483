"""Disposal records compared with their entries' lot movements at commit
(0043_disposals_match_their_lots.sql)."""

from pathlib import Path

from django.db import migrations

from holdings.migrations._released import released_function

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    # As holdings migration 0041 released it.
    released_function("0041_adjustments_match_their_lots", "holdings_entries_match_lots"),
    "DROP TRIGGER holdings_disposals_touch_lots ON holdings_disposal",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0042_measured_days_move_adjustments_alone")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
