"""The order a loan's events keep: what changes its principal comes after the interest
accrued on it, and its payments go in date order. The loan services ask before they write;
PostgreSQL keeps the same rules (holdings migrations 0033, 0034)."""

from __future__ import annotations

from datetime import date

from holdings.errors import AccruedDay, PaymentOutOfOrder
from holdings.models import Loan
from holdings.selectors.loans import accrued_after, payment_after


def refuse_under_accruals(loan: Loan, on: date) -> None:
    """A draw, repayment or liquidation changes the principal each day's interest was
    computed on: not dated on or before a day whose interest stands accrued with an entry
    (PostgreSQL keeps it too: holdings_loan_events_follow_accruals). Those accruals are
    cancelled first, then accrued again on what the loan owes."""
    accrued = accrued_after(loan, on)
    if accrued is not None:
        raise AccruedDay(
            f"loan {loan.code} has its interest accrued through {accrued.effective_date} "
            f"(entry #{accrued.entry.sequence if accrued.entry else '?'}), each day on the "
            f"principal it owed then: date this after {accrued.effective_date}, or cancel its "
            f"accruals from {on} first (they are accrued again on what it owes)",
            field="on",
        )


def refuse_before_later_payment(loan: Loan, on: date) -> None:
    """A payment is split interest first on what the loan owes on its day, and is capped by
    it: one dated before a later payment would be split and capped on figures that the later
    one has already paid (and could repay the loan twice). Payments go in date order
    (PostgreSQL keeps it too: holdings_loan_payments_in_order)."""
    later = payment_after(loan, on)
    if later is not None:
        raise PaymentOutOfOrder(
            f"loan {loan.code} has a {later.get_kind_display().lower()} of "
            f"{later.effective_date} (entry #{later.entry.sequence if later.entry else '?'}): "
            f"a payment dated {on} would be split and capped on what that one already paid; "
            f"date it on or after {later.effective_date}, or cancel that "
            f"{later.get_kind_display().lower()} first",
            field="on",
        )
