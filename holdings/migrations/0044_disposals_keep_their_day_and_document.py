"""Disposal records dated by their entries, counting their days from their lots, of the sale
or transfer their entries post, mirrored by cancellations, and adding up to their sales and
transfers' fees (0044_disposals_keep_their_day_and_document.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_transfer_fee_matches_disposals ON holdings_transfer",
    "DROP FUNCTION holdings_transfer_fee_matches_disposals()",
    "DROP TRIGGER holdings_sale_matches_disposals ON holdings_sale",
    "DROP FUNCTION holdings_sale_matches_disposals()",
    "DROP TRIGGER holdings_disposals_kept ON holdings_disposal",
    "DROP FUNCTION holdings_disposals_kept()",
    "ALTER TABLE holdings_disposal DROP CONSTRAINT holdings_disposal_signed",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0043_disposals_match_their_lots")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
