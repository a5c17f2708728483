"""Calendar periods of a date column, computed in PostgreSQL. No side effects."""

from __future__ import annotations

from typing import Any

from django.db.models import DateField, Func


class PeriodStart(Func):
    """The first day of the month, quarter or year of a date column, as a date.

    Django's Trunc casts a date to a timestamp with time zone, then truncates in the
    session's zone: the same day, for a date, at several times the cost over a large
    range (the records of five years). A date has no zone; it is truncated as a local
    timestamp, whatever the session's time zone."""

    output_field = DateField()

    def __init__(self, expression: Any, kind: str) -> None:
        if kind not in ("month", "quarter", "year"):
            raise ValueError(f"kind must be month, quarter or year, not {kind!r}")
        super().__init__(expression)
        self.template = f"date_trunc('{kind}', %(expressions)s::timestamp)::date"
