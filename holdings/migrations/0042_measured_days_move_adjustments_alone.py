"""On a remeasured day, lots move only by adjustments of a remeasurement's own entries
(0042_measured_days_move_adjustments_alone.sql)."""

from pathlib import Path

from django.db import migrations

from holdings.migrations._released import released_function

SQL = Path(__file__).with_suffix(".sql").read_text()
# As holdings migration 0030 released it.
MEASURED_DAYS_0030 = released_function(
    "0030_remeasured_again_after_cancellation", "holdings_lot_measured_days_kept"
)


class Migration(migrations.Migration):
    dependencies = [("holdings", "0041_adjustments_match_their_lots")]

    operations = [migrations.RunSQL(SQL, MEASURED_DAYS_0030)]
