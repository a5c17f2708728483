"""A transfer's entry posts its units between its wallets, a payout's its amount from the pool
account's receivable into its wallet (0046_transfers_and_payouts_match_their_entries.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_payout_matches_its_entry ON holdings_payout",
    "DROP FUNCTION holdings_payout_matches_its_entry()",
    "DROP TRIGGER holdings_transfer_matches_its_entry ON holdings_transfer",
    "DROP FUNCTION holdings_transfer_matches_its_entry()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0045_sales_and_liquidations_match_their_entries")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
