"""The journal is sealed every five minutes and its chain verified nightly (beat reads its
schedule from the database)."""

from django.db import migrations

SCHEDULES = [
    # name, task, (minute, hour), description
    (
        "Seal the journal",
        "ledger.seal_journal",
        ("*/5", "*"),
        "Every posted entry not sealed yet is sealed into the journal's hash chain.",
    ),
    (
        "Journal chain verification",
        "ledger.verify_journal",
        ("35", "2"),
        "Every sealed entry is hashed again and the chain followed from the first seal; the "
        "first break is logged as an error.",
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
        ("ledger", "0010_journal_seals"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, migrations.RunPython.noop)]
