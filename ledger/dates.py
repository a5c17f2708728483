"""Which dates the ledger takes: one place, used by the posting check, the API and the admin.

- **Posting dates** (an entry's effective date, a sale's or transfer's time, a loan event's
  day, a pool file's days and payouts, a price): from the books' start (`BOOKS_START`,
  2009-01-03 by default, the day of Bitcoin's genesis block, before anything the ledger can
  hold) through today (UTC) plus `POSTING_HORIZON_DAYS` (31 by default). Anything else is
  refused naming the field.
- **Report dates** (`as_of`, `start`, `end` of every report, list and admin page): from
  1900-01-01 through 9998-12-31. A report may look before the books' start (it shows
  nothing) or far ahead (it shows today's books); the bounds only keep every day a report
  works out (the day before a start, the day after an as-of) a date Python can represent.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from ledger.errors import InvalidEntry

REPORT_FLOOR = date(1900, 1, 1)
REPORT_CEILING = date(9998, 12, 31)
DEFAULT_BOOKS_START = date(2009, 1, 3)
DEFAULT_POSTING_HORIZON_DAYS = 31
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def today() -> date:
    """Today in UTC (USE_TZ: timezone.now() is UTC)."""
    return timezone.now().date()


def books_start() -> date:
    return getattr(settings, "BOOKS_START", DEFAULT_BOOKS_START)


def horizon_days() -> int:
    return int(getattr(settings, "POSTING_HORIZON_DAYS", DEFAULT_POSTING_HORIZON_DAYS))


def posting_window(on: date | None = None) -> tuple[date, date]:
    """The first and last dates an entry may be posted at, judged on `on` (today)."""
    return books_start(), (on or today()) + timedelta(days=horizon_days())


def posting_date_problem(day: date, window: tuple[date, date] | None = None) -> str | None:
    """Why `day` cannot be posted at, or None."""
    first, last = window or posting_window()
    if day < first:
        return f"{day.isoformat()} is before the books' start, {first.isoformat()}"
    if day > last:
        return (
            f"{day.isoformat()} is after {last.isoformat()}: the ledger takes dates at most "
            f"{horizon_days()} days after today ({today().isoformat()}, UTC)"
        )
    return None


def report_date_problem(day: date) -> str | None:
    """Why `day` cannot be a report's date, or None."""
    if day < REPORT_FLOOR:
        return f"{day.isoformat()} is before {REPORT_FLOOR.isoformat()}, the earliest date taken"
    if day > REPORT_CEILING:
        return f"{day.isoformat()} is after {REPORT_CEILING.isoformat()}, the latest date taken"
    return None


def _day(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).date()
    return value


def check_posting_date(value: date | datetime, *, field: str) -> None:
    """Refuse (InvalidEntry naming `field`) a date or UTC time outside the posting window."""
    problem = posting_date_problem(_day(value))
    if problem is not None:
        raise InvalidEntry(f"{field} {problem}", field=field)


def validate_posting_date(value: date | datetime) -> None:
    """Django validator (forms, serializers): the posting window."""
    if value is None:
        return
    problem = posting_date_problem(_day(value))
    if problem is not None:
        raise ValidationError(problem[:1].upper() + problem[1:] + ".", code="out_of_range")


def validate_report_date(value: date | datetime) -> None:
    """Django validator (forms, filters, serializers): the report window."""
    if value is None:
        return
    problem = report_date_problem(_day(value))
    if problem is not None:
        raise ValidationError(problem[:1].upper() + problem[1:] + ".", code="out_of_range")


def parse_report_date(text: str) -> date:
    """A YYYY-MM-DD report date from a query string; ValueError saying why not."""
    try:
        day = date.fromisoformat(text) if DATE_TEXT.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None:
        raise ValueError(f"“{text}” is not a date")
    problem = report_date_problem(day)
    if problem is not None:
        raise ValueError(problem)
    return day
