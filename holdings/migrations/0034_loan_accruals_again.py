"""A loan's day is accrued again once its accrual is cancelled, or where it posted nothing
once the day's principal changed (attempts counted from 1); a draw, repayment or
liquidation is not dated under interest accrued with an entry (0034_loan_accruals_again.sql)."""

from pathlib import Path

from django.conf import settings
from django.db import migrations, models

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_loan_events_follow_accruals ON holdings_loanevent",
    "DROP FUNCTION holdings_loan_events_follow_accruals()",
    "DROP TRIGGER holdings_loan_accrual_attempt_follows ON holdings_loanevent",
    "DROP FUNCTION holdings_loan_accrual_attempt_follows()",
]


class Migration(migrations.Migration):
    dependencies = [
        ("holdings", "0033_loan_payments_in_order"),
        ("ledger", "0024_posting_amounts_fit"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="loanevent",
            name="holdings_loan_accrual_once_a_day",
        ),
        migrations.AddField(
            model_name="loanevent",
            name="attempt",
            field=models.PositiveSmallIntegerField(db_default=1, default=1),
        ),
        migrations.AddConstraint(
            model_name="loanevent",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "accrual")),
                fields=("loan", "effective_date", "attempt"),
                name="holdings_loan_accrual_attempt_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="loanevent",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("attempt", 1),
                    models.Q(("attempt__gt", 1), ("kind", "accrual")),
                    _connector="OR",
                ),
                name="holdings_loan_event_attempt_counted",
            ),
        ),
        migrations.RunSQL(SQL, REVERSE),
    ]
