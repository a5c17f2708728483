"""The month-end work on costs, scheduled for the 1st: the month just ended's accruals,
depreciation and HPC revenue, each posted once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from holdings.models import AssetEvent, HpcRevenue, SiteCost
from holdings.tasks import costs_month_end
from tests.holdings.services.test_cost_seals import cost_books  # noqa: F401

pytestmark = pytest.mark.django_db
D = Decimal


def test_the_month_end_work_on_costs_is_scheduled_for_the_first():
    task = PeriodicTask.objects.get(task="holdings.costs_month_end")
    crontab = task.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_month) == ("30", "1", "1")
    assert task.enabled and crontab.timezone.key == "UTC"


def test_a_month_end_posts_its_accruals_depreciation_and_hpc_revenue_once(cost_books):  # noqa: F811
    done = costs_month_end("2025-09-01")
    assert done["month"] == "2025-09"
    accrued = SiteCost.objects.filter(pk__in=done["accruals"]).order_by("kind")
    # From the latest invoices: power 30,000.00 for 31 days of August, hosting 3,100.00
    # for 31 days of July; 30 days of September each.
    assert [(c.kind, c.amount) for c in accrued] == [
        ("hosting", D("3000.00")),
        ("power", D("29032.26")),
    ]
    (september,) = AssetEvent.objects.filter(pk__in=done["depreciation"])
    assert september.amount == D("1000.00") and september.effective_date.isoformat() == (
        "2025-09-30"
    )
    (revenue,) = HpcRevenue.objects.filter(pk__in=done["hpc_revenue"])
    assert revenue.amount == D("31000.00")
    again = costs_month_end("2025-09-01")
    assert (again["accruals"], again["depreciation"], again["hpc_revenue"]) == ([], [], [])


def test_by_default_the_month_just_ended(chart):
    last_month = timezone.now().date().replace(day=1) - timedelta(days=1)
    assert costs_month_end()["month"] == f"{last_month:%Y-%m}"
