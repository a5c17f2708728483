"""Reads of loans: a loan's status and loan-to-value tier on a day, and its schedule. No side
effects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone

from holdings.errors import HoldingsError
from holdings.models import (
    Loan,
    LoanEvent,
    LoanEventKind,
    Price,
)
from holdings.selectors import loans
from holdings.selectors.prices import price_for, price_timestamp
from holdings.valuation import cents
from ledger import selectors as ledger_selectors
from ledger.models import (
    Cancellation,
    CancellationStatus,
)
from ledger.money import exact_sum

ZERO = Decimal(0)

MAX_SCHEDULE_DAYS = 3660


@dataclass(frozen=True)
class LoanDay:
    """A loan at the end of one UTC day: the day's flows, then what it owes and what
    secures it (the figures of holdings.loans.loan_status for that day). Amounts in the
    principal's commodity, units of collateral, USD values; `collateral_price`,
    `collateral_value`, `ltv` and `tier` are None when collateral is held but no price for
    the day is recorded."""

    day: date
    events: list[str]
    principal_drawn: Decimal
    principal_paid: Decimal
    interest_accrued: Decimal
    interest_paid: Decimal
    principal: Decimal
    interest: Decimal
    debt_value: Decimal
    collateral_pledged: Decimal
    collateral_released: Decimal
    collateral_liquidated: Decimal
    collateral_units: Decimal
    collateral_price: Decimal | None
    collateral_value: Decimal | None
    ltv: Decimal | None
    tier: str | None

    @property
    def balance(self) -> Decimal:
        return self.principal + self.interest


FLOWS = (
    "principal_drawn",
    "principal_paid",
    "interest_accrued",
    "interest_paid",
    "collateral_pledged",
    "collateral_released",
    "collateral_liquidated",
)


@dataclass(frozen=True)
class LoanSchedule:
    loan: Any
    start: date
    end: date
    opening: LoanDay  # the end of the day before `start`; its flows are zero
    days: list[LoanDay]
    totals: dict[str, Decimal]  # each flow over the period


PAYMENTS = (LoanEventKind.REPAYMENT, LoanEventKind.LIQUIDATION)


def payment_after(loan: Loan, on: date) -> LoanEvent | None:
    """The loan's latest standing repayment or liquidation dated after `on`, if any."""
    return (
        LoanEvent.objects.filter(loan=loan, kind__in=PAYMENTS, effective_date__gt=on)
        .exclude(entry__cancellations__status=CancellationStatus.APPROVED)
        .select_related("entry")
        .order_by("-effective_date", "-id")
        .first()
    )


def _accruals(loan: Loan) -> QuerySet[LoanEvent]:
    """The loan's accruals, each with whether its entry was cancelled."""
    return LoanEvent.objects.filter(loan=loan, kind=LoanEventKind.ACCRUAL).annotate(
        cancelled=Exists(
            Cancellation.objects.filter(
                entry_id=OuterRef("entry_id"), status=CancellationStatus.APPROVED
            )
        )
    )


def latest_accrual(loan: Loan, on: date) -> LoanEvent | None:
    """The last attempt at the loan's interest of `on`, standing or not."""
    return _accruals(loan).filter(effective_date=on).order_by("-attempt").first()


def accruals_by_day(loan: Loan, start: date, end: date) -> dict[date, LoanEvent]:
    """The last attempt at each day's interest from `start` to `end`."""
    found: dict[date, LoanEvent] = {}
    for event in _accruals(loan).filter(effective_date__range=(start, end)).order_by("attempt"):
        found[event.effective_date] = event
    return found


def accrued_again(accrual: LoanEvent, owed: Decimal) -> bool:
    """Whether the day of `accrual` (from latest_accrual or accruals_by_day) is to be
    accrued again: its entry was cancelled, or it posted nothing on a principal other than
    the `owed` the day now ends with."""
    if accrual.entry_id is None:
        return Decimal(accrual.details.get("outstanding", "0")) != owed
    return bool(accrual.cancelled)  # type: ignore[attr-defined]


def accrued_after(loan: Loan, on: date) -> LoanEvent | None:
    """The loan's latest standing accrual with an entry dated on or after `on`, if any."""
    return (
        LoanEvent.objects.filter(
            loan=loan, kind=LoanEventKind.ACCRUAL, effective_date__gte=on, entry__isnull=False
        )
        .exclude(entry__cancellations__status=CancellationStatus.APPROVED)
        .select_related("entry")
        .order_by("-effective_date", "-attempt")
        .first()
    )


def owed_by_day(loan: Loan, start: date, end: date) -> dict[date, Decimal]:
    """The principal the loan owes at the end of each day from `start` to `end`."""
    owed = -ledger_selectors.account_balance(
        account=loan.principal_account_id, as_of=start - timedelta(days=1)
    ).quantity
    moved = ledger_selectors.daily_movements(
        account_ids=[loan.principal_account_id], start=start, end=end
    )
    days: dict[date, Decimal] = {}
    day = start
    while day <= end:
        owed -= moved.get((loan.principal_account_id, day), (ZERO, ZERO))[0]
        days[day] = owed
        day += timedelta(days=1)
    return days


def loan_schedule(*, loan: Any, start: date | None = None, end: date | None = None) -> LoanSchedule:
    """The loan day by day from `start` (its start date by default) to `end` (its maturity,
    or today if earlier, by default): drawn, repaid (interest and principal), interest
    accrued, collateral pledged, released or liquidated; principal, interest, debt and
    collateral at each day's end, with the collateral's price, value, LTV and tier."""
    start = start or loan.start_date
    end = end or min(loan.maturity_date, timezone.now().date())
    if start > end:
        raise HoldingsError(f"end must not be before start ({start.isoformat()})", field="end")
    if (end - start).days + 1 > MAX_SCHEDULE_DAYS:
        raise HoldingsError(
            f"the schedule covers {(end - start).days + 1} days; at most {MAX_SCHEDULE_DAYS}",
            field="end",
        )
    accounts = {
        "principal": loan.principal_account_id,
        "interest": loan.interest_account_id,
        "pledged": loan.pledged_account_id,
        "lent": loan.lent_account_id,
    }
    before = start - timedelta(days=1)
    balances: dict[str, tuple[Decimal, Decimal]] = {}
    for name, account_id in accounts.items():
        found = ledger_selectors.account_balance(account=account_id, as_of=before)
        balances[name] = (found.quantity, found.value)
    moved = ledger_selectors.daily_movements(
        account_ids=list(accounts.values()), start=start, end=end
    )
    flows: dict[date, dict[str, Decimal]] = {}
    kinds: dict[date, list[str]] = {}
    # Each event on its day; a cancelled one again, negated, on its cancellation's day.
    happenings: list[tuple[date, LoanEvent, int, str]] = [
        (event.effective_date, event, 1, event.kind)
        for event in LoanEvent.objects.filter(
            loan=loan, effective_date__gte=start, effective_date__lte=end
        )
    ]
    for cancellation in Cancellation.objects.filter(
        entry__loan_event__loan=loan,
        status=CancellationStatus.APPROVED,
        effective_date__gte=start,
        effective_date__lte=end,
    ).select_related("entry__loan_event"):
        event = cancellation.entry.loan_event
        happenings.append((cancellation.effective_date, event, -1, f"{event.kind}_cancelled"))
    for day, event, sign, label in sorted(happenings, key=lambda h: (h[0], h[2] < 0, h[1].pk)):
        day_flows = flows.setdefault(day, dict.fromkeys(FLOWS, ZERO))
        kinds.setdefault(day, []).append(label)
        details = event.details or {}
        if event.kind == LoanEventKind.DRAW:
            day_flows["principal_drawn"] += sign * event.amount
        elif event.kind == LoanEventKind.ACCRUAL:
            day_flows["interest_accrued"] += sign * event.amount
        elif event.kind in (LoanEventKind.REPAYMENT, LoanEventKind.LIQUIDATION):
            day_flows["interest_paid"] += sign * Decimal(details.get("interest", "0"))
            day_flows["principal_paid"] += sign * Decimal(details.get("principal", "0"))
            if event.kind == LoanEventKind.LIQUIDATION:
                day_flows["collateral_liquidated"] += sign * event.units
        elif event.kind == LoanEventKind.PLEDGE:
            day_flows["collateral_pledged"] += sign * event.units
        elif event.kind == LoanEventKind.RELEASE:
            day_flows["collateral_released"] += sign * event.units
    days = [before + timedelta(days=n) for n in range((end - start).days + 2)]
    prices = {
        p.timestamp: p.price
        for p in Price.objects.filter(
            base_id=loan.collateral_commodity_id,
            quote_id=settings.PRICE_QUOTE,
            timestamp__in=[price_timestamp(day) for day in days],
        )
    }
    rows = []
    for day in days:
        if day >= start:
            for name, account_id in accounts.items():
                moved_quantity, moved_value = moved.get((account_id, day), (ZERO, ZERO))
                held_quantity, held_value = balances[name]
                balances[name] = (
                    exact_sum((held_quantity, moved_quantity)),
                    exact_sum((held_value, moved_value)),
                )
        units = balances["pledged"][0] + balances["lent"][0]
        debt = -(balances["principal"][1] + balances["interest"][1])
        price = value = ltv = None
        # The tiers as holdings.loans.loan_status reads them.
        tier: str | None = loans._tier(loan, None, debt)
        if units:
            price = prices.get(price_timestamp(day))
            tier = None
            if price is not None:
                value = cents(units * price)
                ltv = (debt / value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
                tier = loans._tier(loan, ltv, debt)
        day_flows = flows.get(day, dict.fromkeys(FLOWS, ZERO)) if day >= start else {}
        rows.append(
            LoanDay(
                day=day,
                events=kinds.get(day, []) if day >= start else [],
                principal=-balances["principal"][0],
                interest=-balances["interest"][0],
                debt_value=debt,
                collateral_units=units,
                collateral_price=price,
                collateral_value=value,
                ltv=ltv,
                tier=tier,
                **{name: day_flows.get(name, ZERO) for name in FLOWS},
            )
        )
    opening, *period = rows
    return LoanSchedule(
        loan=loan,
        start=start,
        end=end,
        opening=opening,
        days=period,
        totals={name: exact_sum(getattr(row, name) for row in period) for name in FLOWS},
    )


TIERS = ("ok", "warning", "margin_call", "liquidation")


@dataclass(frozen=True)
class LoanStatus:
    loan: Loan
    as_of: date
    principal: Decimal
    interest: Decimal
    debt_value: Decimal  # USD carrying value of principal and interest
    collateral_units: Decimal
    collateral_price: Decimal | None
    collateral_value: Decimal | None
    ltv: Decimal | None
    tier: str


def loan_status(*, loan: Loan, as_of: date) -> LoanStatus:
    principal = ledger_selectors.account_balance(account=loan.principal_account, as_of=as_of)
    interest = ledger_selectors.account_balance(account=loan.interest_account, as_of=as_of)
    units = sum(
        (
            ledger_selectors.account_balance(account=a, as_of=as_of).quantity
            for a in (loan.pledged_account, loan.lent_account)
        ),
        ZERO,
    )
    debt = -(principal.value + interest.value)
    price = value = ltv = None
    if units:
        price = price_for(base=loan.collateral_commodity_id, on=as_of).price
        value = cents(units * price)
        ltv = (debt / value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    return LoanStatus(
        loan=loan,
        as_of=as_of,
        principal=-principal.quantity,
        interest=-interest.quantity,
        debt_value=debt,
        collateral_units=units,
        collateral_price=price,
        collateral_value=value,
        ltv=ltv,
        tier=_tier(loan, ltv, debt),
    )


def _tier(loan: Loan, ltv: Decimal | None, debt: Decimal) -> str:
    if ltv is None:
        return "liquidation" if debt > 0 else "ok"
    if ltv >= loan.liquidation_ltv:
        return "liquidation"
    if ltv >= loan.margin_call_ltv:
        return "margin_call"
    if ltv >= loan.warning_ltv:
        return "warning"
    return "ok"


ALERT_TIERS = ("warning", "margin_call", "liquidation")


def loan_tiers(*, as_of: date, queryset: Any = None) -> dict[int, str | None]:
    """Each loan's LTV tier at the end of `as_of`, as loan_status reads it (None: collateral
    is held but the day has no price), from the day's balances and prices: two statements
    (the loans with their day's price, the balances) whatever the number of loans.
    `queryset` narrows the loans read."""
    at = price_timestamp(as_of)
    day_price = Price.objects.filter(
        base_id=OuterRef("collateral_commodity_id"), quote_id=settings.PRICE_QUOTE, timestamp=at
    ).values("price")[:1]
    loan_list = list(
        (Loan.objects.all() if queryset is None else queryset)
        .filter(start_date__lte=as_of)
        .annotate(day_price=Subquery(day_price))
        .order_by()
    )
    if not loan_list:
        return {}
    rows = {row.account_id: row for row in ledger_selectors.balances(as_of=as_of)}

    def balance(account_id: int) -> tuple[Decimal, Decimal]:
        row = rows.get(account_id)
        return (row.quantity, row.value) if row is not None else (ZERO, ZERO)

    tiers: dict[int, str | None] = {}
    for loan in loan_list:
        debt = -(balance(loan.principal_account_id)[1] + balance(loan.interest_account_id)[1])
        units = balance(loan.pledged_account_id)[0] + balance(loan.lent_account_id)[0]
        ltv = None
        if units:
            price = loan.day_price  # type: ignore[attr-defined]
            if price is None:
                tiers[loan.pk] = None
                continue
            ltv = (debt / cents(units * price)).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)
        tiers[loan.pk] = _tier(loan, ltv, debt)
    return tiers
