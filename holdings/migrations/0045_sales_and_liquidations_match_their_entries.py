"""A sale's entry posts what the sale makes of each account; a liquidation's disposal records
relieve its units for what its entry settles of the loan
(0045_sales_and_liquidations_match_their_entries.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_liquidation_matches_disposals ON holdings_loanevent",
    "DROP FUNCTION holdings_liquidation_matches_disposals()",
    "DROP TRIGGER holdings_sale_matches_its_entry ON holdings_sale",
    "DROP FUNCTION holdings_sale_matches_its_entry()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0044_disposals_keep_their_day_and_document")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
