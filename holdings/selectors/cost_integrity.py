"""The cost subledgers against the journal, for the nightly internal check
(holdings.selectors.integrity): each account the cost documents alone post to equals the
documents that stand at the end of the day, and the meter readings equal their files and
the HPC revenue that used them. No side effects.

- accrued site costs (2200 and its site accounts) = the accruals posted by the day less
  those the invoices posted by the day reversed;
- vendor deposits (1500) = the deposits paid by the day less what the receipts by the day
  applied;
- each asset class's cost and accumulated depreciation accounts = its register;
- HPC revenue (4200 and its site accounts) = the months' HPC revenue documents;
- meter readings: each file holds the readings it counted, and each site's month of HPC
  revenue took the HPC kWh the readings of that month hold.

A document stands at the end of the day unless a cancellation of its entry, approved, was
posted by then.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, QuerySet, Sum

from holdings import chart
from holdings.models import (
    CostFileKind,
    CostOrigin,
    CostStatus,
    FixedAsset,
    HpcRevenue,
    ItemStatus,
    MeterReading,
    SiteCost,
    SiteCostFile,
    VendorDeposit,
)
from holdings.selectors.fixed_assets import asset_rollforward, month_end
from holdings.selectors.reconciliation import Finding, compare_amounts
from ledger import selectors as ledger_selectors
from ledger.models import Cancellation, CancellationStatus

ZERO = Decimal("0.00")
USD = "USD"


def _balance(code: str, as_of: date) -> Decimal:
    return ledger_selectors.account_value(code=code, as_of=as_of)


def _standing(documents: QuerySet[Any], as_of: date, entry: str = "entry") -> QuerySet[Any]:
    """The documents whose entry no approved cancellation had reversed by `as_of`."""
    reversed_by_then = Cancellation.objects.filter(
        entry=OuterRef(entry), status=CancellationStatus.APPROVED, effective_date__lte=as_of
    )
    return documents.exclude(Exists(reversed_by_then))


def _total(documents: QuerySet[Any], column: str) -> Decimal:
    return documents.aggregate(total=Sum(column))["total"] or ZERO


def accrued_site_costs(as_of: date) -> Finding:
    posted = _standing(SiteCost.objects.filter(status=CostStatus.POSTED), as_of).filter(
        period_end__lte=as_of
    )
    accrued = _total(posted.filter(origin=CostOrigin.ACCRUAL), "amount")
    reversed_ = _total(
        posted.exclude(origin=CostOrigin.ACCRUAL).filter(reverses__isnull=False),
        "reverses__amount",
    )
    return compare_amounts(
        subject_type="account",
        subject=chart.ACCRUED_SITE_COSTS,
        check="accrued_site_costs",
        commodity=USD,
        ledger=-_balance(chart.ACCRUED_SITE_COSTS, as_of),
        source=accrued - reversed_,
        source_name="open accruals",
        what=f"accrued power and hosting (2200) at the end of {as_of}",
        details={"accrued": str(accrued), "reversed_by_invoices": str(reversed_)},
    )


def vendor_deposits(as_of: date) -> Finding:
    paid = _total(_standing(VendorDeposit.objects.filter(paid_on__lte=as_of), as_of), "amount")
    receipts = FixedAsset.objects.filter(received_on__lte=as_of, deposit__isnull=False)
    applied = _total(_standing(receipts, as_of, "receipt_entry"), "deposit_applied")
    return compare_amounts(
        subject_type="account",
        subject=chart.VENDOR_DEPOSITS,
        check="vendor_deposits",
        commodity=USD,
        ledger=_balance(chart.VENDOR_DEPOSITS, as_of),
        source=paid - applied,
        source_name="deposits not yet applied",
        what=f"vendor deposits (1500) at the end of {as_of}",
        details={"paid": str(paid), "applied": str(applied)},
    )


def fixed_assets(as_of: date) -> list[Finding]:
    findings = []
    for line in asset_rollforward(start=as_of, end=as_of):
        klass = line.asset_class
        for account, ledger, register, what in (
            (klass.cost_account, line.ledger_cost, line.closing_cost, "cost"),
            (
                klass.accumulated_account,
                line.ledger_accumulated,
                line.closing_accumulated,
                "accumulated depreciation",
            ),
        ):
            findings.append(
                compare_amounts(
                    subject_type="account",
                    subject=account,
                    check="fixed_assets",
                    commodity=USD,
                    ledger=ledger,
                    source=register,
                    source_name="register",
                    what=f"{klass.code} {what} ({account}) at the end of {as_of}",
                    details={"asset_class": klass.code},
                )
            )
    return findings


def hpc_revenue(as_of: date) -> Finding:
    documents = _standing(HpcRevenue.objects.all(), as_of)
    recognised = sum(
        (r.amount for r in documents.only("month", "amount") if month_end(r.month) <= as_of),
        ZERO,
    )
    return compare_amounts(
        subject_type="account",
        subject=chart.HPC_REVENUE,
        check="hpc_revenue",
        commodity=USD,
        ledger=-_balance(chart.HPC_REVENUE, as_of),
        source=recognised,
        source_name="HPC revenue documents",
        what=f"HPC revenue (4200) through the end of {as_of}",
    )


def _reading_break(subject: str, message: str, **details: Any) -> Finding:
    return Finding(
        subject_type="meter_readings",
        subject=subject,
        check="meter_readings",
        status=ItemStatus.UNMATCHED,
        message=message,
        source="meter readings",
        details={key: str(value) for key, value in details.items()},
    )


def meter_readings(as_of: date) -> list[Finding]:
    findings = []
    files = (
        SiteCostFile.objects.filter(kind=CostFileKind.METER_READINGS)
        .annotate(held=Count("readings"))
        .exclude(held=F("rows"))
        .order_by("id")
    )
    for file in files:
        findings.append(
            _reading_break(
                f"file {file.pk}",
                f"meter reading file {file.file_name} counted {file.rows} readings but "
                f"{file.held} are recorded from it",
                file=file.pk,
                rows=file.rows,
                held=file.held,
            )
        )
    used = (
        _standing(HpcRevenue.objects.all(), as_of)
        .filter(month__lte=as_of)
        .values("contract__site_id", "contract__site__code", "month")
        .annotate(kwh=Sum("usage_kwh"))
        .order_by("contract__site__code", "month")
    )
    for row in used:
        month = row["month"]
        metered = MeterReading.objects.filter(
            site_id=row["contract__site_id"],
            period_start__gte=month,
            period_end__lte=month_end(month),
        ).aggregate(hpc=Sum("hpc_kwh"))["hpc"] or Decimal(0)
        if metered != row["kwh"]:
            site = row["contract__site__code"]
            findings.append(
                _reading_break(
                    f"{site} {month:%Y-%m}",
                    f"the HPC revenue of {site} for {month:%Y-%m} used {row['kwh']} kWh but "
                    f"the meter readings of the month hold {metered} kWh of HPC",
                    site=site,
                    month=f"{month:%Y-%m}",
                    revenue_kwh=row["kwh"],
                    metered_kwh=metered,
                )
            )
    if not findings:
        findings.append(
            Finding(
                subject_type="ledger",
                subject="meter readings",
                check="meter_readings",
                status=ItemStatus.MATCHED,
                message="every meter reading file holds the readings it counted, and the HPC "
                "revenue took the kWh the readings hold",
                source="meter readings",
            )
        )
    return findings


def _recorded() -> bool:
    return any(
        model.objects.exists()
        for model in (SiteCost, VendorDeposit, FixedAsset, HpcRevenue, MeterReading)
    )


def cost_findings(as_of: date) -> list[Finding]:
    """Every check above at the end of `as_of`: each break, or one finding saying they all
    match (none before any cost document is recorded)."""
    if not _recorded():
        return []
    found = [
        accrued_site_costs(as_of),
        vendor_deposits(as_of),
        *fixed_assets(as_of),
        hpc_revenue(as_of),
        *meter_readings(as_of),
    ]
    breaks = [finding for finding in found if finding.status != ItemStatus.MATCHED]
    if breaks:
        return breaks
    return [
        Finding(
            subject_type="ledger",
            subject="cost subledgers",
            check="cost_subledgers",
            status=ItemStatus.MATCHED,
            message=f"at the end of {as_of} the cost documents equal the journal: "
            + "; ".join(finding.message for finding in found),
            source="cost documents",
        )
    ]
