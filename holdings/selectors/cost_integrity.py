"""The cost subledgers against the journal, for the nightly internal check
(holdings.selectors.integrity): each account the cost documents alone post to equals the
documents that stand at the end of the day, and the meter readings equal their files and
the HPC revenue that used them. No side effects.

- each site cost's, vendor deposit's, fixed asset receipt's, asset event's and HPC revenue's
  entry posts, account by account, what the document makes of it (as PostgreSQL holds them
  at each write since holdings migrations 0050 to 0053);
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

from django.db import connection
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
from holdings.selectors.reconciliation import Finding, clean_finding, compare_amounts
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


def site_cost_entries() -> list[Finding]:
    """Each posted site cost against its entry, account by account: the kind's cost account
    of its site takes its cost (a power invoice's energy, demand and taxes, its credits apart),
    an accrual owes it in the site's accrued costs, an invoice in cash or vendor payables,
    and an invoice reversing an accrual takes the accrual out again. Found here: what a
    ledger of an earlier release holds, or what was written with the triggers off."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH costs AS (
                SELECT c.*, s.code AS site,
                       CASE c.kind WHEN 'power' THEN %(power)s WHEN 'hosting' THEN %(hosting)s
                            ELSE %(other)s END || '-' || s.code AS cost_account
                  FROM holdings_sitecost c JOIN holdings_site s ON s.id = c.site_id
                 WHERE c.entry_id IS NOT NULL
            ), wanted (id, code, value) AS (
                SELECT id, cost_account,
                       CASE WHEN origin <> 'accrual' AND kind = 'power'
                            THEN energy + demand + taxes ELSE amount END
                  FROM costs
                UNION ALL
                SELECT id, %(credits)s || '-' || site, -credits FROM costs
                 WHERE origin <> 'accrual' AND kind = 'power'
                UNION ALL
                SELECT id, %(accrued)s || '-' || site, -amount FROM costs
                 WHERE origin = 'accrual'
                UNION ALL
                SELECT id, CASE WHEN paid THEN %(cash)s ELSE %(payables)s END, -amount
                  FROM costs WHERE origin <> 'accrual'
                UNION ALL
                SELECT c.id, %(accrued)s || '-' || c.site, r.amount
                  FROM costs c JOIN holdings_sitecost r ON r.id = c.reverses_id
                 WHERE c.origin <> 'accrual'
                UNION ALL
                SELECT c.id, CASE r.kind WHEN 'power' THEN %(power)s
                                         WHEN 'hosting' THEN %(hosting)s
                                         ELSE %(other)s END || '-' || c.site, -r.amount
                  FROM costs c JOIN holdings_sitecost r ON r.id = c.reverses_id
                 WHERE c.origin <> 'accrual'
            ), wanted_by_account AS (
                SELECT id, code, sum(value) AS value FROM wanted GROUP BY id, code
            ), posted AS (
                SELECT c.id, a.code, sum(p.quantity) AS quantity, sum(p.value) AS value
                  FROM costs c
                  JOIN ledger_posting p ON p.entry_id = c.entry_id
                  JOIN ledger_account a ON a.id = p.account_id
                 GROUP BY c.id, a.code
            )
            SELECT 'site_cost', c.id::text,
                   format('site cost %%s (%%s %%s %%s of site %%s)', c.id, c.kind,
                          CASE WHEN c.origin = 'accrual' THEN 'accrual' ELSE 'invoice' END,
                          c.reference, c.site),
                   j.sequence, coalesce(w.code, p.code), coalesce(w.value, 0),
                   coalesce(p.quantity, 0), coalesce(p.value, 0)
              FROM wanted_by_account w
              FULL JOIN posted p ON p.id = w.id AND p.code = w.code
              JOIN costs c ON c.id = coalesce(w.id, p.id)
              JOIN ledger_journalentry j ON j.id = c.entry_id
             WHERE (coalesce(p.quantity, 0), coalesce(p.value, 0))
                   <> (coalesce(w.value, 0), coalesce(w.value, 0))
             ORDER BY 4, 5
            """,
            {
                "power": chart.POWER_COST,
                "hosting": chart.HOSTING_COST,
                "other": chart.OTHER_SITE_COST,
                "credits": chart.POWER_CREDITS,
                "accrued": chart.ACCRUED_SITE_COSTS,
                "cash": chart.CASH,
                "payables": chart.VENDOR_PAYABLES,
            },
        )
        rows = cursor.fetchall()
    return _entry_findings(
        rows,
        check="site_cost_entries",
        subject="site costs",
        clean="every site cost's entry posts what the document makes of each account",
    )


def cost_document_entries() -> list[Finding]:
    """Each vendor deposit's entry pays its amount from cash into vendor deposits; each fixed
    asset's receipt books its cost to its class's cost account, the deposit applied out of
    vendor deposits and the rest out of cash when paid, else vendor payables (or opening
    equity, owned at the opening); each depreciation, impairment and disposal posts what
    the event makes of its class's accounts and its site's; each month's HPC revenue is its
    fees, taken into HPC receivables and out of its site's HPC revenue. Found here: what a
    ledger of an earlier release holds, or what was written with the triggers off."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT 'vendor_deposit', d.reference, 'deposit ' || d.reference, j.sequence,
                   x.code, x.wanted, x.quantity, x.value
              FROM holdings_vendordeposit d
              JOIN ledger_journalentry j ON j.id = d.entry_id
             CROSS JOIN LATERAL holdings_posting_differs(d.entry_id, jsonb_build_object(
                       %(deposits)s::text, d.amount, %(cash)s::text, -d.amount)) x
            UNION ALL
            SELECT 'fixed_asset', a.code, 'the receipt of asset ' || a.code, j.sequence,
                   x.code, x.wanted, x.quantity, x.value
              FROM holdings_fixedasset a
              JOIN holdings_assetclass c ON c.id = a.asset_class_id
              JOIN ledger_journalentry j ON j.id = a.receipt_entry_id
             CROSS JOIN LATERAL (
                  SELECT CASE WHEN a.paid THEN %(cash)s::text
                              WHEN a.deposit_id IS NULL AND EXISTS (
                                  SELECT 1 FROM ledger_posting p
                                    JOIN ledger_account o ON o.id = p.account_id
                                   WHERE p.entry_id = a.receipt_entry_id
                                     AND o.code = %(opening)s)
                              THEN %(opening)s::text ELSE %(payables)s::text END AS code
             ) rest
             CROSS JOIN LATERAL holdings_posting_differs(a.receipt_entry_id, jsonb_build_object(
                       c.cost_account, a.cost, %(deposits)s::text, -a.deposit_applied,
                       rest.code, -(a.cost - a.deposit_applied))) x
            UNION ALL
            SELECT 'fixed_asset', a.code,
                   format('the %%s of asset %%s of %%s', e.kind, a.code, e.effective_date),
                   j.sequence, x.code, x.wanted, x.quantity, x.value
              FROM holdings_assetevent e
              JOIN holdings_fixedasset a ON a.id = e.asset_id
              JOIN holdings_assetclass c ON c.id = a.asset_class_id
              LEFT JOIN holdings_site s ON s.id = a.site_id
              JOIN ledger_journalentry j ON j.id = e.entry_id
             CROSS JOIN LATERAL holdings_posting_differs(e.entry_id, CASE e.kind
                  WHEN 'depreciation' THEN jsonb_build_object(
                      c.expense_account || '-' || s.code, e.amount,
                      c.accumulated_account, -e.amount)
                  WHEN 'impairment' THEN jsonb_build_object(
                      %(impairment)s || '-' || s.code, e.amount,
                      c.accumulated_account, e.accumulated,
                      c.cost_account, -(e.amount + e.accumulated))
                  WHEN 'disposal' THEN jsonb_build_object(
                      %(cash)s::text, e.proceeds,
                      c.accumulated_account, e.accumulated,
                      c.cost_account, -(e.carrying_value + e.accumulated),
                      %(disposal_gain)s::text, -e.amount)
                  ELSE '{}'::jsonb END) x
            UNION ALL
            SELECT 'hpc_revenue', format('%%s %%s', c.code, to_char(r.month, 'YYYY-MM')),
                   format('the HPC revenue of contract %%s for %%s', c.code,
                          to_char(r.month, 'YYYY-MM')),
                   j.sequence, x.code, x.wanted, x.quantity, x.value
              FROM holdings_hpcrevenue r
              JOIN holdings_hpccontract c ON c.id = r.contract_id
              JOIN holdings_site s ON s.id = c.site_id
              JOIN ledger_journalentry j ON j.id = r.entry_id
             CROSS JOIN LATERAL holdings_posting_differs(r.entry_id, jsonb_build_object(
                       %(hpc_receivables)s::text, r.amount,
                       %(hpc_revenue)s || '-' || s.code, -r.amount)) x
             ORDER BY 4, 5
            """,
            {
                "deposits": chart.VENDOR_DEPOSITS,
                "cash": chart.CASH,
                "payables": chart.VENDOR_PAYABLES,
                "opening": chart.OPENING_EQUITY,
                "impairment": chart.IMPAIRMENT,
                "disposal_gain": chart.DISPOSAL_GAIN,
                "hpc_receivables": chart.HPC_RECEIVABLES,
                "hpc_revenue": chart.HPC_REVENUE,
            },
        )
        rows = cursor.fetchall()
    return _entry_findings(
        rows,
        check="cost_document_entries",
        subject="cost documents",
        clean="every vendor deposit's, fixed asset receipt's, asset event's and HPC revenue's "
        "entry posts what the document makes of each account",
    )


def _entry_findings(
    rows: list[tuple[Any, ...]], *, check: str, subject: str, clean: str
) -> list[Finding]:
    """One finding per (subject type, subject, label, entry sequence, account, wanted,
    posted quantity, posted value) a query found, else one saying all match."""
    if not rows:
        return [clean_finding(check, clean, subject=subject, source=subject)]
    return [
        Finding(
            subject_type=subject_type,
            subject=document,
            check=check,
            status=ItemStatus.UNMATCHED,
            message=(
                f"{label} makes {wanted} USD of account {code}, but its entry #{sequence} posts "
                f"{quantity} at {value}"
            ),
            commodity=USD,
            ledger_amount=value,
            source_amount=wanted,
            source=subject,
            details={"entry_sequence": sequence, "account": code},
        )
        for subject_type, document, label, sequence, code, wanted, quantity, value in rows
    ]


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
        *site_cost_entries(),
        *cost_document_entries(),
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
