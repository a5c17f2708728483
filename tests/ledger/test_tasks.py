"""The nightly integrity task, run by a real Celery worker over the broker that needs no
server (kombu's filesystem transport), with results kept in the database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django_celery_beat.models import PeriodicTask

from ledger import services
from ledger.tasks import verify_integrity

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_integrity_check_passes_on_a_sound_ledger_and_finds_a_tampered_rollup(chart, worker):
    services.entry_post(
        effective_date=date(2025, 10, 1),
        memo="earning",
        postings=[
            ("1300", Decimal("0.5"), Decimal("50000")),
            ("4000", Decimal(-50000), Decimal(-50000)),
        ],
    )
    result = verify_integrity.delay().get(timeout=60)
    assert result["ok"] is True and result["rollup_differences"] == []

    # A superuser bypassing the triggers alters a roll-up: the nightly check reports it.
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE ledger_dailybalance SET quantity = quantity + 1")
        cursor.execute("SET session_replication_role = DEFAULT")
    result = verify_integrity.delay().get(timeout=60)
    assert result["ok"] is False
    assert {item["account"] for item in result["rollup_differences"]} == {"1300", "4000"}


@pytest.mark.django_db  # reads what the migrations seeded, before any flush
def test_the_check_is_scheduled_nightly_in_the_database():
    task = PeriodicTask.objects.get(name="Ledger integrity check")
    assert task.task == "ledger.verify_integrity" and task.enabled
    assert (task.crontab.hour, task.crontab.minute) == ("2", "30")
