"""A remeasurement's adjustment is its fair value less its carrying value, and its entry takes
it to 4100 (0048_remeasurements_match_their_entries.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_remeasurement_matches_its_entry ON holdings_remeasurement",
    "DROP FUNCTION holdings_remeasurement_matches_its_entry()",
    "ALTER TABLE holdings_remeasurement"
    " DROP CONSTRAINT holdings_remeasurement_adjustment_is_the_difference",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0047_production_records_match_their_entries")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
