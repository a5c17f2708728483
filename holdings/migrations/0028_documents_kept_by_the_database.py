"""Documents kept as the services write them, whoever writes: loan events are evidence
(never updated, deleted or truncated), a loan with events keeps its terms and accounts, a
lot keeps everything it was opened with but its units, cost and adjustment, and a site cost
is decided by someone other than its maker and posted by an entry of its own kind
(0028_documents_kept_by_the_database.sql).

The site costs' maker-checker constraint is added NOT VALID, which Django's AddConstraint
cannot say: the database runs the file, the model's state gains the same CheckConstraint.
On the way back, the lot's identity rule as 0022 released it."""

from pathlib import Path

from django.db import migrations, models
from django.db.models import Q

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_site_cost_entry_kind ON holdings_sitecost",
    "DROP FUNCTION holdings_site_cost_entry_kind()",
    "ALTER TABLE holdings_sitecost DROP CONSTRAINT holdings_site_cost_not_self_decided",
    "DROP TRIGGER holdings_lot_identity_kept ON holdings_lot",
    # 0022_lot_rollups.sql's, as written there.
    """CREATE OR REPLACE FUNCTION holdings_lot_identity_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_violation('holdings_lot_identity_kept',
        format('lot %s keeps its account and origin: a transfer opens a new lot', OLD.id));
    RETURN NULL;
END $$""",
    """CREATE TRIGGER holdings_lot_identity_kept
BEFORE UPDATE OF account_id, origin ON holdings_lot
FOR EACH ROW
WHEN (NEW.account_id IS DISTINCT FROM OLD.account_id OR NEW.origin IS DISTINCT FROM OLD.origin)
EXECUTE FUNCTION holdings_lot_identity_kept()""",
    "DROP TRIGGER holdings_loan_terms_kept ON holdings_loan",
    "DROP FUNCTION holdings_loan_terms_kept()",
    "DROP TRIGGER holdings_loanevent_no_truncate ON holdings_loanevent",
    "DROP TRIGGER holdings_loanevent_immutable ON holdings_loanevent",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0027_lot_checks_where_they_can_fail")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(SQL, REVERSE)],
            state_operations=[
                migrations.AddConstraint(
                    model_name="sitecost",
                    constraint=models.CheckConstraint(
                        condition=~Q(decided_by=models.F("created_by")),
                        name="holdings_site_cost_not_self_decided",
                    ),
                ),
            ],
        )
    ]
