"""A month's HPC revenue entry takes its amount into HPC receivables and out of its site's HPC
revenue (0053_hpc_revenue_matches_its_entry.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_hpc_revenue_matches_its_entry ON holdings_hpcrevenue",
    "DROP FUNCTION holdings_hpc_revenue_matches_its_entry()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0052_asset_events_match_their_entries")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
