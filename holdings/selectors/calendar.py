"""Calendar periods of dates: a date's month, quarter or year. No side effects."""

from __future__ import annotations

from datetime import date

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
