"""Lot movements are inserted under a lock a remeasurement holds exclusively, so that a
remeasurement and a transaction moving lots never miss each other
(0032_lot_movements_share_the_lots.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_lot_movement_shares_lots ON holdings_lotmovement",
    "DROP FUNCTION holdings_lot_movement_shares_lots()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0031_loan_events_lock_their_loan")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
