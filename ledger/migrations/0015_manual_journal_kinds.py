"""Manual journal kinds from a closed list.

PostgreSQL refuses a manual journal whose kind is not manual, adjustment, accrual,
reclassification, correction or opening (`ledger_mj_kind_known`); the kinds the services
post (pool_earning, sale, loan_interest, reversal, ...) are theirs alone.

On a ledger already in use: drafts of another kind become `manual` (their maker may still
change the kind); a journal submitted with another kind can be rejected but not approved;
journals already decided never change, so the constraint is added NOT VALID (it holds for
every row written from now on) and validated at once where no decided row holds another
kind. Reversed, the constraint is dropped (drafts keep `manual`).
"""

from django.db import migrations, models

KINDS = ["manual", "adjustment", "accrual", "reclassification", "correction", "opening"]
KNOWN = "kind IN (" + ", ".join(f"'{kind}'" for kind in KINDS) + ")"

FORWARD = f"""
UPDATE ledger_manualjournal SET kind = 'manual' WHERE status = 'draft' AND NOT ({KNOWN});
ALTER TABLE ledger_manualjournal ADD CONSTRAINT ledger_mj_kind_known
    CHECK ({KNOWN} OR status = 'rejected') NOT VALID;
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM ledger_manualjournal WHERE NOT ({KNOWN} OR status = 'rejected')
    ) THEN
        ALTER TABLE ledger_manualjournal VALIDATE CONSTRAINT ledger_mj_kind_known;
    END IF;
END
$$;
"""

BACKWARD = "ALTER TABLE ledger_manualjournal DROP CONSTRAINT ledger_mj_kind_known;"


class Migration(migrations.Migration):
    dependencies = [("ledger", "0014_application_role")]

    operations: list = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, BACKWARD)],
            state_operations=[
                migrations.AlterField(
                    model_name="manualjournal",
                    name="kind",
                    field=models.CharField(
                        choices=[
                            ("manual", "Manual"),
                            ("adjustment", "Adjustment"),
                            ("accrual", "Accrual"),
                            ("reclassification", "Reclassification"),
                            ("correction", "Correction"),
                            ("opening", "Opening"),
                        ],
                        default="manual",
                        max_length=32,
                    ),
                ),
                migrations.AddConstraint(
                    model_name="manualjournal",
                    constraint=models.CheckConstraint(
                        condition=models.Q(kind__in=KINDS) | models.Q(status="rejected"),
                        name="ledger_mj_kind_known",
                    ),
                ),
            ],
        ),
    ]
