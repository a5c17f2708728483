"""A posting's amounts within the columns' sizes (0024_posting_amounts_fit.sql). The
constraint is added NOT VALID, which Django's AddConstraint cannot say: the database runs the
file, the model's state gains the same CheckConstraint."""

from pathlib import Path

from django.db import migrations, models
from django.db.models import Q

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = "ALTER TABLE ledger_posting DROP CONSTRAINT ledger_posting_amounts_fit;"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0023_audit_rows_json_once")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(SQL, REVERSE)],
            state_operations=[
                migrations.AddConstraint(
                    model_name="posting",
                    constraint=models.CheckConstraint(
                        condition=Q(quantity__gt=-(10**20), quantity__lt=10**20)
                        & Q(value__gt=-(10**22), value__lt=10**22),
                        name="ledger_posting_amounts_fit",
                    ),
                ),
            ],
        )
    ]
