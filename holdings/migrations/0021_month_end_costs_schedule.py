"""The month-end work on costs scheduled for the 1st of each month, for the month just
ended (holdings.tasks.costs_month_end): before the fair value remeasurement at 02:00."""

from django.db import migrations

NAME = "Month-end site costs, depreciation and HPC revenue"


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30",
        hour="1",
        day_of_week="*",
        day_of_month="1",
        month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "holdings.costs_month_end",
            "crontab": crontab,
            "description": "The month just ended: each site's power and hosting not yet "
            "invoiced accrued, every asset in service depreciated, HPC revenue recognised; "
            "posted once.",
        },
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("holdings", "0020_cost_subledgers_sealed"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
