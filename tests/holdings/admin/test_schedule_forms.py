"""The nightly jobs' schedule in the admin (django-celery-beat's pages, which finance
approvers change): a value the library's forms let through is refused on its field, never
answered with an error page, and nothing is written."""

from __future__ import annotations

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask

pytestmark = pytest.mark.django_db

CRONTAB = {
    "minute": "15",
    "hour": "0",
    "day_of_week": "*",
    "day_of_month": "*",
    "month_of_year": "*",
    "timezone": "UTC",
}


@pytest.fixture
def approver(client, approver_user):
    approver_user.is_staff = True
    approver_user.save(update_fields=["is_staff"])
    client.force_login(approver_user)
    return client


def schedule() -> tuple[list, list]:
    return (
        list(CrontabSchedule.objects.order_by("pk").values()),
        list(PeriodicTask.objects.order_by("pk").values()),
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # Celery's parser raised while the form was shown again: an error page.
        ("minute", "-1"),
        ("hour", "-0"),
        ("day_of_week", "-1"),
        ("day_of_month", "0"),
        ("month_of_year", "13"),
        ("minute", "*/0"),
    ],
)
def test_a_crontab_value_celery_cannot_read_is_refused_on_its_field(approver, field, value):
    before = schedule()
    response = approver.post(
        "/admin/django_celery_beat/crontabschedule/add/", {**CRONTAB, field: value}
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field] and "Not a crontab value" in errors[field][0]
    assert schedule() == before


def test_a_crontab_is_added_whatever_the_hidden_initial_zone_says(approver):
    """The time zone's hidden initial value was looked up as a zone: 300 characters made a
    file name too long, an error page."""
    response = approver.post(
        "/admin/django_celery_beat/crontabschedule/add/",
        {**CRONTAB, "initial-timezone": "x" * 300},
    )
    assert response.status_code == 302
    assert CrontabSchedule.objects.filter(minute="15", hour="0").exists()


def _task_form(task: PeriodicTask) -> dict[str, str]:
    return {
        "name": task.name,
        "regtask": "",
        "task": task.task,
        "enabled": "on",
        "description": task.description,
        "crontab": str(task.crontab_id or ""),
        "interval": str(task.interval_id or ""),
        "solar": "",
        "clocked": "",
        "start_time_0": "",
        "start_time_1": "",
        "last_run_at_0": "",
        "last_run_at_1": "",
        "args": "[]",
        "kwargs": "{}",
        "expires_0": "",
        "expires_1": "",
        "expire_seconds": "",
        "queue": "",
        "exchange": "",
        "routing_key": "",
        "priority": "",
        "headers": "{}",
    }


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        # The task field's own check failed, then the library's read it: KeyError.
        ("task", "a\x00b", "Null characters are not allowed"),
        ("task", "x" * 201, "at most 200 characters"),
        # Saved as it came: PostgreSQL refused the NUL (DataError).
        ("regtask", "a\x00b", "U+0000"),
        ("headers", "not json", "Unable to parse JSON"),
    ],
)
def test_a_periodic_task_value_the_library_let_through_is_refused(approver, field, value, says):
    task = PeriodicTask.objects.filter(crontab__isnull=False).order_by("pk").first()
    url = f"/admin/django_celery_beat/periodictask/{task.pk}/change/"
    before = schedule()
    response = approver.post(url, {**_task_form(task), field: value})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors and says in " ".join(errors[field]), errors
    assert schedule() == before


def test_blank_headers_are_saved_as_none(approver):
    """Blank headers were saved as NULL, which the column refuses (an error page)."""
    task = PeriodicTask.objects.filter(crontab__isnull=False).order_by("pk").first()
    url = f"/admin/django_celery_beat/periodictask/{task.pk}/change/"
    response = approver.post(url, {**_task_form(task), "headers": ""})
    assert response.status_code == 302, response.context["adminform"].form.errors
    task.refresh_from_db()
    assert task.headers == "{}"
