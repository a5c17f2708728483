"""Documents cancelled with their subledger; lots move forward in time only."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("holdings", "0011_pool_balance_schedule"), ("ledger", "0012_cancellations")]

    operations: list = []
