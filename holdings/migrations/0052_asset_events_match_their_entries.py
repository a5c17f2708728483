"""A fixed asset's depreciation, impairment or disposal entry posts what the event makes of
it (0052_asset_events_match_their_entries.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_asset_event_matches_its_entry ON holdings_assetevent",
    "DROP FUNCTION holdings_asset_event_matches_its_entry()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0051_deposits_and_receipts_match_their_entries")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
