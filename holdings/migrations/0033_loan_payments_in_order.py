"""A loan's repayments and liquidations go in date order: one dated before a standing
payment of its loan is refused (0033_loan_payments_in_order.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_loan_payments_in_order ON holdings_loanevent",
    "DROP FUNCTION holdings_loan_payments_in_order()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0032_lot_movements_share_the_lots")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
