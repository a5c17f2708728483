"""A date's month, quarter or year: period_start in Python, PeriodStart in PostgreSQL in
any session zone, the same day."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.db.models import DateField, Value

from holdings.selectors.calendar import PeriodStart, period_start
from ledger.models import Commodity

DAYS = [
    date(2024, 2, 29),
    date(2025, 1, 1),
    date(2025, 3, 31),
    date(2025, 4, 1),
    date(2025, 12, 31),
]


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
            assert found == period_start(day, kind), (day, kind, zone)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")


def test_a_period_starts_on_its_calendar_day():
    assert period_start(date(2024, 2, 29), "month") == date(2024, 2, 1)
    assert period_start(date(2025, 3, 31), "quarter") == date(2025, 1, 1)
    assert period_start(date(2025, 4, 1), "quarter") == date(2025, 4, 1)
    assert period_start(date(2025, 12, 31), "quarter") == date(2025, 10, 1)
    assert period_start(date(2025, 12, 31), "year") == date(2025, 1, 1)


def test_only_calendar_periods_are_known():
    with pytest.raises(ValueError, match="month, quarter or year"):
        PeriodStart(Value(date(2025, 1, 1)), "week")
    with pytest.raises(ValueError, match="month, quarter or year"):
        period_start(date(2025, 1, 1), "week")
