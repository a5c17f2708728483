"""Switching must-not-go-negative on checks the account on every day at commit."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER ledger_account_guard_switched_on ON ledger_account",
    "DROP TRIGGER ledger_account_guard_set ON ledger_account",
    "DROP FUNCTION ledger_account_guard_holds()",
]


class Migration(migrations.Migration):
    dependencies = [("ledger", "0012_cancellations")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
