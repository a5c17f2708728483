from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "sql" / "invariants_v6.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0010_trigger_plans_use_indexes")]

    operations = [migrations.RunSQL(SQL)]
