"""The holdings rules as edited after their migrations were released, brought to every
database: lots checked entry by entry in the journal's order, the lot checks collected per
transaction, a lot's account and commodity as one composite key, the lots' indexes
(0015_rules_as_edited.sql). On the way back, the lot check as 0012 released it."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE_SQL = (Path(__file__).parent / "0012_cancellations.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("holdings", "0014_statement_uploads"), ("ledger", "0016_hashed_tokens")]

    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
