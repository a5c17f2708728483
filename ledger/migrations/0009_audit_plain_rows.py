"""The audit triggers copy plain rows without a call per row (ledger/sql/audit_plain_rows.sql)."""

from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "sql" / "audit_plain_rows.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0008_audit_events")]

    operations = [migrations.RunSQL(SQL)]
