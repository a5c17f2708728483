"""A table can be audited for some events only (ledger/sql/audit_events.sql)."""

from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "sql" / "audit_events.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_audit_log")]

    operations = [migrations.RunSQL(SQL)]
