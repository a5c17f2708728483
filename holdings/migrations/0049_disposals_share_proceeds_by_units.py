"""A sale's or a liquidation's proceeds are shared among the lots it relieves by their units,
each record within a cent of its share (0049_disposals_share_proceeds_by_units.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_liquidation_proceeds_by_units ON holdings_loanevent",
    "DROP TRIGGER holdings_sale_proceeds_by_units ON holdings_sale",
    "DROP FUNCTION holdings_disposals_share_proceeds_by_units()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0048_remeasurements_match_their_entries")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
