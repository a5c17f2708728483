from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "sql" / "invariants_v2.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_posting_keys_are_composite")]

    operations = [migrations.RunSQL(SQL)]
