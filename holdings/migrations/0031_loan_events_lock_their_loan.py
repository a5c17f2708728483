"""The insert of a loan event locks its loan's row, so that an update of the loan's terms
racing the loan's first event waits for it and is refused
(0031_loan_events_lock_their_loan.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_loan_event_locks_loan ON holdings_loanevent",
    "DROP FUNCTION holdings_loan_event_locks_loan()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0030_remeasured_again_after_cancellation")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
