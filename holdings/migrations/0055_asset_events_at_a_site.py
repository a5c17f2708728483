"""A fixed asset's depreciation or impairment is of an asset at a site
(0055_asset_events_at_a_site.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_asset_event_at_a_site ON holdings_assetevent",
    "DROP FUNCTION holdings_asset_event_at_a_site()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0054_asset_events_posted_by_kind")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
