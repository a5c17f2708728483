"""Reads of the miner's world: lots, prices, production. No side effects."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    DateField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from holdings import chart, loans
from holdings.errors import HoldingsError
from holdings.lots import cents
from holdings.models import (
    Disposal,
    LoanEvent,
    LoanEventKind,
    Lot,
    LotMovement,
    LotMovementKind,
    LotOrigin,
    Price,
    ProductionRecord,
    Remeasurement,
    Sale,
    Site,
)
from holdings.production import price_timestamp
from ledger import selectors as ledger_selectors
from ledger.models import (
    Account,
    AccountType,
    Cancellation,
    CancellationStatus,
    Commodity,
    Posting,
)
from ledger.money import FUNCTIONAL_CURRENCY, exact_sum, to_scale

ZERO = Decimal(0)
EXA = Decimal(10) ** 18


# --- lots --------------------------------------------------------------------------------


def lots(
    *,
    as_of: date | None = None,
    account: str | None = None,
    commodity: str | None = None,
    open_only: bool = True,
) -> QuerySet[Lot]:
    """Lots with their state (quantity, cost, adjustment) at the end of `as_of`, or now.

    The state as of a date is the sum of the lot's movements up to that date, so it is
    exact whatever was posted later.
    """
    queryset = Lot.objects.select_related(
        "account",
        "price",
        "production_record",
        "production_record__pool_account",
    )
    if account:
        root = Account.objects.filter(code=account).first()
        if root is None:
            raise HoldingsError(f"unknown account {account!r}", field="account")
        ids = ledger_selectors.subtree_ids(root)
        queryset = queryset.filter(account_id__in=ids)
    if commodity:
        queryset = queryset.filter(commodity_id=commodity)
    if as_of is None:
        queryset = queryset.annotate(
            held_quantity=F("quantity"),
            held_cost=F("cost"),
            held_adjustment=F("fair_value_adjustment"),
        )
        if open_only:
            queryset = queryset.filter(quantity__gt=0)
        return queryset.order_by("acquired_at", "id")
    # Which lots held units at the date: one pass over the movements, grouped by lot...
    movements = LotMovement.objects.filter(effective_date__lte=as_of)
    held: QuerySet[Any, Any] = movements.values("lot_id")
    if open_only:
        held = held.annotate(units=Sum("quantity")).filter(units__gt=0)

    # ...and their state summed per lot only for the rows a page returns.
    def held_sum(field: str) -> Subquery:
        return Subquery(
            movements.filter(lot=OuterRef("pk"))
            .values("lot_id")
            .annotate(total=Sum(field))
            .values("total")
        )

    return (
        queryset.filter(pk__in=held.values("lot_id"))
        .annotate(
            held_quantity=held_sum("quantity"),
            held_cost=held_sum("cost"),
            held_adjustment=held_sum("fair_value_adjustment"),
        )
        .order_by("acquired_at", "id")
    )


@dataclass(frozen=True)
class LotDifference:
    account: str
    commodity: str
    ledger_quantity: Decimal
    lots_quantity: Decimal
    ledger_value: Decimal
    lots_cost: Decimal


def lot_differences(*, as_of: date) -> list[LotDifference]:
    """Accounts whose quantity (or cost) in the ledger differs from the sum of their lots
    as of a date. Empty when invariant 9 holds. Every asset account in a commodity other
    than USD holds lots."""
    sql = """
        WITH lot_sums AS MATERIALIZED (
            SELECT l.account_id, sum(m.quantity) q, sum(m.cost) c
              FROM holdings_lotmovement m JOIN holdings_lot l ON l.id = m.lot_id
             WHERE m.effective_date <= %(as_of)s
             GROUP BY l.account_id
        ), ledger_sums AS MATERIALIZED (
            SELECT account_id, sum(quantity) q, sum(value) v FROM (
                SELECT account_id, quantity, value FROM ledger_monthlybalance
                 WHERE month < date_trunc('month', %(as_of)s::date)
                UNION ALL
                SELECT account_id, quantity, value FROM ledger_dailybalance
                 WHERE day >= date_trunc('month', %(as_of)s::date) AND day <= %(as_of)s
            ) b GROUP BY account_id
        )
        SELECT a.code, a.commodity_id, coalesce(s.q, 0), coalesce(ls.q, 0),
               coalesce(s.v, 0), coalesce(ls.c, 0)
          FROM ledger_account a
          LEFT JOIN ledger_sums s ON s.account_id = a.id
          LEFT JOIN lot_sums ls ON ls.account_id = a.id
         WHERE (a.type = 'asset' AND a.commodity_id <> 'USD') OR ls.account_id IS NOT NULL
         ORDER BY a.code
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"as_of": as_of})
        rows = cursor.fetchall()
    return [
        LotDifference(code, commodity, lq, lotq, lv, lotc)
        for code, commodity, lq, lotq, lv, lotc in rows
        if lq != lotq or lv != lotc
    ]


# --- prices ------------------------------------------------------------------------------


def prices(
    *,
    base: str | None = None,
    quote: str | None = None,
    start: date | None = None,
    end: date | None = None,
    source: str | None = None,
) -> QuerySet[Price]:
    queryset = Price.objects.all()
    if base:
        queryset = queryset.filter(base_id=base)
    if quote:
        queryset = queryset.filter(quote_id=quote)
    if start:
        queryset = queryset.filter(timestamp__date__gte=start)
    if end:
        queryset = queryset.filter(timestamp__date__lte=end)
    if source:
        queryset = queryset.filter(source=source)
    return queryset.order_by("base", "quote", "timestamp")


# --- the monthly production report -------------------------------------------------------


@dataclass(frozen=True)
class ProductionMonth:
    """One month in the form miners publish. Averages are rounded half-even: per-day
    production to the commodity's scale, hashrates to 0.01 EH/s. Deployed hashrate is that
    of the sites active now (sites keep no history)."""

    month: date
    commodity: str
    days: int
    mined: Decimal
    average_per_day: Decimal
    held_at_month_end: Decimal
    restricted_at_month_end: Decimal
    unrestricted_at_month_end: Decimal
    average_operating_hashrate_ehs: Decimal | None
    deployed_hashrate_ehs: Decimal
    mined_change_percent: Decimal | None
    held_change: Decimal | None
    sold: Decimal = ZERO
    net_proceeds_usd: Decimal = ZERO  # USD value of the proceeds, after the venues' fees
    average_price_usd: Decimal | None = None  # gross proceeds per unit sold, to the cent


def production_report(*, start: date, end: date, commodity: str = "BTC") -> list[ProductionMonth]:
    """One row per month from `start`'s month to `end`'s month."""
    months = _months(start, end)
    scale = 8
    commodity_accounts = Account.objects.filter(commodity_id=commodity).select_related("commodity")
    first = commodity_accounts.first()
    if first is not None:
        scale = first.commodity.decimal_places
    per_month = {
        row["month"]: row
        for row in ProductionRecord.objects.filter(
            pool_account__commodity_id=commodity,
            day__gte=_previous_month(months[0]),
            day__lte=_month_end(months[-1]),
        )
        .annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(mined=Sum("net"), hashrate=Sum("hashrate_hs"))
        .order_by("month")
    }
    sales = {
        row["month"]: row
        for row in Sale.objects.filter(
            commodity_id=commodity,
            sold_at__date__gte=months[0],
            sold_at__date__lte=_month_end(months[-1]),
        )
        .annotate(month=TruncMonth("sold_at", output_field=DateField(), tzinfo=UTC))
        .values("month")
        .annotate(units=Sum("units"), gross=Sum("proceeds_value"), fees=Sum("fee_value"))
        .order_by("month")
    }
    restricted_ids = _restricted_account_ids()
    deployed = Site.objects.filter(is_active=True).aggregate(total=Sum("deployed_hashrate_hs"))
    deployed_ehs = _ehs(deployed["total"] or ZERO)
    rows = []
    previous_mined = (per_month.get(_previous_month(months[0])) or {}).get("mined")
    previous_held = _held(commodity, _month_end(_previous_month(months[0])), restricted_ids)[0]
    for month in months:
        days = calendar.monthrange(month.year, month.month)[1]
        data = per_month.get(month) or {}
        mined = data.get("mined") or ZERO
        hashrate = data.get("hashrate")
        held, restricted = _held(commodity, _month_end(month), restricted_ids)
        sold = sales.get(month) or {}
        units, gross = sold.get("units") or ZERO, sold.get("gross") or ZERO
        rows.append(
            ProductionMonth(
                month=month,
                commodity=commodity,
                days=days,
                mined=mined,
                average_per_day=(mined / days).quantize(
                    Decimal(1).scaleb(-scale), rounding=ROUND_HALF_EVEN
                ),
                held_at_month_end=held,
                restricted_at_month_end=restricted,
                unrestricted_at_month_end=held - restricted,
                average_operating_hashrate_ehs=_ehs(hashrate / days) if hashrate else None,
                deployed_hashrate_ehs=deployed_ehs,
                mined_change_percent=(
                    ((mined - previous_mined) * 100 / previous_mined).quantize(
                        Decimal("0.1"), rounding=ROUND_HALF_EVEN
                    )
                    if previous_mined
                    else None
                ),
                held_change=held - previous_held,
                sold=units,
                net_proceeds_usd=gross - (sold.get("fees") or ZERO),
                average_price_usd=(
                    (gross / units).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
                    if units
                    else None
                ),
            )
        )
        previous_mined, previous_held = mined, held
    return rows


def _held(commodity: str, as_of: date, restricted_ids: set[int]) -> tuple[Decimal, Decimal]:
    own = ledger_selectors.balances(
        as_of=as_of, type=AccountType.ASSET, commodity=commodity, include_children=False
    )
    held = sum((row.quantity for row in own), ZERO)
    restricted = sum((row.quantity for row in own if row.account_id in restricted_ids), ZERO)
    return held, restricted


def _restricted_account_ids() -> set[int]:
    ids: set[int] = set()
    for account in Account.objects.filter(code__in=chart.RESTRICTED_ROOTS):
        ids.update(ledger_selectors.subtree_ids(account))
    return ids


def _ehs(hashes_per_second: Decimal) -> Decimal:
    return (Decimal(hashes_per_second) / EXA).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def _months(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError("end is before start")
    months = []
    month = start.replace(day=1)
    while month <= end:
        months.append(month)
        month = _next_month(month)
    return months


def _next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def _previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def _month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


# --- realized gains ----------------------------------------------------------------------


@dataclass(frozen=True)
class RealizedGains:
    """The disposals of a commodity in a period (sales and on-chain fees), each with the lot
    it relieved, and their totals."""

    commodity: str
    start: date
    end: date
    disposals: list[Any]
    units: Decimal
    cost: Decimal
    carrying_value: Decimal
    proceeds: Decimal
    realized_gain: Decimal


def realized_gains(*, start: date, end: date, commodity: str = "BTC") -> RealizedGains:
    """Each disposal of `commodity` from `start` to `end` (UTC dates, both included), oldest
    first, with its lot (acquired, account, wallet), sale or transfer, and the totals."""
    from holdings.models import Disposal

    if start > end:
        raise HoldingsError(f"end must not be before start ({start.isoformat()})", field="end")
    rows = list(
        Disposal.objects.filter(
            disposed_on__gte=start, disposed_on__lte=end, lot__commodity_id=commodity
        )
        .select_related("lot__account__wallet", "lot__commodity", "sale", "transfer", "entry")
        .order_by("disposed_on", "id")
    )

    def total(name: str) -> Decimal:
        return sum((getattr(row, name) for row in rows), Decimal("0.00"))

    return RealizedGains(
        commodity=commodity,
        start=start,
        end=end,
        disposals=rows,
        units=sum((row.units for row in rows), ZERO),
        cost=total("cost"),
        carrying_value=total("carrying_value"),
        proceeds=total("proceeds"),
        realized_gain=total("realized_gain"),
    )


# --- the digital asset roll-forward (ASC 350-60-50-3) ------------------------------------

ADDITIONS = (
    ("mining", LotOrigin.MINED, "Mining: lots opened by the pools' production"),
    ("purchases", LotOrigin.PURCHASE, "Purchases"),
    ("sale_proceeds", LotOrigin.PROCEEDS, "Received as the proceeds of sales"),
    ("loan_draws", LotOrigin.BORROWED, "Received as loan principal"),
    ("opening_balances", LotOrigin.OPENING, "Opening balances brought in"),
)
DISPOSITIONS = (
    ("sales", "Sales"),
    ("network_fees", "Network fees (on-chain transfers)"),
    ("liquidations", "Liquidations of collateral by lenders"),
    ("loan_repayments", "Paid to lenders (loan repayments)"),
    ("other", "Other dispositions"),
)


@dataclass(frozen=True)
class RollforwardLine:
    """One line of the roll-forward. Movement lines are signed as they change the holding
    (a disposition is negative), so the opening line plus every movement line is the
    closing line. `proceeds` and `realized_gain` (proceeds less cost) are set on
    dispositions only."""

    key: str
    section: str
    label: str
    units: Decimal
    cost: Decimal
    fair_value_adjustment: Decimal
    proceeds: Decimal | None = None
    realized_gain: Decimal | None = None

    @property
    def carrying_value(self) -> Decimal:
        return self.cost + self.fair_value_adjustment


@dataclass(frozen=True)
class Rollforward:
    """A commodity's roll-forward over a period, tied to the ledger at both ends.

    Opening and closing are the ledger's balances at the end of the day before `start` and
    at the end of `end`: units and cost of every asset account in the commodity (wallets,
    pool receivables, pledged collateral, collateral receivable), and the fair value
    adjustment accounts (1290, and 1490 for the collateral receivable), so they are the trial
    balance's own figures. The movements come from the lots: each lot movement of the period
    classified by what it was (a lot opened by production, a disposal by the sale, transfer
    or loan event that posted it, a remeasurement). `unexplained` is whatever of the
    ledger's change no lot movement accounts for: zero when the lots equal the ledger.
    The memo lines show apart, at both ends, the units pledged with control retained
    (1230, restricted, still held) and the collateral receivable (1400 and 1490)."""

    commodity: str
    scale: int
    start: date
    end: date
    lines: list[RollforwardLine]
    memo: list[RollforwardLine]
    adjustment_accounts: list[str]
    ties_to_trial_balance: bool

    def line(self, key: str) -> RollforwardLine:
        return next(line for line in [*self.lines, *self.memo] if line.key == key)


@dataclass(frozen=True)
class _Position:
    units: Decimal
    cost: Decimal
    adjustment: Decimal


def _subtree(code: str, commodity: str | None = None) -> set[int]:
    root = Account.objects.filter(code=code).first()
    if root is None or (commodity is not None and root.commodity_id != commodity):
        return set()
    return set(ledger_selectors.subtree_ids(root))


def rollforward(*, commodity: str, start: date, end: date) -> Rollforward:
    """The roll-forward of `commodity` from `start` to `end` (UTC dates, both included)."""
    if start > end:
        raise HoldingsError(f"end must not be before start ({start.isoformat()})", field="end")
    found = Commodity.objects.filter(code=commodity).first()
    if found is None:
        raise HoldingsError(f"unknown commodity {commodity!r}", field="commodity")
    if found.code == FUNCTIONAL_CURRENCY:
        raise HoldingsError(
            f"{FUNCTIONAL_CURRENCY} is the functional currency: it has no roll-forward",
            field="commodity",
        )
    code, scale = found.code, found.decimal_places
    receivable_ids = _subtree(chart.COLLATERAL_RECEIVABLE, code)
    adjustment_codes = [c for c in [chart.FAIR_VALUE_ADJUSTMENT.get(code)] if c]
    if receivable_ids:
        adjustment_codes.append(chart.COLLATERAL_ADJUSTMENT)
    adjustment_ids: set[int] = set()
    for adjustment_code in adjustment_codes:
        adjustment_ids |= _subtree(adjustment_code)
    receivable_adjustment_ids = _subtree(chart.COLLATERAL_ADJUSTMENT) if receivable_ids else set()
    restricted_ids = _subtree(chart.PLEDGED, code)

    def position(as_of: date) -> tuple[_Position, _Position, _Position]:
        own = ledger_selectors.balances(as_of=as_of, include_children=False)
        held = [r for r in own if r.type == AccountType.ASSET and r.commodity == code]
        restricted = [r for r in held if r.account_id in restricted_ids]
        receivable = [r for r in held if r.account_id in receivable_ids]
        restricted_adjustment = LotMovement.objects.filter(
            lot__account__in=restricted_ids, effective_date__lte=as_of
        ).aggregate(total=Sum("fair_value_adjustment"))["total"]
        return (
            _Position(
                _sum(r.quantity for r in held),
                _sum(r.value for r in held),
                _sum(r.value for r in own if r.account_id in adjustment_ids),
            ),
            _Position(
                _sum(r.quantity for r in restricted),
                _sum(r.value for r in restricted),
                restricted_adjustment or ZERO,
            ),
            _Position(
                _sum(r.quantity for r in receivable),
                _sum(r.value for r in receivable),
                _sum(r.value for r in own if r.account_id in receivable_adjustment_ids),
            ),
        )

    before = start - timedelta(days=1)
    opening, restricted_opening, receivable_opening = position(before)
    closing, restricted_closing, receivable_closing = position(end)
    movements = _classified_movements(code, start, end)

    def line(key: str, section: str, label: str, found: _Position, **more: Any) -> RollforwardLine:
        return RollforwardLine(
            key=key,
            section=section,
            label=label,
            units=to_scale(found.units, scale),
            cost=to_scale(found.cost, 2),
            fair_value_adjustment=to_scale(found.adjustment, 2),
            **more,
        )

    lines = [line("opening", "opening", f"Opening balance at the end of {before}", opening)]
    for key, _origin, label in ADDITIONS:
        lines.append(line(f"additions.{key}", "additions", label, movements.additions[key]))
    for key, label in DISPOSITIONS:
        relieved = movements.dispositions[key]
        proceeds = movements.proceeds[key]
        lines.append(
            line(
                f"dispositions.{key}",
                "dispositions",
                label,
                relieved,
                proceeds=to_scale(proceeds, 2),
                realized_gain=to_scale(proceeds + relieved.cost, 2),
            )
        )
    lines.append(
        line(
            "fair_value_changes",
            "fair_value_changes",
            "Fair value changes: remeasurements of the period",
            movements.remeasured,
        )
    )
    explained = [*movements.additions.values(), *movements.dispositions.values()]
    explained.append(movements.remeasured)
    unexplained = _Position(
        closing.units - opening.units - _sum(p.units for p in explained),
        closing.cost - opening.cost - _sum(p.cost for p in explained),
        closing.adjustment - opening.adjustment - _sum(p.adjustment for p in explained),
    )
    lines.append(
        line(
            "unexplained",
            "unexplained",
            "Ledger movements no lot movement explains (zero when the lots equal the ledger)",
            unexplained,
        )
    )
    lines.append(line("closing", "closing", f"Closing balance at the end of {end}", closing))
    pledged = f"Restricted: pledged as collateral, control retained ({chart.PLEDGED})"
    receivable = (
        f"Collateral receivable, control transferred ({chart.COLLATERAL_RECEIVABLE}, "
        f"{chart.COLLATERAL_ADJUSTMENT})"
    )
    memo = [
        line("restricted.opening", "memo", f"{pledged} at the end of {before}", restricted_opening),
        line("restricted.closing", "memo", f"{pledged} at the end of {end}", restricted_closing),
        line(
            "collateral_receivable.opening",
            "memo",
            f"{receivable} at the end of {before}",
            receivable_opening,
        ),
        line(
            "collateral_receivable.closing",
            "memo",
            f"{receivable} at the end of {end}",
            receivable_closing,
        ),
    ]
    return Rollforward(
        commodity=code,
        scale=scale,
        start=start,
        end=end,
        lines=lines,
        memo=memo,
        adjustment_accounts=sorted(adjustment_codes),
        ties_to_trial_balance=(
            _trial_balance_position(code, before, adjustment_ids) == opening
            and _trial_balance_position(code, end, adjustment_ids) == closing
        ),
    )


def _sum(values: Any) -> Decimal:
    return exact_sum(values)


def _trial_balance_position(code: str, as_of: date, adjustment_ids: set[int]) -> _Position:
    rows = ledger_selectors.trial_balance(as_of=as_of).rows
    held = [r for r in rows if r.type == AccountType.ASSET and r.commodity == code]
    return _Position(
        _sum(r.quantity for r in held),
        _sum(r.value for r in held),
        _sum(r.value for r in rows if r.account_id in adjustment_ids),
    )


@dataclass
class _Movements:
    additions: dict[str, _Position]
    dispositions: dict[str, _Position]
    proceeds: dict[str, Decimal]
    remeasured: _Position


def _classified_movements(code: str, start: date, end: date) -> _Movements:
    """The period's lot movements of a commodity, added up by what they were."""
    # A cancelled document's mirror movements (under its reversal) count where the
    # document's own did, so the two net to nothing.
    by_entry = Case(
        *(
            When(**{f"{path}sale__isnull": False}, then=Value("sales"))
            for path in ("entry__", "entry__reversal_of__")
        ),
        *(
            When(**{f"{path}transfer__isnull": False}, then=Value("network_fees"))
            for path in ("entry__", "entry__reversal_of__")
        ),
        *(
            When(**{f"{path}loan_event__kind": kind}, then=Value(label))
            for kind, label in (
                (LoanEventKind.LIQUIDATION, "liquidations"),
                (LoanEventKind.REPAYMENT, "loan_repayments"),
            )
            for path in ("entry__", "entry__reversal_of__")
        ),
        default=Value("other"),
        output_field=CharField(),
    )
    rows = (
        LotMovement.objects.filter(
            lot__commodity_id=code, effective_date__gte=start, effective_date__lte=end
        )
        .annotate(disposed_by=by_entry)
        .values("kind", "lot__origin", "disposed_by")
        .annotate(q=Sum("quantity"), c=Sum("cost"), a=Sum("fair_value_adjustment"))
        .order_by()
    )
    nothing = _Position(ZERO, ZERO, ZERO)
    origins = {origin: key for key, origin, _label in ADDITIONS}
    additions = {key: nothing for key, _origin, _label in ADDITIONS}
    dispositions = {key: nothing for key, _label in DISPOSITIONS}
    remeasured = nothing

    def plus(total: _Position, row: dict[str, Any]) -> _Position:
        return _Position(total.units + row["q"], total.cost + row["c"], total.adjustment + row["a"])

    for row in rows:
        if row["kind"] == LotMovementKind.OPEN and row["lot__origin"] in origins:
            key = origins[row["lot__origin"]]
            additions[key] = plus(additions[key], row)
        elif row["kind"] == LotMovementKind.DISPOSAL:
            key = row["disposed_by"]
            dispositions[key] = plus(dispositions[key], row)
        elif row["kind"] == LotMovementKind.REMEASUREMENT:
            remeasured = plus(remeasured, row)
        # Transfers in and out cancel out within the commodity's accounts; anything else
        # shows in the unexplained line.
    return _Movements(additions, dispositions, _proceeds(code, start, end, by_entry), remeasured)


def _proceeds(code: str, start: date, end: date, by_entry: Case) -> dict[str, Decimal]:
    """Proceeds (USD) of the period's dispositions by kind: the disposal records' (sales,
    network fees, liquidations); for units paid to a lender, the debt they settled (the
    repayment entry's postings to the loan's liability accounts)."""
    proceeds = {key: Decimal("0.00") for key, _label in DISPOSITIONS}
    for row in (
        Disposal.objects.filter(
            lot__commodity_id=code, disposed_on__gte=start, disposed_on__lte=end
        )
        .annotate(disposed_by=by_entry)
        .values("disposed_by")
        .annotate(total=Sum("proceeds"))
        .order_by()
    ):
        proceeds[row["disposed_by"]] += row["total"]
    repaid_with = LotMovement.objects.filter(
        Q(entry__loan_event__kind=LoanEventKind.REPAYMENT)
        | Q(entry__reversal_of__loan_event__kind=LoanEventKind.REPAYMENT),
        lot__commodity_id=code,
        effective_date__gte=start,
        effective_date__lte=end,
        kind=LotMovementKind.DISPOSAL,
    ).values("entry_id")
    settled = Posting.objects.filter(
        entry_id__in=repaid_with, account__type=AccountType.LIABILITY
    ).aggregate(total=Sum("value"))["total"]
    proceeds["loan_repayments"] += settled or ZERO
    return proceeds


# --- price evidence ----------------------------------------------------------------------

PRICE_USES = {
    "production_record": "A pool's daily earning valued at the day's price (recorded)",
    "lot": "A lot opened at that price: mined (recorded); transferred lots keep their "
    "parent's price and are not listed again",
    "remeasurement": "A fair value remeasurement (recorded)",
    "sale": "A sale's proceeds in a stablecoin valued at the day's price (the price the "
    "policy selects, listed when the value booked is units times that price)",
    "loan_draw": "Loan principal in a stablecoin valued at the day's price (policy, as above)",
    "loan_accrual": "A day's interest in a stablecoin valued at the day's price (policy, as above)",
    "ltv_tier": "An LTV tier crossing: the collateral price it was measured at (recorded "
    "on the event; no entry)",
}


@dataclass(frozen=True)
class PriceUse:
    """One use of one price: the record that used it and the entry that posted it.

    `link` is `recorded` when the record keeps the price (a foreign key, or on a tier
    crossing its text), `policy` when the record keeps only the value it booked and the
    price is the one the price policy selects for the day, listed only when units times
    that price, to the cent, is the value booked."""

    price: Price
    used_by: str
    link: str
    record: int
    reference: str
    effective_date: date
    entry_id: int | None
    entry_sequence: int | None
    commodity: str | None
    quantity: Decimal | None
    value: Decimal | None


def price_evidence(
    *, start: date, end: date, base: str | None = None, used_by: str | None = None
) -> list[PriceUse]:
    """Every price an entry (or a recorded LTV check) used from `start` to `end` (the UTC
    date of the use: the entry's effective date), oldest first, with what used it."""
    if start > end:
        raise HoldingsError(f"end must not be before start ({start.isoformat()})", field="end")
    if used_by is not None and used_by not in PRICE_USES:
        raise HoldingsError(f"used_by is one of {', '.join(PRICE_USES)}", field="used_by")
    uses: list[dict[str, Any]] = []
    wanted = used_by
    if wanted in (None, "production_record"):
        uses += _production_uses(start, end, base)
    if wanted in (None, "lot"):
        uses += _lot_uses(start, end, base)
    if wanted in (None, "remeasurement"):
        uses += _remeasurement_uses(start, end, base)
    if wanted in (None, "sale", "loan_draw", "loan_accrual", "ltv_tier"):
        uses += [
            use
            for use in _policy_uses(start, end, base)
            if wanted is None or use["used_by"] == wanted
        ]
    prices = Price.objects.in_bulk({use["price_id"] for use in uses})
    order = list(PRICE_USES)
    uses.sort(key=lambda use: (use["effective_date"], order.index(use["used_by"]), use["record"]))
    return [
        PriceUse(price=prices[use.pop("price_id")], **use)  # type: ignore[arg-type]
        for use in uses
    ]


def _production_uses(start: date, end: date, base: str | None) -> list[dict[str, Any]]:
    records = ProductionRecord.objects.filter(
        price__isnull=False, day__gte=start, day__lte=end
    ).order_by()
    if base:
        records = records.filter(price__base_id=base)
    return [
        {
            "price_id": row["price_id"],
            "used_by": "production_record",
            "link": "recorded",
            "record": row["id"],
            "reference": f"{row['pool_account__code']} {row['day']}",
            "effective_date": row["day"],
            "entry_id": row["entry_id"],
            "entry_sequence": row["entry__sequence"],
            "commodity": row["pool_account__commodity_id"],
            "quantity": row["net"],
            "value": row["value"],
        }
        for row in records.values(
            "id",
            "price_id",
            "pool_account__code",
            "pool_account__commodity_id",
            "day",
            "entry_id",
            "entry__sequence",
            "net",
            "value",
        )
    ]


def _lot_uses(start: date, end: date, base: str | None) -> list[dict[str, Any]]:
    lots = (
        Lot.objects.filter(
            price__isnull=False,
            opened_by_entry__effective_date__gte=start,
            opened_by_entry__effective_date__lte=end,
        )
        .exclude(origin=LotOrigin.TRANSFER)
        .order_by()
    )
    if base:
        lots = lots.filter(price__base_id=base)
    return [
        {
            "price_id": row["price_id"],
            "used_by": "lot",
            "link": "recorded",
            "record": row["id"],
            "reference": f"lot {row['id']} ({row['origin']}) in {row['account__code']}",
            "effective_date": row["opened_by_entry__effective_date"],
            "entry_id": row["opened_by_entry_id"],
            "entry_sequence": row["opened_by_entry__sequence"],
            "commodity": row["commodity_id"],
            "quantity": row["original_quantity"],
            "value": row["original_cost"],
        }
        for row in lots.values(
            "id",
            "price_id",
            "origin",
            "account__code",
            "commodity_id",
            "opened_by_entry_id",
            "opened_by_entry__sequence",
            "opened_by_entry__effective_date",
            "original_quantity",
            "original_cost",
        )
    ]


def _remeasurement_uses(start: date, end: date, base: str | None) -> list[dict[str, Any]]:
    remeasurements = Remeasurement.objects.filter(as_of__gte=start, as_of__lte=end).order_by()
    if base:
        remeasurements = remeasurements.filter(price__base_id=base)
    return [
        {
            "price_id": row["price_id"],
            "used_by": "remeasurement",
            "link": "recorded",
            "record": row["id"],
            "reference": f"{row['commodity_id']} remeasured at {row['as_of']}",
            "effective_date": row["as_of"],
            "entry_id": row["entry_id"],
            "entry_sequence": row["entry__sequence"],
            "commodity": row["commodity_id"],
            "quantity": row["units"],
            "value": row["fair_value"],
        }
        for row in remeasurements.values(
            "id",
            "price_id",
            "commodity_id",
            "as_of",
            "entry_id",
            "entry__sequence",
            "units",
            "fair_value",
        )
    ]


def _policy_uses(start: date, end: date, base: str | None) -> list[dict[str, Any]]:
    """Values booked at the day's price without keeping it: a stablecoin sale's proceeds, a
    stablecoin loan's draws and interest; and the prices LTV tier crossings recorded."""
    candidates: list[tuple[str, str, date, dict[str, Any], Decimal | None]] = []
    sales = Sale.objects.filter(sold_at__date__gte=start, sold_at__date__lte=end).exclude(
        proceeds_commodity_id=FUNCTIONAL_CURRENCY
    )
    for sale in sales.select_related("entry").order_by():
        use = {
            "used_by": "sale",
            "record": sale.pk,
            "reference": sale.reference,
            "entry_id": sale.entry_id,
            "entry_sequence": sale.entry.sequence,
            "commodity": sale.proceeds_commodity_id,
            "quantity": sale.gross_proceeds,
            "value": sale.proceeds_value,
        }
        day = sale.sold_at.astimezone(UTC).date()
        candidates.append((sale.proceeds_commodity_id, "policy", day, use, None))
    events = (
        LoanEvent.objects.filter(
            effective_date__gte=start,
            effective_date__lte=end,
            kind__in=[LoanEventKind.DRAW, LoanEventKind.ACCRUAL, LoanEventKind.TIER],
        )
        .exclude(~Q(kind=LoanEventKind.TIER), loan__principal_commodity_id=FUNCTIONAL_CURRENCY)
        .select_related("loan", "entry")
        .order_by()
    )
    for event in events:
        loan = event.loan
        use = {
            "record": event.pk,
            "entry_id": event.entry_id,
            "entry_sequence": event.entry.sequence if event.entry else None,
        }
        if event.kind == LoanEventKind.TIER:
            recorded = event.details.get("price")
            if not recorded:
                continue
            use |= {
                "used_by": "ltv_tier",
                "reference": f"{loan.code}: {event.details.get('previous')} to "
                f"{event.details.get('tier')}, LTV {event.details.get('ltv')}",
                "commodity": loan.collateral_commodity_id,
                "quantity": None,
                "value": None,
            }
            candidates.append(
                (
                    loan.collateral_commodity_id,
                    "recorded",
                    event.effective_date,
                    use,
                    Decimal(recorded),
                )
            )
            continue
        if event.entry is None:  # a day without interest: nothing was valued
            continue
        value = Decimal(event.details.get("value", "0"))
        use |= {
            "used_by": "loan_draw" if event.kind == LoanEventKind.DRAW else "loan_accrual",
            "reference": f"{loan.code} {event.kind} {event.effective_date}",
            "commodity": loan.principal_commodity_id,
            "quantity": event.amount,
            "value": value,
        }
        candidates.append((loan.principal_commodity_id, "policy", event.effective_date, use, None))
    wanted = [c for c in candidates if not base or c[0] == base]
    stamps = {(c[0], price_timestamp(c[2])) for c in wanted}
    prices = {
        (p.base_id, p.timestamp): p
        for p in Price.objects.filter(
            base_id__in={b for b, _ in stamps},
            quote_id=settings.PRICE_QUOTE,
            timestamp__in={t for _, t in stamps},
        )
    }
    uses = []
    for commodity, link, day, use, recorded in wanted:
        price = prices.get((commodity, price_timestamp(day)))
        if price is None:
            continue
        if link == "policy" and cents(use["quantity"] * price.price) != use["value"]:
            continue  # valued otherwise (a value given with the event): no price was used
        if recorded is not None and recorded != price.price:
            continue
        uses.append({"price_id": price.pk, "link": link, "effective_date": day, **use})
    return uses


# --- the loan schedule -------------------------------------------------------------------

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
