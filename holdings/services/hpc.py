"""The HPC segment written: contracts, and their revenue recognised over time.

Each month end, every contract in service that month earns its fixed fee for the days in
service (the month's fee times those days over the month's days, to the cent) and its usage
fee on the kWh the site's HPC sub-meter recorded in the month (shared between the site's
contracts by contracted MW): Dr 1350 HPC receivables / Cr 4200 HPC revenue (the site's
account). A month's revenue is a document, undone only by its cancellation.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum

from holdings import chart
from holdings.errors import HoldingsError
from holdings.models import HpcContract, HpcRevenue, MeterReading, Site
from holdings.selectors.fixed_assets import month_end
from holdings.selectors.hpc import active_days, site_contracts
from holdings.services.costs import site_account
from holdings.valuation import allocate, share
from ledger import services as ledger_services
from ledger.cancellations import DocumentType, register_document
from ledger.dates import REPORT_CEILING
from ledger.errors import Forbidden
from ledger.models import CancellationStatus, JournalEntry
from ledger.money import fits_scale
from ledger.roles import OPERATE_ROLES, has_any_role

HPC_KIND = "hpc_revenue"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class HpcRefused(HoldingsError):
    code = "hpc_refused"


def hpc_contract_create(
    *,
    code: str,
    customer: str,
    site: Site | str,
    capacity_mw: Decimal,
    monthly_fee: Decimal,
    usage_rate: Decimal,
    start: date,
    term_months: int,
    by: Any = None,
) -> HpcContract:
    if by is not None and not has_any_role(by, OPERATE_ROLES):
        raise Forbidden("only finance staff and approvers record a contract", field="by")
    site_obj = site if isinstance(site, Site) else Site.objects.filter(code=site).first()
    if site_obj is None:
        raise HpcRefused(f"no site {site!r}", field="site")
    if not customer.strip():
        raise HpcRefused("a contract names its customer", field="customer")
    if capacity_mw <= 0 or not fits_scale(capacity_mw, 3):
        raise HpcRefused("capacity_mw is a positive number of MW, to 3 places", field="capacity_mw")
    if monthly_fee < 0 or not fits_scale(monthly_fee, 2):
        raise HpcRefused("monthly_fee is USD to the cent, not negative", field="monthly_fee")
    if usage_rate < 0 or not fits_scale(usage_rate, 6):
        raise HpcRefused("usage_rate is USD per kWh to 6 places", field="usage_rate")
    if not 1 <= term_months <= 600:
        raise HpcRefused("term_months must be 1 to 600", field="term_months")
    # Its term is worked out on every read: it must end on a date the ledger can show.
    if (start.year * 12 + start.month - 1 + term_months) // 12 > REPORT_CEILING.year:
        raise HpcRefused(
            f"a contract starting {start.isoformat()} for {term_months} months would end after "
            f"{REPORT_CEILING.isoformat()}, the latest date the ledger takes",
            field="start",
        )
    with transaction.atomic():
        if HpcContract.objects.filter(code=code).exists():
            raise HpcRefused(f"contract {code} already exists", field="code")
        return HpcContract.objects.create(
            code=code,
            customer=customer.strip(),
            site=site_obj,
            capacity_mw=capacity_mw,
            monthly_fee=monthly_fee,
            usage_rate=usage_rate,
            start=start,
            term_months=term_months,
            created_by=by if getattr(by, "pk", None) else None,
        )


def _standing(contract: HpcContract, month: date) -> bool:
    return (
        HpcRevenue.objects.filter(contract=contract, month=month)
        .exclude(entry__cancellations__status=CancellationStatus.APPROVED)
        .exists()
    )


def hpc_revenue_recognize(*, month: date, by: Any = None) -> list[HpcRevenue]:
    """Recognise `month`'s revenue of every contract in service in it; again: nothing twice."""
    first = month.replace(day=1)
    last = month_end(first)
    month_days = Decimal((last - first).days + 1)
    posted = []
    with transaction.atomic():
        for site in Site.objects.filter(hpc_contracts__isnull=False).distinct().order_by("code"):
            contracts = site_contracts(site, first, last)
            if not contracts:
                continue
            metered = MeterReading.objects.filter(
                site=site, period_start__gte=first, period_end__lte=last
            ).aggregate(hpc=Sum("hpc_kwh"))["hpc"] or Decimal(0)
            # The site's HPC kWh shared between its contracts by MW, to the watt-hour.
            weights = [c.capacity_mw for c in contracts]
            kwh_shares = [
                k / 10 for k in allocate(metered.quantize(Decimal("0.001")) * 10, weights)
            ]
            for contract, kwh in zip(contracts, kwh_shares, strict=True):
                if _standing(contract, first):
                    continue
                days = active_days(contract, first, last)
                fixed = share(contract.monthly_fee, Decimal(days), month_days)
                usage = (kwh * contract.usage_rate).quantize(CENT, ROUND_HALF_EVEN)
                amount = fixed + usage
                if amount <= 0:
                    continue
                attempt = HpcRevenue.objects.filter(contract=contract, month=first).count()
                entry = ledger_services.entry_post(
                    effective_date=last,
                    memo=f"HPC revenue of contract {contract.code} ({contract.customer}) for "
                    f"{first:%Y-%m}: {days} day(s), {kwh} kWh",
                    postings=[
                        (chart.HPC_RECEIVABLES, amount, amount),
                        (site_account(chart.HPC_REVENUE, site), -amount, -amount),
                    ],
                    idempotency_key=f"{HPC_KIND}:{contract.pk}:{first:%Y-%m}:{attempt}",
                    kind=HPC_KIND,
                    created_by=by if getattr(by, "pk", None) else None,
                )
                posted.append(
                    HpcRevenue.objects.create(
                        contract=contract,
                        month=first,
                        days=days,
                        fixed_fee=fixed,
                        usage_kwh=kwh,
                        usage_fee=usage,
                        amount=amount,
                        entry=entry,
                    )
                )
    return posted


def _describe(entry: JournalEntry) -> str:
    revenue = HpcRevenue.objects.filter(entry=entry).select_related("contract").first()
    if revenue is None:
        return f"HPC revenue of entry #{entry.sequence}"
    return f"HPC revenue of contract {revenue.contract.code} for {revenue.month:%Y-%m}"


def register() -> None:
    register_document(
        (HPC_KIND,), DocumentType(_describe, lambda entry, on: None, lambda e, r, on: None)
    )
