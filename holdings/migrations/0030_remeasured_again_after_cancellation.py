"""A day is remeasured again once its remeasurement is cancelled (attempts counted from 1),
and no lot moves on or before the day of a standing remeasurement but by the remeasurement's
own entries (0030_remeasured_again_after_cancellation.sql)."""

from pathlib import Path

from django.conf import settings
from django.db import migrations, models

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_lot_measured_days_kept ON holdings_lotmovement",
    "DROP FUNCTION holdings_lot_measured_days_kept()",
    "DROP TRIGGER holdings_remeasurement_attempt_follows ON holdings_remeasurement",
    "DROP FUNCTION holdings_remeasurement_attempt_follows()",
]


class Migration(migrations.Migration):
    dependencies = [
        ("holdings", "0029_request_scopes_fit"),
        ("ledger", "0024_posting_amounts_fit"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="remeasurement",
            name="holdings_remeasurement_once_per_day",
        ),
        migrations.AddField(
            model_name="remeasurement",
            name="attempt",
            field=models.PositiveSmallIntegerField(default=1),
        ),
        migrations.AddConstraint(
            model_name="remeasurement",
            constraint=models.UniqueConstraint(
                fields=("commodity", "as_of", "attempt"), name="holdings_remeasurement_attempt_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="remeasurement",
            constraint=models.CheckConstraint(
                condition=models.Q(("attempt__gte", 1)),
                name="holdings_remeasurement_attempt_counted",
            ),
        ),
        migrations.RunSQL(SQL, REVERSE),
    ]
