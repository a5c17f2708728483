"""Reads for the admin's dashboard: where the treasury stands at a date, and the months before.

No side effects, like holdings.selectors. Every figure is an exact Decimal from the ledger's
roll-ups (balances at the end of a day, UTC) or from the holdings tables; charts and
formatting happen elsewhere (holdings.admin.charts, the admin site).

Each panel is one function of the date (`as_of`) and of the window the charts cover:
`dashboard()` gathers them. A new panel (reconciliations, once they are run) is one more
function here, a field of Dashboard and a template under admin/holdings/dashboard/.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, DateField, Exists, Max, Min, OuterRef, Subquery, Sum
from django.db.models.functions import TruncMonth

from holdings import chart
from holdings.errors import HoldingsError
from holdings.models import (
    BatchStatus,
    ImportBatch,
    Loan,
    LoanEvent,
    LoanEventKind,
    PoolAccount,
    Price,
    ProductionRecord,
    ReconciliationRun,
    ReconciliationStatus,
    Sale,
)
from holdings.selectors import loans, production
from holdings.selectors.prices import price_for, price_timestamp
from holdings.valuation import cents
from ledger import selectors as ledger_selectors
from ledger.models import Account, AccountType, Commodity, DailyBalance, MeasurementPolicy
from ledger.money import EXACT

ZERO = Decimal(0)
# The charts cover this many calendar months, the date's month included.
WINDOW_MONTHS = 6
IMPORTS_SHOWN = 8
RECONCILIATION_DAYS_SHOWN = 10
LTV_PLACES = Decimal("0.0001")
BTC = "BTC"
USDT = "USDT"
USD = "USD"


# --- the date ----------------------------------------------------------------------------


def default_as_of(*, today: date) -> date:
    """Today, or the latest day with entries when the books stop before today (nothing
    posted yet today, a demonstration, a database restored from an older backup)."""
    latest = DailyBalance.objects.filter(day__lte=today).aggregate(day=Max("day"))["day"]
    return latest or today


def window_start(*, as_of: date) -> date:
    """The first day the charts show: the first of the month WINDOW_MONTHS - 1 months
    before the date's month, or the first day with entries if the books start later."""
    month = as_of.replace(day=1)
    for _ in range(WINDOW_MONTHS - 1):
        month = (month - timedelta(days=1)).replace(day=1)
    first = DailyBalance.objects.filter(day__lte=as_of).aggregate(day=Min("day"))["day"]
    return max(month, first) if first else month


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


# --- daily balances of groups of accounts ------------------------------------------------


@dataclass(frozen=True)
class DailyBalances:
    """Each group's balance (quantity and USD value) at the end of every day of the window."""

    days: list[date]
    quantity: dict[str, list[Decimal]]
    value: dict[str, list[Decimal]]

    def last(self, group: str) -> Decimal:
        return self.quantity[group][-1] if self.days else ZERO

    def last_value(self, group: str) -> Decimal:
        return self.value[group][-1] if self.days else ZERO


def daily_balances(*, groups: Mapping[str, Iterable[int]], start: date, end: date) -> DailyBalances:
    """The groups' balances each day from `start` to `end`, from the day before's balances
    and the daily roll-ups in between: two statements whatever the window or the journal.
    An account may belong to several groups."""
    members = {name: set(ids) for name, ids in groups.items()}
    days = days_between(start, end)
    opening = ledger_selectors.balances(as_of=start - timedelta(days=1), include_children=False)
    quantity = {name: ZERO for name in members}
    value = {name: ZERO for name in members}
    with localcontext(EXACT):
        for row in opening:
            for name, ids in members.items():
                if row.account_id in ids:
                    quantity[name] += row.quantity
                    value[name] += row.value
        # Accounts in the same groups are added up together, once: the roll-ups' rows are
        # read and summed once, whatever the number of groups an account is in.
        groups_of: dict[int, set[str]] = {}
        for name, ids in members.items():
            for account_id in ids:
                groups_of.setdefault(account_id, set()).add(name)
        classes: dict[frozenset[str], list[int]] = {}
        for account_id, names in groups_of.items():
            classes.setdefault(frozenset(names), []).append(account_id)
        shared = list(classes)
        moves: dict[date, list[tuple[int, Decimal, Decimal]]] = {}
        if classes:
            # A part per set of accounts in the same groups, each reading its accounts' rows
            # by their (account, day) key, which a join would not: one statement.
            part = """
                SELECT %s, day, sum(quantity), sum(value) FROM ledger_dailybalance
                 WHERE account_id = ANY(%s) AND day >= %s AND day <= %s GROUP BY day
            """
            params: list[Any] = []
            for n, accounts in enumerate(classes.values()):
                params += [n, accounts, start, end]
            with connection.cursor() as cursor:
                cursor.execute(" UNION ALL ".join([part] * len(classes)), params)
                for n, day, q, v in cursor.fetchall():
                    moves.setdefault(day, []).append((n, q, v))
        by_day_q: dict[str, list[Decimal]] = {name: [] for name in members}
        by_day_v: dict[str, list[Decimal]] = {name: [] for name in members}
        for day in days:
            for n, q, v in moves.get(day, ()):
                for name in shared[n]:
                    quantity[name] += q
                    value[name] += v
            for name in members:
                by_day_q[name].append(quantity[name])
                by_day_v[name].append(value[name])
    return DailyBalances(days=days, quantity=by_day_q, value=by_day_v)


def _subtree(*codes: str) -> set[int]:
    ids: set[int] = set()
    for account in Account.objects.filter(code__in=codes):
        ids.update(ledger_selectors.subtree_ids(account))
    return ids


def _assets(*commodities: str) -> dict[str, set[int]]:
    """The asset accounts of each commodity, by commodity."""
    found: dict[str, set[int]] = {code: set() for code in commodities}
    for pk, code in Account.objects.filter(
        type=AccountType.ASSET, commodity_id__in=commodities
    ).values_list("id", "commodity_id"):
        found[code].add(pk)
    return found


def daily_prices(*, base: str, days: list[date]) -> dict[date, Decimal]:
    """The price the policy uses for each day (PRICE_POLICY), where one is recorded."""
    if not days:
        return {}
    wanted = {price_timestamp(day): day for day in days}
    rows = Price.objects.filter(
        base_id=base,
        quote_id=settings.PRICE_QUOTE,
        timestamp__gte=min(wanted),
        timestamp__lte=max(wanted),
    ).values_list("timestamp", "price")
    return {wanted[at]: price for at, price in rows if at in wanted}


# --- panels ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """A digital asset held at the date (one measured at fair value: BTC, KAS, ETC): units,
    the day's price and their value, to the cent."""

    commodity: str
    scale: int
    held: Decimal
    price: Decimal | None
    price_error: str | None
    market_value: Decimal | None  # units x the day's price, to the cent


@dataclass(frozen=True)
class Holdings:
    """A digital asset on the balance sheet (BTC unless another is chosen): in wallets and
    at the pools (unrestricted), pledged to lenders with control retained (1230) or lent
    with control transferred (1400)."""

    commodity: str
    scale: int
    held: Decimal
    restricted: Decimal
    unrestricted: Decimal
    price: Decimal | None
    price_error: str | None
    market_value: Decimal | None  # units x the day's price, to the cent
    days: list[date]
    restricted_by_day: list[Decimal]
    unrestricted_by_day: list[Decimal]

    @property
    def month_ends(self) -> list[tuple[date, Decimal, Decimal]]:
        """(day, restricted, unrestricted) at each month end in the window, and the date."""
        rows = []
        for index, day in enumerate(self.days):
            if (day + timedelta(days=1)).day == 1 or index == len(self.days) - 1:
                rows.append((day, self.restricted_by_day[index], self.unrestricted_by_day[index]))
        return rows


@dataclass(frozen=True)
class CashBalance:
    """A balance held as money: USDT (carried at cost) or cash in USD."""

    label: str
    commodity: str
    scale: int
    balance: Decimal
    value: Decimal  # USD carrying value
    days: list[date]
    by_day: list[Decimal]


@dataclass(frozen=True)
class MonthProduction:
    month: date
    through: date  # the month's last day, or the date for the date's own month
    mined: Decimal
    sold: Decimal

    @property
    def partial(self) -> bool:
        return self.through.day != calendar.monthrange(self.month.year, self.month.month)[1]


@dataclass(frozen=True)
class LoanPosition:
    """A loan at the date: what is owed, the collateral, LTV against the tiers, and the LTV
    of every day of the window (None where there is no collateral or no price)."""

    loan: Loan
    principal: Decimal
    interest: Decimal
    debt_value: Decimal
    collateral_units: Decimal
    collateral_price: Decimal | None
    collateral_value: Decimal | None
    ltv: Decimal | None
    tier: str | None  # None: not known (no price for the day)
    error: str | None  # why LTV is not available
    days: list[date]
    ltv_by_day: list[Decimal | None]
    crossings: list[LoanEvent]  # the tier crossings recorded in the window

    @property
    def settled(self) -> bool:
        return not self.principal and not self.interest and not self.collateral_units


@dataclass(frozen=True)
class Imports:
    latest: list[ImportBatch]
    by_status: dict[str, int]

    @property
    def failed(self) -> int:
        return self.by_status.get(BatchStatus.FAILED, 0)

    @property
    def waiting(self) -> int:
        return self.by_status.get(BatchStatus.PENDING, 0) + self.by_status.get(
            BatchStatus.RUNNING, 0
        )

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class Reconciliations:
    """The latest day reconciled on or before the dashboard's date: each kind's latest run
    of that day, and how many of the last days had breaks."""

    day: date | None
    runs: list[ReconciliationRun]
    days_with_breaks: list[date]

    @property
    def all_matched(self) -> bool:
        return bool(self.runs) and all(r.status == ReconciliationStatus.MATCHED for r in self.runs)


@dataclass(frozen=True)
class Dashboard:
    as_of: date
    start: date
    holdings: Holdings  # of the commodity chosen
    production: list[MonthProduction]  # of the commodity chosen
    cash: list[CashBalance]
    loans: list[LoanPosition]
    imports: Imports
    reconciliations: Reconciliations
    positions: list[Position] = field(default_factory=list)  # every digital asset held

    @property
    def commodity(self) -> str:
        return self.holdings.commodity

    @property
    def commodities(self) -> list[str]:
        """What the commodity selector offers: every digital asset held."""
        return [position.commodity for position in self.positions]

    @property
    def total_value(self) -> Decimal:
        """The digital assets held at the day's prices, in USD (those with a price)."""
        return sum(
            (p.market_value for p in self.positions if p.market_value is not None),
            Decimal("0.00"),
        )

    @property
    def unpriced(self) -> list[str]:
        """Digital assets held that the day has no price for (left out of the total)."""
        return [p.commodity for p in self.positions if p.market_value is None and p.held]


def digital_assets(*, as_of: date) -> list[str]:
    """The digital assets the dashboard offers: BTC, and every other commodity measured at
    fair value that an asset account held by `as_of` (wallets, pool receivables,
    collateral), BTC first."""
    # Account by account, whether it has a day by then (an index probe each), rather than
    # every day of every account.
    codes = set(
        Account.objects.filter(
            type=AccountType.ASSET,
            commodity__measurement_policy=MeasurementPolicy.FAIR_VALUE,
        )
        .filter(Exists(DailyBalance.objects.filter(account=OuterRef("pk"), day__lte=as_of)))
        .values_list("commodity_id", flat=True)
    )
    return [BTC, *sorted(codes - {BTC})]


def dashboard(*, as_of: date, commodity: str = BTC) -> Dashboard:
    """Every panel at the end of `as_of` (UTC), the charts from window_start(); holdings and
    production of `commodity` (BTC by default), and every digital asset's position."""
    start = window_start(as_of=as_of)
    scales = dict(Commodity.objects.values_list("code", "decimal_places"))
    offered = digital_assets(as_of=as_of)
    if commodity not in offered:
        raise HoldingsError(
            f"{commodity[:20]!r} is not a digital asset held: one of {', '.join(offered)}",
            field="commodity",
        )
    loan_list = list(
        Loan.objects.filter(start_date__lte=as_of)
        .select_related("principal_commodity", "collateral_commodity")
        .order_by("code")
    )
    assets = _assets(*offered, USDT)
    groups: dict[str, set[int]] = {
        "restricted": _subtree(
            *(
                code
                for code in (
                    chart.PLEDGED_ACCOUNTS.get(commodity),
                    chart.COLLATERAL_RECEIVABLES.get(commodity),
                )
                if code
            )
        )
        & assets[commodity],
        "held": assets[commodity],
        "usdt": assets[USDT],
        "usd": _subtree(chart.CASH),
    }
    for code in offered:
        groups[f"asset_{code}"] = assets[code]
    for loan in loan_list:
        groups[f"loan{loan.pk}_principal"] = {loan.principal_account_id}
        groups[f"loan{loan.pk}_interest"] = {loan.interest_account_id}
        groups[f"loan{loan.pk}_collateral"] = {loan.pledged_account_id, loan.lent_account_id}
    series = daily_balances(groups=groups, start=start, end=as_of)
    positions = [
        _position(code, series.last(f"asset_{code}"), as_of=as_of, scale=scales.get(code, 8))
        for code in offered
    ]
    return Dashboard(
        as_of=as_of,
        start=start,
        holdings=_holdings(
            series, scale=scales.get(commodity, 8), position=positions[offered.index(commodity)]
        ),
        production=_production(start=start, as_of=as_of, commodity=commodity),
        cash=[
            _cash(series, "usdt", label="USDT", commodity=USDT, scale=scales.get(USDT, 6)),
            _cash(series, "usd", label="Cash (USD)", commodity=USD, scale=scales.get(USD, 2)),
        ],
        loans=[_loan(series, loan, as_of=as_of) for loan in loan_list],
        imports=_imports(),
        reconciliations=_reconciliations(as_of=as_of, start=start),
        positions=positions,
    )


def _position(commodity: str, held: Decimal, *, as_of: date, scale: int) -> Position:
    price = price_error = market_value = None
    try:
        price = price_for(base=commodity, on=as_of).price
    except HoldingsError as error:
        price_error = error.message
    else:
        market_value = cents(held * price)
    return Position(commodity, scale, held, price, price_error, market_value)


def _holdings(series: DailyBalances, *, scale: int, position: Position) -> Holdings:
    restricted = series.quantity["restricted"]
    with localcontext(EXACT):
        unrestricted = [
            held - pledged
            for held, pledged in zip(series.quantity["held"], restricted, strict=True)
        ]
    held = series.last("held")
    return Holdings(
        commodity=position.commodity,
        scale=scale,
        held=held,
        restricted=series.last("restricted"),
        unrestricted=held - series.last("restricted"),
        price=position.price,
        price_error=position.price_error,
        market_value=position.market_value,
        days=series.days,
        restricted_by_day=restricted,
        unrestricted_by_day=unrestricted,
    )


def _cash(
    series: DailyBalances, group: str, *, label: str, commodity: str, scale: int
) -> CashBalance:
    return CashBalance(
        label=label,
        commodity=commodity,
        scale=scale,
        balance=series.last(group),
        value=series.last_value(group),
        days=series.days,
        by_day=series.quantity[group],
    )


def _production(*, start: date, as_of: date, commodity: str) -> list[MonthProduction]:
    """The commodity mined (net of the pools' fees) and sold in each month of the window,
    through the date: a month still running counts its days up to the date only."""
    first = start.replace(day=1)
    mined = {
        month: row.mined
        for month, row in production.production_by_month(
            commodity=commodity, start=first, end=as_of
        ).items()
    }
    sold = dict(
        Sale.objects.filter(
            commodity_id=commodity, sold_at__date__gte=first, sold_at__date__lte=as_of
        )
        .annotate(month=TruncMonth("sold_at", output_field=DateField(), tzinfo=UTC))
        .values("month")
        .annotate(total=Sum("units"))
        .values_list("month", "total")
    )
    rows = []
    month = first
    while month <= as_of:
        last_day = month.replace(day=calendar.monthrange(month.year, month.month)[1])
        rows.append(
            MonthProduction(
                month=month,
                through=min(last_day, as_of),
                mined=mined.get(month) or ZERO,
                sold=sold.get(month) or ZERO,
            )
        )
        month = last_day + timedelta(days=1)
    # Months before the first production or sale ever recorded are left out: mining (or the
    # books) started later, and a zero there would read as a month without production.
    # Pool account by pool account (its first record, found by its key's index).
    first_mined = PoolAccount.objects.filter(commodity_id=commodity).aggregate(
        first=Min(
            Subquery(
                ProductionRecord.objects.filter(pool_account=OuterRef("pk"))
                .order_by("day")
                .values("day")[:1]
            )
        )
    )["first"]
    first_sold = Sale.objects.filter(commodity_id=commodity).aggregate(first=Min("sold_at"))[
        "first"
    ]
    known = [d for d in (first_mined, first_sold and first_sold.astimezone(UTC).date()) if d]
    if known:
        rows = [row for row in rows if row.through >= min(known)] or rows[-1:]
    return rows


def _loan(series: DailyBalances, loan: Loan, *, as_of: date) -> LoanPosition:
    key = f"loan{loan.pk}"
    prices = daily_prices(base=loan.collateral_commodity_id, days=series.days)
    ltv_by_day: list[Decimal | None] = []
    for index, day in enumerate(series.days):
        units = series.quantity[f"{key}_collateral"][index]
        debt = -(series.value[f"{key}_principal"][index] + series.value[f"{key}_interest"][index])
        price = prices.get(day)
        if not units or price is None:
            ltv_by_day.append(None)
            continue
        ltv_by_day.append((debt / cents(units * price)).quantize(LTV_PLACES, ROUND_HALF_EVEN))
    crossings = list(
        LoanEvent.objects.filter(
            loan=loan,
            kind=LoanEventKind.TIER,
            effective_date__gte=series.days[0] if series.days else as_of,
            effective_date__lte=as_of,
        ).order_by("effective_date", "id")
    )
    try:
        status = loans.loan_status(loan=loan, as_of=as_of)
    except HoldingsError as error:
        # No price for the day: what is owed and pledged is known, LTV is not.
        return LoanPosition(
            loan=loan,
            principal=-series.last(f"{key}_principal"),
            interest=-series.last(f"{key}_interest"),
            debt_value=-(
                series.last_value(f"{key}_principal") + series.last_value(f"{key}_interest")
            ),
            collateral_units=series.last(f"{key}_collateral"),
            collateral_price=None,
            collateral_value=None,
            ltv=None,
            tier=None,
            error=error.message,
            days=series.days,
            ltv_by_day=ltv_by_day,
            crossings=crossings,
        )
    return LoanPosition(
        loan=loan,
        principal=status.principal,
        interest=status.interest,
        debt_value=status.debt_value,
        collateral_units=status.collateral_units,
        collateral_price=status.collateral_price,
        collateral_value=status.collateral_value,
        ltv=status.ltv,
        tier=status.tier,
        error=None,
        days=series.days,
        ltv_by_day=ltv_by_day,
        crossings=crossings,
    )


def _imports() -> Imports:
    """The latest batches (whatever the date: imports are today's work) and the count of
    batches in each status."""
    latest = list(
        ImportBatch.objects.defer("content")
        .select_related("pool_account", "created_by")
        .order_by("-id")[:IMPORTS_SHOWN]
    )
    by_status = dict(
        ImportBatch.objects.order_by()
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return Imports(latest=latest, by_status=by_status)


def _reconciliations(*, as_of: date, start: date) -> Reconciliations:
    runs = ReconciliationRun.objects.filter(as_of__lte=as_of)
    day = runs.order_by("-as_of").values_list("as_of", flat=True).first()
    latest: dict[str, ReconciliationRun] = {}
    if day is not None:
        for run in runs.filter(as_of=day).order_by("kind", "-id"):
            latest.setdefault(run.kind, run)
    with_breaks = list(
        runs.filter(as_of__gte=start, status=ReconciliationStatus.BREAKS)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .distinct()[:RECONCILIATION_DAYS_SHOWN]
    )
    return Reconciliations(day=day, runs=list(latest.values()), days_with_breaks=with_breaks)
