from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "sql" / "evidence.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("holdings", "0001_initial"), ("ledger", "0002_invariants")]

    operations = [migrations.RunSQL(SQL)]
