"""The subledgers (lots, lot movements, disposals, loan events) sealed with the journal."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("holdings", "0012_cancellations"), ("ledger", "0013_guarded_flag_checked")]

    operations: list = []
