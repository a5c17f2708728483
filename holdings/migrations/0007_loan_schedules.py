from django.db import migrations

SCHEDULES = [
    (
        "Loan interest accrual",
        "holdings.accrue_interest",
        ("10", "1"),
        "Every loan's daily interest through yesterday, each day once (Dr 5200 / Cr 2100-2110).",
    ),
    (
        "Loan LTV check",
        "holdings.check_ltv",
        ("20", "1"),
        "Each loan's LTV against its tiers; a crossing is recorded, logged and mailed.",
    ),
]


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, (minute, hour), description in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone="UTC",
        )
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "crontab": crontab, "description": description}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("holdings", "0006_loans"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
