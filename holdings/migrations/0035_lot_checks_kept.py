"""The lots awaiting their check at commit are written and taken by the lots' triggers alone
(0035_lot_checks_kept.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_lot_pending_no_truncate ON holdings_lot_pending_check",
    "DROP TRIGGER holdings_lot_pending_guard ON holdings_lot_pending_check",
    "DROP FUNCTION holdings_lot_pending_guard()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0034_loan_accruals_again")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
