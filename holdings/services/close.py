"""A month closed: the ledger closed through its last day, with the review of the month-end
checks kept beside the close."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from holdings.errors import HoldingsError
from holdings.models import PeriodCloseReview
from holdings.selectors.close import close_checks, month_end
from ledger import services as ledger_services
from ledger.errors import Forbidden
from ledger.roles import APPROVE_ROLES, has_any_role


class CloseRefused(HoldingsError):
    code = "close_refused"


def month_close(*, month: date, by: Any, reason: str = "") -> PeriodCloseReview:
    """Close the books through the last day of `month` (a finance approver only), keeping
    which checks failed at that moment. With any failing, the approver's written reason is
    required; without one nothing is closed."""
    if not has_any_role(by, APPROVE_ROLES):
        raise Forbidden("only a finance approver can close a month", field="by")
    start = month.replace(day=1)
    reason = (reason or "").strip()
    with transaction.atomic():
        # The checks as they stand when the books close: the close holds new postings.
        close = ledger_services.period_close(through=month_end(start), by=by)
        checks = close_checks(month=start)
        failed = [check for check in checks if not check.ok]
        if failed and not reason:
            names = "; ".join(check.title for check in failed)
            raise CloseRefused(
                f"{len(failed)} check(s) fail ({names}): closing anyway needs your written reason",
                field="reason",
            )
        return PeriodCloseReview.objects.create(
            period_close=close,
            month=start,
            checks=[check.as_record() for check in checks],
            failures=len(failed),
            reason=reason,
            reviewed_by=by,
        )
