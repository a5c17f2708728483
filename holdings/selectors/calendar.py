"""Calendar periods of dates: a date's month, quarter or year, in Python and computed in
PostgreSQL. No side effects."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import DateField, Func

KINDS = ("month", "quarter", "year")


def _known(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be month, quarter or year, not {kind!r}")


def period_start(day: date, kind: str) -> date:
    """The first day of the month, quarter or year of `day`."""
    _known(kind)
    if kind == "month":
        return day.replace(day=1)
    if kind == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, 1, 1)


class PeriodStart(Func):
    """period_start() of a date column, as a date, in PostgreSQL.

    Django's Trunc casts a date to a timestamp with time zone, then truncates in the
    session's zone: the same day, for a date, at several times the cost over a large
    range (the records of five years). A date has no zone; it is truncated as a local
    timestamp, whatever the session's time zone."""

    output_field = DateField()

    def __init__(self, expression: Any, kind: str) -> None:
        _known(kind)
        super().__init__(expression)
        self.template = f"date_trunc('{kind}', %(expressions)s::timestamp)::date"
