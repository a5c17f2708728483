from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "sql" / "invariants_v5.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0009_rollup_keys_checked_by_trigger")]

    operations = [migrations.RunSQL(SQL)]
