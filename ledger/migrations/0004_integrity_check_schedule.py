from django.db import migrations


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    nightly, _ = CrontabSchedule.objects.get_or_create(
        minute="30",
        hour="2",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.get_or_create(
        name="Ledger integrity check",
        defaults={
            "task": "ledger.verify_integrity",
            "crontab": nightly,
            "description": "The books balance, guarded accounts never went below zero, "
            "and the balance roll-ups equal the postings.",
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0003_seed_commodities_and_roles"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
