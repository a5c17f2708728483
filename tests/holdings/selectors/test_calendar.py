"""PeriodStart: the first day of a date's month, quarter or year, in any session zone."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.db.models import DateField, Value

from holdings.selectors.calendar import PeriodStart
from ledger.models import Commodity

DAYS = [
    date(2024, 2, 29),
    date(2025, 1, 1),
    date(2025, 3, 31),
    date(2025, 4, 1),
    date(2025, 12, 31),
]


def python_start(day: date, kind: str) -> date:
    if kind == "month":
        return day.replace(day=1)
    if kind == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, 1, 1)


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "America/Adak"])
@pytest.mark.parametrize("kind", ["month", "quarter", "year"])
def test_a_date_starts_its_period_whatever_the_session_zone(reference_data, zone, kind):
    with connection.cursor() as cursor:
        cursor.execute(f"SET TIME ZONE '{zone}'")
    try:
        for day in DAYS:
            found = (
                Commodity.objects.filter(code="USD")
                .annotate(start=PeriodStart(Value(day, output_field=DateField()), kind))
                .values_list("start", flat=True)
                .get()
            )
            assert found == python_start(day, kind), (day, kind, zone)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")


def test_only_calendar_periods_are_known():
    with pytest.raises(ValueError, match="month, quarter or year"):
        PeriodStart(Value(date(2025, 1, 1)), "week")
