"""A production record's entry posts its net at its value into the receivable and its value
out of mining revenue (0047_production_records_match_their_entries.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_production_records_match_entries ON holdings_productionrecord",
    "DROP FUNCTION holdings_production_records_match_entries()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0046_transfers_and_payouts_match_their_entries")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
