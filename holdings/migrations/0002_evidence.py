from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
# On the way back: the rules of 0002, and those 0015 brought (the lot checks collected per
# transaction, the lot's composite key), whichever the database has.
REVERSE = [
    "DROP TRIGGER IF EXISTS holdings_lot_kept ON holdings_lot",
    "DROP TRIGGER IF EXISTS holdings_lot_no_truncate ON holdings_lot",
    "DROP TRIGGER IF EXISTS holdings_lots_inserted ON holdings_lot",
    "DROP TRIGGER IF EXISTS holdings_lots_updated ON holdings_lot",
    "DROP TRIGGER IF EXISTS holdings_lot_movements_inserted ON holdings_lotmovement",
    "DROP TABLE IF EXISTS holdings_lot_pending_check",
    "ALTER TABLE holdings_lot DROP CONSTRAINT IF EXISTS holdings_lot_account_commodity",
    "DROP FUNCTION IF EXISTS holdings_lots_touched()",
    "DROP TRIGGER holdings_lotmovement_immutable ON holdings_lotmovement",
    "DROP TRIGGER holdings_lotmovement_no_truncate ON holdings_lotmovement",
    "DROP TRIGGER IF EXISTS holdings_lot_matches_movements ON holdings_lot",
    "DROP TRIGGER holdings_payout_immutable ON holdings_payout",
    "DROP TRIGGER holdings_payout_no_truncate ON holdings_payout",
    "DROP TRIGGER holdings_price_immutable ON holdings_price",
    "DROP TRIGGER holdings_price_no_truncate ON holdings_price",
    "DROP TRIGGER holdings_productionrecord_immutable ON holdings_productionrecord",
    "DROP TRIGGER holdings_productionrecord_no_truncate ON holdings_productionrecord",
    "DROP TRIGGER holdings_remeasurement_immutable ON holdings_remeasurement",
    "DROP TRIGGER holdings_remeasurement_no_truncate ON holdings_remeasurement",
    "DROP FUNCTION holdings_evidence_immutable()",
    "DROP FUNCTION holdings_lot_matches_movements()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0001_initial"), ("ledger", "0002_invariants")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
