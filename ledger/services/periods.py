"""Periods: the books closed through a date, and the latest close reopened with a reason."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ledger import dates
from ledger.errors import PeriodError
from ledger.models import PeriodClose
from ledger.roles import APPROVE_ROLES, has_any_role
from ledger.selectors import closed_through


def period_close(*, through: date, by: Any) -> PeriodClose:
    """Close the books through a date: no entry may be dated on or before it."""
    if not has_any_role(by, APPROVE_ROLES):
        raise PeriodError("only a finance approver can close a period", field="by")
    problem = dates.report_date_problem(through)
    if problem is not None:  # the dates every door takes (ledger/dates.py), as the API's
        raise PeriodError(f"through {problem}", field="through")
    if through > dates.today():
        raise PeriodError(
            f"through {through.isoformat()} is after today ({dates.today().isoformat()}, UTC): "
            "a period is closed only through a day that has begun",
            field="through",
        )
    with transaction.atomic():
        # Wait for postings in flight and hold new ones until the close is committed.
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE ledger_journalentry IN SHARE ROW EXCLUSIVE MODE")
        current = closed_through()
        if current is not None and through <= current:
            raise PeriodError(f"the books are already closed through {current}", field="through")
        return PeriodClose.objects.create(through=through, closed_by=by)


def period_reopen(*, through: date, by: Any, reason: str) -> PeriodClose:
    """Reopen the latest close; the earlier closes stay in force."""
    if not has_any_role(by, APPROVE_ROLES):
        raise PeriodError("only a finance approver can reopen a period", field="by")
    if not reason or not reason.strip():
        raise PeriodError("reopening a period needs a reason", field="reason")
    with transaction.atomic():
        close = (
            PeriodClose.objects.select_for_update()
            .filter(through=through, reopened_at__isnull=True)
            .first()
        )
        if close is None:
            raise PeriodError(f"the books are not closed through {through}", field="through")
        latest = closed_through()
        if latest is not None and latest > through:
            raise PeriodError(f"reopen the later close through {latest} first", field="through")
        close.reopened_by = by
        close.reopened_at = timezone.now()
        close.reopen_reason = reason.strip()
        close.save(update_fields=["reopened_by", "reopened_at", "reopen_reason"])
        return close
