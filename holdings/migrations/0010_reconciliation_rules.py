from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
# On the way back, what the SQL created is dropped and what it replaced restored.
REVERSE = [
    "DROP TRIGGER holdings_balancestatementline_immutable ON holdings_balancestatementline",
    "DROP TRIGGER holdings_balancestatementline_no_truncate ON holdings_balancestatementline",
    "DROP TRIGGER holdings_loanstatementline_immutable ON holdings_loanstatementline",
    "DROP TRIGGER holdings_loanstatementline_no_truncate ON holdings_loanstatementline",
    "DROP TRIGGER holdings_reconciliationitem_immutable ON holdings_reconciliationitem",
    "DROP TRIGGER holdings_reconciliationitem_no_truncate ON holdings_reconciliationitem",
    "DROP TRIGGER holdings_reconciliationrun_immutable ON holdings_reconciliationrun",
    "DROP TRIGGER holdings_reconciliationrun_no_truncate ON holdings_reconciliationrun",
    "DROP TRIGGER holdings_statement_immutable ON holdings_statement",
    "DROP TRIGGER holdings_statement_no_truncate ON holdings_statement",
    "ALTER TABLE holdings_reconciliationrun DROP CONSTRAINT holdings_recon_counts",
    "ALTER TABLE holdings_reconciliationrun DROP CONSTRAINT holdings_recon_status",
]

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
        migrations.RunSQL(SQL, REVERSE),
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
