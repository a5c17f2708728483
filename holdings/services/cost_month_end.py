"""The month-end work on costs, in one transaction: each site's power and hosting not yet
invoiced accrued, every asset in service depreciated through the month's end, the month's
HPC revenue recognised. Each part posts nothing twice, so running it again changes
nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction

from holdings.models import AssetEvent, HpcRevenue, SiteCost
from holdings.selectors.fixed_assets import month_end
from holdings.services import costs, fixed_assets, hpc
from ledger.dates import check_posting_date


@dataclass(frozen=True)
class MonthEnd:
    month: date  # its first day
    accruals: list[SiteCost]
    depreciation: list[AssetEvent]
    hpc_revenue: list[HpcRevenue]


def costs_month_end(*, month: date, accruals: bool = True, by: Any = None) -> MonthEnd:
    """The month-end work on costs for `month` (any day of it)."""
    first = month.replace(day=1)
    check_posting_date(month_end(first), field="month")
    with transaction.atomic():
        accrued = costs.site_costs_accrue(month=first, by=by) if accruals else []
        depreciated = fixed_assets.depreciation_run(through=month_end(first), by=by)
        revenue = hpc.hpc_revenue_recognize(month=first, by=by)
    return MonthEnd(first, accrued, depreciated, revenue)
