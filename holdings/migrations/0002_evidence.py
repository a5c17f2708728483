from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("holdings", "0001_initial"), ("ledger", "0002_invariants")]

    operations = [migrations.RunSQL(SQL)]
