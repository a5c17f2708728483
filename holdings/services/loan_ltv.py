"""A loan's loan-to-value tier watched: checked after every event that changes its balances
(once per settlement of events recorded together) and every night, each crossing recorded
once and mailed to the finance approvers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date

from django.db import transaction

from holdings.errors import HoldingsError
from holdings.models import (
    Loan,
    LoanEvent,
    LoanEventKind,
)
from holdings.selectors.loans import loan_status
from holdings.services.alerts import alert_approvers

logger = logging.getLogger(__name__)


# Loans whose LTV waits for the end of a settlement: loan id -> (loan, latest day touched).
_settling: ContextVar[dict[int, tuple[Loan, date]] | None] = ContextVar(
    "loan_settlement", default=None
)


@contextmanager
def settlement() -> Iterator[None]:
    """Events that settle together, in one transaction: collateral released to be sold and
    the proceeds repaying the loan the same day. The LTV of each loan touched is checked
    once, when all of them are recorded, not in the moment between the release and the
    repayment (which would raise a tier the loan never stood at)."""
    if _settling.get() is not None:  # already inside one: it checks at its end
        yield
        return
    pending: dict[int, tuple[Loan, date]] = {}
    token = _settling.set(pending)
    try:
        with transaction.atomic():
            yield
            _settling.set(None)
            for loan, on in pending.values():
                loan_check_ltv(loan=loan, as_of=on)
    finally:
        _settling.reset(token)


def lock_loan(loan_id: int) -> None:
    """The loan's row, locked for the caller's transaction. Whatever records or undoes a
    loan's event locks it before the lots it moves (and PostgreSQL has an event's insert
    share it: holdings_loan_event_locks_loan), so that one order holds for every writer."""
    Loan.objects.select_for_update().filter(pk=loan_id).first()


def balances_changed(loan: Loan, on: date) -> None:
    pending = _settling.get()
    if pending is None:
        loan_check_ltv(loan=loan, as_of=on)
    else:
        _, latest = pending.get(loan.pk, (loan, on))
        pending[loan.pk] = (loan, max(latest, on))


def loans_check_ltv(*, as_of: date) -> list[LoanEvent]:
    """Every loan running on the day: tier crossings recorded."""
    crossings = []
    for loan in Loan.objects.filter(start_date__lte=as_of).select_related(
        "principal_account", "interest_account", "pledged_account", "lent_account"
    ):
        event = loan_check_ltv(loan=loan, as_of=as_of)
        if event is not None:
            crossings.append(event)
    return crossings


def loan_check_ltv(*, loan: Loan, as_of: date) -> LoanEvent | None:
    """Record a tier crossing once: when the tier differs from the last one recorded on or
    before the day. The crossing is logged and mailed to the finance approvers."""
    try:
        status = loan_status(loan=loan, as_of=as_of)
    except HoldingsError as error:  # no price for the day: nothing to compare with yet
        logger.warning("loan %s: LTV not checked on %s: %s", loan.code, as_of, error.message)
        return None
    with transaction.atomic():
        # Checks of one loan run one after the other (the nightly check and the one after a
        # price import may overlap): the second sees the first's crossing and records none.
        lock_loan(loan.pk)
        # The tier the loan stood at by that day: checking a past day again (a reload, a late
        # price) compares with what was recorded then, not with a later crossing.
        last = (
            LoanEvent.objects.filter(loan=loan, kind=LoanEventKind.TIER, effective_date__lte=as_of)
            .order_by("-effective_date", "-id")
            .first()
        )
        previous = last.details.get("tier") if last else "ok"
        if status.tier == previous:
            return None
        event = LoanEvent.objects.create(
            loan=loan,
            kind=LoanEventKind.TIER,
            effective_date=as_of,
            details={
                "tier": status.tier,
                "previous": previous,
                "ltv": str(status.ltv) if status.ltv is not None else None,
                "price": str(status.collateral_price) if status.collateral_price else None,
            },
        )
    message = (
        f"Loan {loan.code} ({loan.lender}) moved from {previous} to {status.tier} on "
        f"{as_of}: LTV {status.ltv} (debt {status.debt_value} USD, collateral "
        f"{status.collateral_units} BTC worth {status.collateral_value} USD)"
    )
    alert_approvers(subject=f"LTV {status.tier}: loan {loan.code}", message=message, logger=logger)
    return event
