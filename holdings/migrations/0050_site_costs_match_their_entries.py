"""A site cost's entry posts, account by account, what the document makes of it
(0050_site_costs_match_their_entries.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_site_cost_matches_its_entry ON holdings_sitecost",
    "DROP FUNCTION holdings_site_cost_matches_its_entry()",
    "DROP FUNCTION holdings_site_cost_account(text, text)",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0049_disposals_share_proceeds_by_units")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
