"""Cancellations of documents: asked for by one person, approved by another."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ledger", "0011_journal_seal_schedule")]

    operations: list = []
