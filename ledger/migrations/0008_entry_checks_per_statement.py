from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "sql" / "invariants_v4.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_guarded_accounts_in_database")]

    operations = [migrations.RunSQL(SQL)]
