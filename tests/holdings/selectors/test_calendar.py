"""A date's month, quarter or year."""

from __future__ import annotations

from datetime import date

import pytest

from holdings.selectors.calendar import period_start


def test_a_period_starts_on_its_calendar_day():
    assert period_start(date(2024, 2, 29), "month") == date(2024, 2, 1)
    assert period_start(date(2025, 3, 31), "quarter") == date(2025, 1, 1)
    assert period_start(date(2025, 4, 1), "quarter") == date(2025, 4, 1)
    assert period_start(date(2025, 12, 31), "quarter") == date(2025, 10, 1)
    assert period_start(date(2025, 12, 31), "year") == date(2025, 1, 1)


def test_only_calendar_periods_are_known():
    with pytest.raises(ValueError, match="month, quarter or year"):
        period_start(date(2025, 1, 1), "week")
