"""A fixed asset's depreciation, impairment or disposal has an entry, its other events none
(0054_asset_events_posted_by_kind.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "ALTER TABLE holdings_assetevent DROP CONSTRAINT holdings_asset_event_posted_by_kind",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0053_hpc_revenue_matches_its_entry")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
