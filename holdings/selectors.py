"""Reads of the miner's world: lots, prices, production. No side effects."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db import connection
from django.db.models import DateField, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import TruncMonth

from holdings import chart
from holdings.errors import HoldingsError
from holdings.models import Lot, LotMovement, Price, ProductionRecord, Sale, Site
from ledger import selectors as ledger_selectors
from ledger.models import Account, AccountType

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
