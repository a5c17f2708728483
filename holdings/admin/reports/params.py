"""A report page's query: the API's parameters with the API's checks and words (a date
written YYYY-MM-DD within the report dates, `end` not before `start`, a code that exists),
and the period selector's presets. Every problem is collected under the parameter's name
and shown on the page; nothing is guessed."""

from __future__ import annotations

import datetime as dt
import re
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db import models
from django.http import QueryDict

from ledger.dates import report_date_problem

DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

PRESETS = {
    "this_month": "This month",
    "last_month": "Last month",
    "this_quarter": "This quarter",
    "year_to_date": "Year to date",
    "custom": "Custom range",
}
COLUMNS = {"": "One column", "month": "One column per month", "quarter": "One column per quarter"}
MAX_COLUMNS = 36


def month_end(day: date) -> date:
    return day.replace(day=monthrange(day.year, day.month)[1])


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """The first and last day of a preset period, judged on `today` (UTC)."""
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if preset == "this_quarter":
        first = quarter_start(today)
        return first, month_end(date(first.year, first.month + 2, 1))
    if preset == "year_to_date":
        return date(today.year, 1, 1), today
    return today.replace(day=1), month_end(today)


def prior_range(start: date, end: date) -> tuple[date, date]:
    """The period before: the month or quarter before a whole month or quarter, otherwise
    as many days just before `start`."""
    if start.day == 1 and end == month_end(end):
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        index = start.year * 12 + start.month - 1 - months
        if index < 12:  # before year 1
            raise OverflowError("the prior period starts before year 1")
        return date(index // 12, index % 12 + 1, 1), start - timedelta(days=1)
    days = (end - start).days + 1
    return start - timedelta(days=days), start - timedelta(days=1)


def split(start: date, end: date, by: str) -> list[tuple[date, date]]:
    """The months or quarters of [start, end], each cut to the range."""
    periods = []
    first = start
    while first <= end:
        last = month_end(first)
        if by == "quarter":
            q = quarter_start(first)
            last = month_end(date(q.year, q.month + 2, 1))
        last = min(last, end)
        periods.append((first, last))
        first = last + timedelta(days=1)
    return periods


@dataclass
class Query:
    """Reads a page's parameters; `errors` holds what is wrong, by parameter name."""

    data: QueryDict
    today: date
    errors: dict[str, str] = field(default_factory=dict)

    def raw(self, name: str) -> str:
        return self.data.get(name, "").strip()

    def date(self, name: str, *, required: bool = False) -> date | None:
        value = self.raw(name)
        if not value:
            if required:
                self.errors[name] = "this parameter is required."
            return None
        if not DATE_PATTERN.fullmatch(value):
            self.errors[name] = "must be a date written YYYY-MM-DD (UTC)."
            return None
        try:
            day = date.fromisoformat(value)
        except ValueError:
            self.errors[name] = f"{value} is not a calendar date."
            return None
        problem = report_date_problem(day)
        if problem is not None:
            self.errors[name] = f"{problem}."
            return None
        return day

    def period(self, *, required: bool = True) -> tuple[dt.date | None, dt.date | None]:
        """`start` and `end`, or a preset's (`period`), with `end` not before `start`."""
        preset = self.raw("period")
        if preset and preset not in PRESETS:
            self.errors["period"] = f"must be one of {', '.join(PRESETS)}."
            return None, None
        if preset and preset != "custom":
            return preset_range(preset, self.today)
        start = self.date("start", required=required)
        end = self.date("end", required=required)
        if start is not None and end is not None and start > end:
            self.errors["end"] = f"must not be before start ({start.isoformat()})."
        return start, end

    def code(self, name: str, queryset: models.QuerySet, what: str, *, required: bool) -> Any:
        value = self.raw(name)
        if not value:
            if required:
                self.errors[name] = "this parameter is required."
            return None
        if not CODE_PATTERN.fullmatch(value):
            self.errors[name] = f"{value[:70]!r} is not a {what} code."
            return None
        found = queryset.filter(code=value).first()
        if found is None:
            self.errors[name] = f"no {what} has the code {value!r}."
        return found

    def choice(self, name: str, choices: dict[str, str]) -> str:
        value = self.raw(name)
        if value not in choices:
            self.errors[name] = f"must be one of {', '.join(c for c in choices if c) or 'none'}."
            return ""
        return value

    def flag(self, name: str) -> bool:
        return self.raw(name) in ("1", "on", "true", "yes")
