from django.db import migrations

SCHEDULES = [
    # name, task, (minute, hour, day_of_month), description
    (
        "Fetch prices",
        "holdings.fetch_prices",
        ("15", "0", "*"),
        "Yesterday's and today's prices from the configured provider (PRICE_PROVIDER_URL).",
    ),
    (
        "Fetch pool production",
        "holdings.fetch_production",
        ("45", "0", "*"),
        "Yesterday's earnings and payouts from the API of every pool account fetched daily.",
    ),
    (
        "Resume stalled imports",
        "holdings.resume_stalled_imports",
        ("*/15", "*", "*"),
        "Batches a dead worker left pending or running are imported again.",
    ),
    (
        "Month-end fair value remeasurement",
        "holdings.remeasure_month_end",
        ("0", "2", "1"),
        "Every fair-value commodity remeasured at the month end just past.",
    ),
    (
        "Lots equal the ledger",
        "holdings.verify_lots",
        ("40", "2", "*"),
        "Every lot-tracked account's quantity and cost equal the sum of its lots.",
    ),
]


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, (minute, hour, day_of_month), description in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_week="*",
            day_of_month=day_of_month,
            month_of_year="*",
            timezone="UTC",
        )
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "crontab": crontab, "description": description}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("holdings", "0002_evidence"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
