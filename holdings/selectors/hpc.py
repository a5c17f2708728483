"""The HPC segment read: how much of a shared site's power HPC takes, and each segment's
revenue, cost of revenue and gross profit. No side effects.

A site's power (net of its credits) is shared between mining and HPC by the kWh its HPC
sub-meter recorded over the site's meter, where its readings have them; otherwise by
capacity: the MW contracted to HPC customers (day by day over the period) against the
rated draw of the mining machines in service there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.db.models import Q, QuerySet, Sum

from holdings import chart
from holdings.models import AssetClass, FixedAsset, HpcContract, MeterReading, Site
from holdings.selectors.fixed_assets import add_months
from ledger.models import Account
from ledger.selectors import value_moved

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
SHARE_PLACES = Decimal("0.000001")


def contract_end(contract: HpcContract) -> date:
    """The first day after the contract's term."""
    return add_months(contract.start, contract.term_months)


def active_days(contract: HpcContract, start: date, end: date) -> int:
    """Days of [start, end] (both included) within the contract's term."""
    first = max(start, contract.start)
    stop = min(end + timedelta(days=1), contract_end(contract))
    return max((stop - first).days, 0)


def site_contracts(site: Site, start: date, end: date) -> list[HpcContract]:
    return [
        c
        for c in HpcContract.objects.filter(site=site, start__lte=end).order_by("code")
        if active_days(c, start, end) > 0
    ]


@dataclass(frozen=True)
class PowerShare:
    share: Decimal  # HPC's share of the site's power, 0 to 1
    basis: str  # "metered kWh", "contracted MW" or "none"


def hpc_power_share(site: Site, start: date, end: date) -> PowerShare:
    readings = MeterReading.objects.filter(
        site=site, period_start__gte=start, period_end__lte=end
    ).aggregate(kwh=Sum("kwh"), hpc=Sum("hpc_kwh"))
    if readings["kwh"] and readings["hpc"]:
        share = (readings["hpc"] / readings["kwh"]).quantize(SHARE_PLACES, ROUND_HALF_EVEN)
        return PowerShare(share, "metered kWh")
    contracts = site_contracts(site, start, end)
    if not contracts:
        return PowerShare(Decimal(0), "none")
    days = (end - start).days + 1
    hpc_mw = sum((c.capacity_mw * active_days(c, start, end) for c in contracts), Decimal(0))
    hpc_mw /= days
    mining_classes = AssetClass.objects.filter(mining=True)
    mining_kw = FixedAsset.objects.filter(
        Q(disposed_on__isnull=True) | Q(disposed_on__gt=start),
        site=site,
        asset_class__in=mining_classes,
        in_service_on__lte=end,
        power_kw__isnull=False,
    ).aggregate(kw=Sum("power_kw"))["kw"] or Decimal(0)
    whole = hpc_mw + mining_kw / 1000
    share = (hpc_mw / whole).quantize(SHARE_PLACES, ROUND_HALF_EVEN)
    return PowerShare(share, "contracted MW")


def _site_moved(parent: str, site: Site, start: date, end: date) -> Decimal:
    account = Account.objects.filter(code=f"{parent}-{site.code}").first()
    if account is None:
        return ZERO
    return value_moved(account_ids=[account.pk], start=start, end=end)


def hpc_power_cost(site: Site, start: date, end: date) -> Decimal:
    """The site's power, net of its credits, that HPC took, to the cent."""
    share = hpc_power_share(site, start, end).share
    if not share:
        return ZERO
    power = _site_moved(chart.POWER_COST, site, start, end)
    power += _site_moved(chart.POWER_CREDITS, site, start, end)  # credits are negative
    return (power * share).quantize(CENT, ROUND_HALF_EVEN)


def _sharing(start: date, end: date) -> tuple[QuerySet[HpcContract], QuerySet[MeterReading]]:
    """What makes a site share its power with HPC in [start, end]: a contract begun by its
    end, or HPC kWh metered within it."""
    return (
        HpcContract.objects.filter(start__lte=end),
        MeterReading.objects.filter(period_start__gte=start, period_end__lte=end, hpc_kwh__gt=0),
    )


def any_shared(start: date, end: date) -> bool:
    """Whether any site shares its power with HPC in some part of [start, end]: when none
    does, no part of the range has a site to look at."""
    contracts, readings = _sharing(start, end)
    return contracts.exists() or readings.exists()


def shared_sites(start: date, end: date) -> list[Site]:
    """Sites with an HPC contract or HPC kWh in the period."""
    contracts, readings = _sharing(start, end)
    ids = set(contracts.values_list("site_id", flat=True))
    ids |= set(readings.values_list("site_id", flat=True))
    return list(Site.objects.filter(pk__in=ids).order_by("code"))


def hpc_power_total(start: date, end: date, site: Site | None = None) -> Decimal:
    sites = [site] if site is not None else shared_sites(start, end)
    return sum((hpc_power_cost(s, start, end) for s in sites), ZERO)


@dataclass(frozen=True)
class Segment:
    name: str
    revenue: Decimal
    cost_of_revenue: Decimal

    @property
    def gross_profit(self) -> Decimal:
        return self.revenue - self.cost_of_revenue


def segments(*, start: date, end: date, cost_of_revenue: Decimal) -> list[Segment]:
    """Mining and HPC: each one's revenue, cost of revenue (HPC: the power it took; mining:
    the rest of the cost of revenue) and gross profit."""
    revenue = {}
    for name, parent in (("Mining", chart.MINING_REVENUE), ("HPC", chart.HPC_REVENUE)):
        accounts = Account.objects.filter(Q(code=parent) | Q(code__startswith=f"{parent}-"))
        ids = list(accounts.values_list("id", flat=True))
        revenue[name] = -value_moved(account_ids=ids, start=start, end=end)
    hpc_cost = hpc_power_total(start, end)
    return [
        Segment("Mining", revenue["Mining"], cost_of_revenue - hpc_cost),
        Segment("HPC", revenue["HPC"], hpc_cost),
    ]
