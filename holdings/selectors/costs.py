"""The cost to mine a bitcoin, and the site costs behind it. No side effects.

Cango's two published measures, for a period and optionally a site:

- cash cost per BTC = (power - power credits - the power HPC took + hosting + other direct
  site costs) / BTC mined;
- all-in cost per BTC = (cash cost + depreciation of mining machines + the other items the
  company includes, configured by name in COST_TO_MINE_EXTRAS) / BTC mined.

Costs are the ledger's: the movement of the cost accounts (5000 power, 5010 power credits,
5020 hosting, 5030 other direct costs, and the depreciation accounts of the mining asset
classes), each site's in its child account `<parent>-<site>`. BTC mined is the pools' net
production of the period (records whose entry stands). Per BTC figures are rounded to the
cent, half-even.

Where the data allows: hashprice (mining revenue per PH/s per day), hashcost (cash and
all-in cost per PH/s per day), the energy used by mining (meter readings less what the HPC
sub-meters took, else the kWh on the power invoices), the power cost per kWh and the fleet's
efficiency in J/TH.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet, Sum

from holdings import chart
from holdings.errors import HoldingsError
from holdings.models import (
    AssetClass,
    CostOrigin,
    CostStatus,
    MeterReading,
    ProductionRecord,
    Site,
    SiteCost,
)
from holdings.selectors.calendar import period_start
from holdings.selectors.hpc import Segment, any_shared, hpc_power_total, segments
from holdings.selectors.production import ProducedMonth, production_by_month, standing_records
from holdings.valuation import allocate
from ledger.models import Account, CancellationStatus
from ledger.money import exact_sum
from ledger.selectors import value_moved, values_moved

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
GROUPS = ("month", "quarter", "year", "site", "pool")
UNATTRIBUTED = "Unattributed"
MAX_ROWS = 120  # periods of a report grouped by month, quarter or year
PETA = Decimal(10) ** 15
TERA = Decimal(10) ** 12
JOULES_PER_KWH = Decimal(3_600_000)
SECONDS_PER_DAY = 86_400


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _per(value: Decimal, whole: Decimal | None, places: str = "0.01") -> Decimal | None:
    if not whole:
        return None
    return (value / whole).quantize(Decimal(places), rounding=ROUND_HALF_EVEN)


def extra_items() -> list[tuple[str, str]]:
    """The other items the all-in cost includes: (name, account code), from settings."""
    items = getattr(settings, "COST_TO_MINE_EXTRAS", None) or []
    return [(str(item["name"]), str(item["account"])) for item in items]


def mining_depreciation_accounts() -> list[str]:
    codes = AssetClass.objects.filter(mining=True).values_list("expense_account", flat=True)
    return sorted(set(codes)) or [chart.MACHINES_DEPRECIATION_EXPENSE]


@dataclass(frozen=True)
class ExtraItem:
    """An item the company includes in the all-in cost, by name."""

    name: str
    amount: Decimal


@dataclass(frozen=True)
class CostToMine:
    """One period (or site) of the report."""

    label: str
    start: date
    end: date
    site: str | None
    days: int
    btc_mined: Decimal
    power: Decimal
    power_credits: Decimal
    power_to_hpc: Decimal
    hosting: Decimal
    other_direct: Decimal
    cash_cost: Decimal
    depreciation: Decimal
    extras: list[ExtraItem]
    all_in_cost: Decimal
    cash_cost_per_btc: Decimal | None
    all_in_cost_per_btc: Decimal | None
    mining_revenue: Decimal
    average_hashrate_phs: Decimal | None
    hashprice: Decimal | None
    hashcost: Decimal | None
    all_in_hashcost: Decimal | None
    kwh: Decimal | None
    power_cost_per_kwh: Decimal | None
    joules_per_th: Decimal | None
    pool: str | None = None


@dataclass(frozen=True)
class CostToMineReport:
    start: date
    end: date
    site: str | None
    group_by: str | None
    rows: list[CostToMine]
    total: CostToMine
    extra_names: list[str] = field(default_factory=list)


# --- the periods -------------------------------------------------------------------------


def _month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def periods(start: date, end: date, by: str) -> list[tuple[str, date, date]]:
    """(label, first, last) of each month, quarter or year of [start, end], cut to it."""
    result = []
    first = start
    while first <= end:
        if by == "month":
            last, label = _month_end(first), f"{first:%Y-%m}"
        elif by == "quarter":
            quarter = (first.month - 1) // 3
            last = _month_end(date(first.year, quarter * 3 + 3, 1))
            label = f"{first.year}-Q{quarter + 1}"
        else:
            last, label = date(first.year, 12, 31), f"{first.year}"
        last = min(last, end)
        result.append((label, first, last))
        first = last + timedelta(days=1)
    return result


# --- the figures -------------------------------------------------------------------------


def _line_accounts(lines: dict[str, list[str]], site: Site | None) -> dict[str, list[int]]:
    """Per line, the ids of its `parents` and their site children, or the site's children
    alone: one query for every line."""
    found: dict[str, list[int]] = {line: [] for line in lines}
    parents = {parent for codes in lines.values() for parent in codes}
    if not parents:
        return found
    if site is not None:
        query = Q(code__in=[f"{parent}-{site.code}" for parent in parents])
    else:
        query = Q()
        for parent in parents:
            query |= Q(code=parent) | Q(code__startswith=f"{parent}-")
    for pk, code in Account.objects.filter(query).values_list("id", "code"):
        for line, codes in lines.items():
            if any(_under(code, parent, site) for parent in codes):
                found[line].append(pk)
    return found


def _under(code: str, parent: str, site: Site | None) -> bool:
    if site is not None:
        return code == f"{parent}-{site.code}"
    return code == parent or code.startswith(f"{parent}-")


def _moved(parents: list[str], site: Site | None, start: date, end: date) -> Decimal:
    ids = _line_accounts({"": parents}, site)[""]
    if not ids:
        return ZERO
    return value_moved(account_ids=ids, start=start, end=end)


def _records(site: Site | None, start: date, end: date) -> QuerySet[ProductionRecord]:
    return standing_records(commodity="BTC", start=start, end=end, site=site)


def _production(site: Site | None, start: date, end: date) -> dict[str, Any]:
    return _added_up(production_by_month(commodity="BTC", start=start, end=end, site=site))


def _production_by_period(
    site: Site | None, start: date, end: date, by: str, firsts: list[date]
) -> list[dict[str, Any]]:
    """The production of each period (given by its first day): the months of [start, end]
    (production_by_month) added up by their calendar month, quarter or year."""
    months = production_by_month(commodity="BTC", start=start, end=end, site=site)
    periods: dict[date, dict[date, ProducedMonth]] = {}
    for month, produced in months.items():
        periods.setdefault(period_start(month, by), {})[month] = produced
    return [_added_up(periods.get(period_start(first, by), {})) for first in firsts]


def _added_up(months: dict[date, ProducedMonth]) -> dict[str, Any]:
    """Months' production added up, as the sum of their records: None where none has any."""
    if not months:
        return {"mined": None, "value": None, "hashrate": None}
    hashrates = [m.hashrate_hs for m in months.values() if m.hashrate_hs is not None]
    return {
        "mined": exact_sum(m.mined for m in months.values()),
        "value": exact_sum(m.value for m in months.values()),
        "hashrate": exact_sum(hashrates) if hashrates else None,
    }


def standing_costs() -> QuerySet[SiteCost]:
    return SiteCost.objects.filter(status=CostStatus.POSTED).exclude(
        entry__cancellations__status=CancellationStatus.APPROVED
    )


def _kwh_sources(site: Site | None, start: date, end: date) -> tuple[QuerySet, QuerySet]:
    """The meter readings and the standing power invoices with their kWh within the span."""
    readings = MeterReading.objects.filter(period_start__gte=start, period_end__lte=end)
    invoices = (
        standing_costs()
        .filter(kind="power", period_start__gte=start, period_end__lte=end, kwh__isnull=False)
        .exclude(origin=CostOrigin.ACCRUAL)
    )
    if site is not None:
        readings, invoices = readings.filter(site=site), invoices.filter(site=site)
    return readings, invoices


def _any_kwh(site: Site | None, start: date, end: date) -> bool:
    readings, invoices = _kwh_sources(site, start, end)
    return readings.exists() or invoices.exists()


def _mining_kwh(site: Site | None, start: date, end: date) -> Decimal | None:
    readings, invoices = _kwh_sources(site, start, end)
    metered = readings.aggregate(kwh=Sum("kwh"), hpc=Sum("hpc_kwh"))
    if metered["kwh"] is not None:
        return metered["kwh"] - (metered["hpc"] or ZERO)
    return invoices.aggregate(kwh=Sum("kwh"))["kwh"]


@dataclass(frozen=True)
class _Costs:
    """A row's cost lines before the figures derived from them."""

    power: Decimal
    credits: Decimal
    to_hpc: Decimal
    hosting: Decimal
    other: Decimal
    depreciation: Decimal
    extras: list[ExtraItem]
    kwh: Decimal | None


def _site_costs(site: Site | None, start: date, end: date) -> _Costs:
    return _site_costs_over(site, [(start, end)])[0]


def _site_costs_over(site: Site | None, spans: list[tuple[date, date]]) -> list[_Costs]:
    """The cost lines of each span: the ledger's in one query for every line and span."""
    extras = extra_items()
    lines = {
        "power": [chart.POWER_COST],
        "credits": [chart.POWER_CREDITS],
        "hosting": [chart.HOSTING_COST],
        "other": [chart.OTHER_SITE_COST],
        "depreciation": mining_depreciation_accounts(),
        **{f"extra {n}": [code] for n, (_name, code) in enumerate(extras)},
    }
    accounts = _line_accounts(lines, site)
    moved = {
        line: values if accounts[line] else [ZERO] * len(spans)
        for line, values in values_moved(groups=accounts, spans=spans).items()
    }
    # Energy and HPC power per span only where the whole range has any (a look worth
    # taking for several spans; one span is simply read).
    first, last = min(start for start, _ in spans), max(end for _, end in spans)
    several = len(spans) > 1
    shared = any_shared(first, last) if several else True
    metered = _any_kwh(site, first, last) if several else True
    return [
        _Costs(
            power=moved["power"][n],
            credits=-moved["credits"][n],
            to_hpc=hpc_power_total(start, end, site) if shared else ZERO,
            hosting=moved["hosting"][n],
            other=moved["other"][n],
            depreciation=moved["depreciation"][n],
            extras=[
                ExtraItem(name, moved[f"extra {i}"][n]) for i, (name, _code) in enumerate(extras)
            ],
            kwh=_mining_kwh(site, start, end) if metered else None,
        )
        for n, (start, end) in enumerate(spans)
    ]


def _assemble(
    *,
    label: str,
    start: date,
    end: date,
    site: str | None,
    costs: _Costs,
    produced: dict[str, Any],
    pool: str | None = None,
) -> CostToMine:
    days = (end - start).days + 1
    cash = costs.power - costs.credits - costs.to_hpc + costs.hosting + costs.other
    all_in = cash + costs.depreciation + sum((item.amount for item in costs.extras), ZERO)
    mined = produced["mined"] or Decimal(0)
    revenue = produced["value"] or ZERO
    hashrate = produced["hashrate"]
    phs = (Decimal(hashrate) / days / PETA) if hashrate else None
    kwh = costs.kwh
    ph_days = phs * days if phs else None
    return CostToMine(
        label=label,
        start=start,
        end=end,
        site=site,
        days=days,
        btc_mined=mined,
        power=costs.power,
        power_credits=costs.credits,
        power_to_hpc=costs.to_hpc,
        hosting=costs.hosting,
        other_direct=costs.other,
        cash_cost=cash,
        depreciation=costs.depreciation,
        extras=costs.extras,
        all_in_cost=all_in,
        cash_cost_per_btc=_per(cash, mined),
        all_in_cost_per_btc=_per(all_in, mined),
        mining_revenue=revenue,
        average_hashrate_phs=phs.quantize(Decimal("0.001"), ROUND_HALF_EVEN) if phs else None,
        hashprice=_per(revenue, ph_days),
        hashcost=_per(cash, ph_days),
        all_in_hashcost=_per(all_in, ph_days),
        kwh=kwh,
        power_cost_per_kwh=_per(costs.power - costs.credits - costs.to_hpc, kwh, "0.0001"),
        joules_per_th=(
            _per(kwh * JOULES_PER_KWH, phs * 1000 * days * SECONDS_PER_DAY)  # PH/s to TH/s
            if kwh and phs
            else None
        ),
        pool=pool,
    )


def cost_to_mine_for(*, label: str, start: date, end: date, site: Site | None) -> CostToMine:
    return _assemble(
        label=label,
        start=start,
        end=end,
        site=site.code if site else None,
        costs=_site_costs(site, start, end),
        produced=_production(site, start, end),
    )


def _span_count(start: date, end: date, by: str) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    count = {"month": months, "quarter": (months + 2) // 3 + 1, "year": end.year - start.year + 1}
    if count[by] > MAX_ROWS:
        raise HoldingsError(
            f"the range makes about {count[by]} rows by {by}; at most {MAX_ROWS}", field="end"
        )
    return count[by]


def cost_to_mine(
    *, start: date, end: date, site: Site | str | None = None, group_by: str | None = None
) -> CostToMineReport:
    """The cost to mine from `start` to `end` (UTC, both included), optionally one site's,
    one row per month, quarter, year or site, and the total."""
    if start > end:
        raise HoldingsError(f"end must not be before start ({start.isoformat()})", field="end")
    if group_by not in (None, "", *GROUPS):
        raise HoldingsError(f"group_by must be one of {', '.join(GROUPS)}", field="group_by")
    site_obj = site
    if isinstance(site, str):
        site_obj = Site.objects.filter(code=site).first()
        if site_obj is None:
            raise HoldingsError(f"no site {site!r}", field="site")
    assert site_obj is None or isinstance(site_obj, Site)
    if group_by == "site":
        sites = [site_obj] if site_obj is not None else list(Site.objects.order_by("code"))
        rows = [cost_to_mine_for(label=s.code, start=start, end=end, site=s) for s in sites]
    elif group_by == "pool":
        rows = cost_to_mine_by_pool(start=start, end=end, site=site_obj)
    elif group_by:
        return _by_period(start, end, site_obj, group_by)
    else:
        rows = []
    total = cost_to_mine_for(label="Total", start=start, end=end, site=site_obj)
    return CostToMineReport(
        start=start,
        end=end,
        site=site_obj.code if site_obj else None,
        group_by=group_by or None,
        rows=rows,
        total=total,
        extra_names=[name for name, _ in extra_items()],
    )


def _by_period(start: date, end: date, site: Site | None, by: str) -> CostToMineReport:
    """A row per month, quarter or year and the total: every cost line of every row read in
    one query, and the total's production added up from the rows' (the periods partition
    the range; its energy and HPC share are its own, as they do not add up)."""
    spans = periods(start, end, by) if _span_count(start, end, by) else []
    *costs, whole_costs = _site_costs_over(
        site, [(first, last) for _label, first, last in spans] + [(start, end)]
    )
    produced = _production_by_period(site, start, end, by, [first for _l, first, _e in spans])
    code = site.code if site else None
    rows = [
        _assemble(label=label, start=first, end=last, site=code, costs=part, produced=made)
        for (label, first, last), part, made in zip(spans, costs, produced, strict=True)
    ]
    whole = {key: _added(made[key] for made in produced) for key in ("mined", "value", "hashrate")}
    total = _assemble(
        label="Total", start=start, end=end, site=code, costs=whole_costs, produced=whole
    )
    return CostToMineReport(
        start=start,
        end=end,
        site=code,
        group_by=by,
        rows=rows,
        total=total,
        extra_names=[name for name, _ in extra_items()],
    )


def _added(sums: Iterable[Decimal | None]) -> Decimal | None:
    """Sums of parts added up, None when every part had nothing (as SQL's SUM)."""
    present = [part for part in sums if part is not None]
    return exact_sum(present) if present else None


# --- by pool -----------------------------------------------------------------------------

_LINES = ("power", "credits", "to_hpc", "hosting", "other", "depreciation")


def _kwh_parts(kwh: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """`kwh` split pro rata to the watt-hour, the parts adding up to it."""
    return [part / 10 for part in allocate(kwh.quantize(Decimal("0.001")) * 10, weights)]


def _sum_costs(parts: list[_Costs], names: list[str]) -> _Costs:
    kwhs = [part.kwh for part in parts if part.kwh is not None]
    return _Costs(
        **{line: sum((getattr(part, line) for part in parts), ZERO) for line in _LINES},
        extras=[
            ExtraItem(name, sum((part.extras[i].amount for part in parts), ZERO))
            for i, name in enumerate(names)
        ],
        kwh=sum(kwhs, Decimal("0.000")) if kwhs else None,
    )


def _shares(costs: _Costs, weights: list[Decimal]) -> list[_Costs]:
    """A site's costs split between its pools by `weights` (BTC mined), each line to the
    cent, the parts adding up to the site's."""
    lines = {line: allocate(getattr(costs, line), weights) for line in _LINES}
    extras = [allocate(item.amount, weights) for item in costs.extras]
    kwh = _kwh_parts(costs.kwh, weights) if costs.kwh is not None else None
    return [
        _Costs(
            **{line: parts[i] for line, parts in lines.items()},
            extras=[ExtraItem(item.name, extras[n][i]) for n, item in enumerate(costs.extras)],
            kwh=kwh[i] if kwh is not None else None,
        )
        for i in range(len(weights))
    ]


def cost_to_mine_by_pool(*, start: date, end: date, site: Site | None = None) -> list[CostToMine]:
    """One row per pool that mined BTC in the period (the site's pool accounts only, with
    `site`): its own production, and each site's costs attributed to the pools in proportion
    to the BTC that site's pool accounts mined there in the period. Costs no pool can take
    (a site that mined nothing, a cost booked to no site) are the row Unattributed, so the
    rows add up to the total."""
    records = _records(site, start, end)
    produced = {
        row["pool_account__pool__code"]: row
        for row in records.values("pool_account__pool__code").annotate(
            mined=Sum("net"), value=Sum("value"), hashrate=Sum("hashrate_hs")
        )
    }
    mined_at: dict[int, dict[str, Decimal]] = {}
    for row in (
        records.filter(pool_account__site__isnull=False)
        .values("pool_account__site_id", "pool_account__pool__code")
        .annotate(mined=Sum("net"))
        .order_by("pool_account__pool__code")
    ):
        if row["mined"] and row["mined"] > 0:
            mined_at.setdefault(row["pool_account__site_id"], {})[
                row["pool_account__pool__code"]
            ] = row["mined"]
    names = [name for name, _ in extra_items()]
    taken: dict[str, list[_Costs]] = {pool: [] for pool in produced}
    for each in [site] if site is not None else Site.objects.filter(pk__in=list(mined_at)):
        weights = mined_at.get(each.pk)
        if not weights:
            continue
        pools = list(weights)
        for pool, part in zip(
            pools, _shares(_site_costs(each, start, end), [weights[p] for p in pools]), strict=True
        ):
            taken[pool].append(part)
    code = site.code if site is not None else None
    rows = [
        _assemble(
            label=pool,
            start=start,
            end=end,
            site=code,
            costs=_sum_costs(taken[pool], names),
            produced=produced[pool],
            pool=pool,
        )
        for pool in sorted(produced)
    ]
    whole = _site_costs(site, start, end)
    attributed = _sum_costs([_sum_costs(taken[pool], names) for pool in produced], names)
    left = _Costs(
        **{line: getattr(whole, line) - getattr(attributed, line) for line in _LINES},
        extras=[
            ExtraItem(item.name, item.amount - attributed.extras[i].amount)
            for i, item in enumerate(whole.extras)
        ],
        kwh=None,
    )
    if any(getattr(left, line) for line in _LINES) or any(i.amount for i in left.extras):
        nothing = {"mined": None, "value": None, "hashrate": None}
        rows.append(
            _assemble(
                label=UNATTRIBUTED, start=start, end=end, site=code, costs=left, produced=nothing
            )
        )
    return rows


def site_costs_between(*, start: date, end: date, site: Site | None = None) -> QuerySet[SiteCost]:
    """The standing invoices and accruals whose entries fall in [start, end]: what the
    report's costs are made of."""
    costs = standing_costs().filter(period_end__gte=start, period_end__lte=end)
    if site is not None:
        costs = costs.filter(site=site)
    return costs.select_related("site", "entry").order_by("period_end", "site__code", "kind")


# --- gross profit ------------------------------------------------------------------------


@dataclass(frozen=True)
class GrossProfit:
    revenue: Decimal  # mining and HPC revenue
    cost_of_revenue: Decimal  # power less credits, hosting, other direct costs
    gross_profit: Decimal
    depreciation: Decimal
    segments: list[Segment]


def gross_profit(*, start: date, end: date) -> GrossProfit:
    """The income statement's gross profit lines for a period, as presented (income and
    costs positive)."""
    revenue = -_moved([chart.MINING_REVENUE, chart.HPC_REVENUE], None, start, end)
    cost = _moved(list(chart.COST_OF_REVENUE), None, start, end)
    depreciation = _moved(list(chart.DEPRECIATION_EXPENSES), None, start, end)
    return GrossProfit(
        revenue=revenue,
        cost_of_revenue=cost,
        gross_profit=revenue - cost,
        depreciation=depreciation,
        segments=segments(start=start, end=end, cost_of_revenue=cost),
    )
