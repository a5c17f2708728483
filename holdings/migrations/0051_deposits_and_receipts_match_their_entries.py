"""A vendor deposit's and a fixed asset's receipt entries post what the documents make of
them (0051_deposits_and_receipts_match_their_entries.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_receipt_matches_its_entry ON holdings_fixedasset",
    "DROP FUNCTION holdings_receipt_matches_its_entry()",
    "DROP TRIGGER holdings_deposit_matches_its_entry ON holdings_vendordeposit",
    "DROP FUNCTION holdings_deposit_matches_its_entry()",
    "DROP FUNCTION holdings_posting_differs(bigint, jsonb)",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0050_site_costs_match_their_entries")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
