from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "sql" / "invariants_v3.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0006_leaner_journal_indexes")]

    operations = [migrations.RunSQL(SQL)]
