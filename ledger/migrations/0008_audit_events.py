"""A table can be audited for some events only (0008_audit_events.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_audit_log")]

    operations = [migrations.RunSQL(SQL)]
