"""Every journal entry is posted and none is changed, whatever status a raw statement gave it
(0026_entries_posted_only.sql). The constraint is added NOT VALID, which Django's
AddConstraint cannot say: the database runs the file, the model's state gains the same
CheckConstraint."""

from pathlib import Path

from django.db import migrations, models
from django.db.models import Q

SQL = Path(__file__).with_suffix(".sql").read_text()
# Rule 5 as ledger/sql/invariants.sql (migration 0002) released it.
REVERSE = """
ALTER TABLE ledger_journalentry DROP CONSTRAINT ledger_entry_status_posted;
CREATE OR REPLACE FUNCTION ledger_entry_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM ledger_violation('ledger_entry_immutable', 'the journal cannot be truncated');
    END IF;
    IF OLD.status = 'posted' THEN
        PERFORM ledger_violation('ledger_entry_immutable',
            format('journal entry %s is posted; correct it with a reversing entry', OLD.id));
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0025_no_temporary_objects")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(SQL, REVERSE)],
            state_operations=[
                migrations.AddConstraint(
                    model_name="journalentry",
                    constraint=models.CheckConstraint(
                        condition=Q(status="posted"), name="ledger_entry_status_posted"
                    ),
                ),
            ],
        )
    ]
