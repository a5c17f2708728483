from pathlib import Path

from django.db import migrations

SQL = (Path(__file__).resolve().parent.parent / "sql" / "reconciliation.sql").read_text()

# Audited with their actor: who uploaded a statement, who (or which task) ran a
# reconciliation. The lines and items are insert-only evidence tied to those rows.
AUDITED = [
    ("holdings_statement", "{content}"),
    ("holdings_reconciliationrun", "{}"),
]


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30",
        hour="3",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.get_or_create(
        name="Nightly reconciliation",
        defaults={
            "task": "holdings.reconcile",
            "crontab": crontab,
            "description": (
                "Yesterday reconciled: pool balances, payouts on-chain and unexplained "
                "inflows, wallets, loans, and the ledger against itself; breaks are mailed "
                "to the finance approvers."
            ),
        },
    )


def unschedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name="Nightly reconciliation").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("holdings", "0009_reconciliation"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunSQL(SQL),
        migrations.RunSQL(
            [
                f"SELECT ledger_audit_attach('{table}', 'id', '{{}}', '{omitted}', "
                "'{insert,update,delete,truncate}')"
                for table, omitted in AUDITED
            ],
            [f"SELECT ledger_audit_detach('{table}')" for table, _ in AUDITED],
        ),
        migrations.RunPython(schedule, unschedule),
    ]
