"""Each document is posted by an entry of its own kind, and a loan event that moves money or
collateral has its entry (0037_documents_posted_by_their_own_entries.sql). The loan events'
constraint is added NOT VALID, which Django's AddConstraint cannot say: the database runs the
file, the model's state gains the same CheckConstraint."""

from pathlib import Path

from django.db import migrations, models
from django.db.models import Q

SQL = Path(__file__).with_suffix(".sql").read_text()
TABLES = {
    "holdings_sale": "holdings_sale_entry_kind",
    "holdings_transfer": "holdings_transfer_entry_kind",
    "holdings_productionrecord": "holdings_production_record_entry_kind",
    "holdings_payout": "holdings_payout_entry_kind",
    "holdings_remeasurement": "holdings_remeasurement_entry_kind",
    "holdings_loanevent": "holdings_loan_event_entry_kind",
}
REVERSE = [
    "ALTER TABLE holdings_loanevent DROP CONSTRAINT holdings_loan_event_posted",
    *(f"DROP TRIGGER {trigger} ON {table}" for table, trigger in TABLES.items()),
    "DROP FUNCTION holdings_documents_entry_kind()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0036_entries_match_their_lots")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(SQL, REVERSE)],
            state_operations=[
                migrations.AddConstraint(
                    model_name="loanevent",
                    constraint=models.CheckConstraint(
                        condition=Q(entry__isnull=False)
                        | Q(kind="tier")
                        | Q(kind="accrual", amount=0),
                        name="holdings_loan_event_posted",
                    ),
                ),
            ],
        )
    ]
