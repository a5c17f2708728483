"""Site costs: power, hosting and other direct costs posted through the ledger, by site.

A file of invoices (holdings/importers/site_costs.py) is posted all or nothing, each invoice
an entry dated the last day it covers; an invoice a person types waits for a finance
approver other than its author, and is posted when approved. At a month end, each site's
power and hosting not yet invoiced for the month is accrued from the site's latest invoice,
day for day; the invoice, when it arrives, reverses the accrual in its own entry. An entry
is undone only by its document's cancellation (ledger.cancellations), asked for by one
person and approved by another.

Entries (each site's cost in its own child account, `<parent>-<site>`):
- power invoice: Dr 5000 charges (energy, demand, taxes) / Cr 5010 credits / Cr 2210 (or
  1000 when paid) what is owed;
- hosting or other invoice: Dr 5020 or 5030 / Cr 2210 (or 1000);
- accrual: Dr 5000 or 5020 / Cr 2200; reversed by its invoice: Dr 2200 / Cr 5000 or 5020.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from holdings import chart
from holdings.errors import HoldingsError, ImportFailed
from holdings.importers.site_costs import (
    CostFileError,
    InvoiceLine,
    MeterLine,
    parse_invoices,
    parse_meter_readings,
)
from holdings.models import (
    CostFileKind,
    CostKind,
    CostOrigin,
    CostStatus,
    MeterReading,
    Site,
    SiteCost,
    SiteCostFile,
)
from holdings.valuation import share
from ledger import services as ledger_services
from ledger.cancellations import DocumentType, register_document
from ledger.errors import Forbidden, InvalidState, LedgerError
from ledger.models import Account, CancellationStatus, JournalEntry
from ledger.roles import APPROVE_ROLES, OPERATE_ROLES, has_any_role
from ledger.services import EntryInput

INVOICE_KIND = "site_cost"
ACCRUAL_KIND = "cost_accrual"
COST_ACCOUNTS = {
    CostKind.POWER: chart.POWER_COST,
    CostKind.HOSTING: chart.HOSTING_COST,
    CostKind.OTHER: chart.OTHER_SITE_COST,
}
# Kinds accrued at a month end when their invoice has not arrived.
ACCRUED_KINDS = (CostKind.POWER, CostKind.HOSTING)
ZERO = Decimal("0.00")


class CostRefused(HoldingsError):
    code = "cost_refused"


# --- accounts ----------------------------------------------------------------------------


def site_account(parent: str, site: Site) -> str:
    """The site's child of `parent` (`5000-SITE`), created the first time it is needed."""
    code = f"{parent}-{site.code}"
    if not Account.objects.filter(code=code).exists():
        parent_account = Account.objects.filter(code=parent).first()
        if parent_account is None:
            raise CostRefused(
                f"account {parent} is not in the chart: load the chart (manage.py load_chart)",
                field="site",
            )
        ledger_services.account_create(
            code=code,
            name=f"{parent_account.name}: {site.code}",
            type=parent_account.type,
            commodity=parent_account.commodity_id,
            parent=parent,
        )
    return code


# --- which documents stand ---------------------------------------------------------------


def live_costs() -> QuerySet[SiteCost]:
    """Documents that stand: waiting for approval, or posted and not cancelled."""
    return SiteCost.objects.exclude(status=CostStatus.REJECTED).exclude(
        entry__cancellations__status=CancellationStatus.APPROVED
    )


OpenAccruals = dict[tuple[int, str, date], list[SiteCost]]


def _open_accruals(sites: Iterable[Site], period_ends: Iterable[date]) -> OpenAccruals:
    """The standing accruals of `sites` for the months of `period_ends` that no standing
    invoice has reversed yet, by site, kind and month, each group in the documents' order.
    Read once for a whole file of invoices rather than once an invoice."""
    reversed_ids = live_costs().filter(reverses__isnull=False).values("reverses_id")
    accruals = (
        live_costs()
        .filter(
            site__in=list(sites),
            origin=CostOrigin.ACCRUAL,
            status=CostStatus.POSTED,
            period_start__in={day.replace(day=1) for day in period_ends},
        )
        .exclude(pk__in=reversed_ids)
    )
    found: OpenAccruals = defaultdict(list)
    for accrual in accruals:
        found[accrual.site_id, accrual.kind, accrual.period_start].append(accrual)
    return found


def _take_accrual(
    accruals: OpenAccruals, site: Site, kind: str, period_end: date
) -> SiteCost | None:
    """The first of `accruals` of the site's `kind` for `period_end`'s month, taken out of
    them: the next invoice of that month reverses the next accrual, if any."""
    group = accruals.get((site.pk, kind, period_end.replace(day=1)))
    return group.pop(0) if group else None


# --- posting -----------------------------------------------------------------------------


def _memo(cost: SiteCost) -> str:
    if cost.origin == CostOrigin.ACCRUAL:
        return (
            f"Accrued {cost.get_kind_display().lower()} of {cost.site.code} for "
            f"{cost.period_start:%Y-%m} (invoice not yet received)"
        )
    vendor = f" from {cost.vendor}" if cost.vendor else ""
    return (
        f"{cost.get_kind_display()} invoice {cost.reference}{vendor}, site {cost.site.code}, "
        f"{cost.period_start} to {cost.period_end}"
    )


def _postings(cost: SiteCost) -> list[tuple[str, Decimal, Decimal]]:
    lines: dict[str, Decimal] = defaultdict(lambda: ZERO)
    site = cost.site
    cost_account = site_account(COST_ACCOUNTS[CostKind(cost.kind)], site)
    if cost.origin == CostOrigin.ACCRUAL:
        lines[cost_account] += cost.amount
        lines[site_account(chart.ACCRUED_SITE_COSTS, site)] -= cost.amount
    else:
        if cost.kind == CostKind.POWER:
            lines[cost_account] += cost.energy + cost.demand + cost.taxes
            if cost.credits:
                lines[site_account(chart.POWER_CREDITS, site)] -= cost.credits
        else:
            lines[cost_account] += cost.amount
        lines[chart.CASH if cost.paid else chart.VENDOR_PAYABLES] -= cost.amount
        accrual = cost.reverses
        if accrual is not None:
            lines[site_account(chart.ACCRUED_SITE_COSTS, site)] += accrual.amount
            lines[site_account(COST_ACCOUNTS[CostKind(accrual.kind)], site)] -= accrual.amount
    return [(code, value, value) for code, value in lines.items() if value != 0]


def _entry(cost: SiteCost) -> EntryInput:
    """The entry that posts `cost` (keyed by its id once it has one)."""
    kind = ACCRUAL_KIND if cost.origin == CostOrigin.ACCRUAL else INVOICE_KIND
    return EntryInput(
        effective_date=cost.period_end,
        memo=_memo(cost)[:1000],
        postings=_postings(cost),
        idempotency_key=None if cost.pk is None else f"{kind}:{cost.pk}",
        kind=kind,
    )


def _post(cost: SiteCost, *, by: Any, approved_by: Any = None) -> SiteCost:
    (entry,) = ledger_services.entries_post(
        entries=[_entry(cost)], created_by=by, approved_by=approved_by
    )
    cost.entry = entry
    cost.status = CostStatus.POSTED
    cost.save(update_fields=["entry", "status"])
    return cost


# --- invoices from a file ----------------------------------------------------------------


RecordedInvoices = dict[tuple[int, str, str], SiteCost]


def _recorded_invoices(sites: Iterable[Site], references: Iterable[str]) -> RecordedInvoices:
    """The standing documents of `sites` carrying one of `references`: the first of each
    site, vendor and reference, in the documents' order."""
    found: RecordedInvoices = {}
    for cost in live_costs().filter(site__in=list(sites), reference__in=set(references)):
        found.setdefault((cost.site_id, cost.vendor, cost.reference), cost)
    return found


def _refuse_duplicate(
    recorded: RecordedInvoices, site: Site, vendor: str, reference: str
) -> str | None:
    existing = recorded.get((site.pk, vendor, reference))
    if existing is None:
        return None
    return (
        f"invoice {reference} of site {site.code}"
        f"{f' from {vendor}' if vendor else ''} is already recorded (#{existing.pk})"
    )


def _file(kind: str, content: bytes, file_name: str, rows: int, by: Any) -> SiteCostFile:
    return SiteCostFile.objects.create(
        kind=kind,
        file_name=file_name[:255],
        file_sha256=hashlib.sha256(content).hexdigest(),
        rows=rows,
        created_by=by if getattr(by, "pk", None) else None,
    )


def _known_file(kind: str, content: bytes) -> SiteCostFile | None:
    digest = hashlib.sha256(content).hexdigest()
    return SiteCostFile.objects.filter(kind=kind, file_sha256=digest).first()


def _sites(codes: set[str]) -> dict[str, Site]:
    """The sites named, locked in id order: the documents of a site are checked (an invoice
    number already recorded, the accrual an invoice reverses) and written one writer at a
    time."""
    locked = Site.objects.select_for_update().filter(code__in=codes).order_by("pk")
    return {site.code: site for site in locked}


def site_costs_import(
    *, content: bytes, file_name: str, by: Any = None
) -> tuple[SiteCostFile, bool]:
    """Post a file of invoices, all or nothing; the file again is not posted twice (False).
    ImportFailed names the file, row and field of every problem."""
    known = _known_file(CostFileKind.INVOICES, content)
    if known is not None:
        return known, False
    try:
        lines = parse_invoices(content, file_name=file_name)
    except CostFileError as exc:
        raise ImportFailed(exc.as_dicts()) from exc
    with transaction.atomic():
        sites = _sites({line.site for line in lines})
        recorded = _recorded_invoices(sites.values(), (line.reference for line in lines))
        errors: list[dict[str, Any]] = []
        for line in lines:
            site = sites.get(line.site)
            if site is None:
                errors.append(_error(file_name, line.row, "site", f"no site {line.site!r}"))
                continue
            problem = _refuse_duplicate(recorded, site, line.vendor, line.reference)
            if problem:
                errors.append(_error(file_name, line.row, "reference", problem))
        if errors:
            raise ImportFailed(errors)
        record = _file(CostFileKind.INVOICES, content, file_name, len(lines), by)
        accruals = _open_accruals(sites.values(), (line.period_end for line in lines))
        for line in lines:
            site = sites[line.site]
            accrual = _take_accrual(accruals, site, line.kind, line.period_end)
            cost = _new_invoice(line, site, CostOrigin.FILE, by, reverses=accrual)
            cost.file = record
            cost.row = line.row
            cost.save()
            try:
                _post(cost, by=by)
            except LedgerError as exc:
                raise ImportFailed(
                    [_error(file_name, line.row, _invoice_field(exc), exc.message)]
                ) from exc
    return record, True


def _invoice_field(refused: LedgerError) -> str:
    """The invoice's field that the ledger's refusal of its entry is about: the entry's date
    is its period_end; anything else is about what it owes (cash it cannot pay, say)."""
    return "period_end" if refused.field in (None, "effective_date") else "amount"


def _error(file_name: str, row: int | None, field: str, message: str) -> dict[str, Any]:
    return {"file": file_name, "row": row, "field": field, "message": message}


def _new_invoice(
    line: InvoiceLine, site: Site, origin: str, by: Any, *, reverses: SiteCost | None
) -> SiteCost:
    return SiteCost(
        site=site,
        kind=line.kind,
        origin=origin,
        vendor=line.vendor,
        reference=line.reference,
        period_start=line.period_start,
        period_end=line.period_end,
        kwh=line.kwh,
        energy=line.energy,
        demand=line.demand,
        taxes=line.taxes,
        credits=line.credits,
        amount=line.amount,
        hosting_basis=line.hosting_basis,
        description=line.description,
        paid=line.paid,
        reverses=reverses,
        status=CostStatus.SUBMITTED,
        created_by=by if getattr(by, "pk", None) else None,
    )


# --- invoices a person types: maker-checker ----------------------------------------------


def site_cost_submit(*, line: InvoiceLine, by: Any) -> SiteCost:
    """Record an invoice typed by a person (checked as a file's row would be); it is posted
    when a finance approver other than `by` approves it."""
    if not has_any_role(by, OPERATE_ROLES):
        raise Forbidden("only finance staff and approvers record an invoice", field="by")
    with transaction.atomic():
        site = _sites({line.site}).get(line.site)
        if site is None:
            raise CostRefused(f"no site {line.site!r}", field="site")
        problem = _refuse_duplicate(
            _recorded_invoices([site], [line.reference]), site, line.vendor, line.reference
        )
        if problem:
            raise CostRefused(problem, field="reference")
        cost = _new_invoice(line, site, CostOrigin.TYPED, by, reverses=None)
        # Refused now if its entry would be refused as the books stand (a closed month, cash
        # it cannot pay), as a file's row is, rather than left for an approval that can only
        # fail. The accrual it reverses is chosen again when approved: one may be posted
        # meanwhile.
        cost.reverses = _take_accrual(
            _open_accruals([site], [line.period_end]), site, line.kind, line.period_end
        )
        try:
            ledger_services.entries_check(entries=[_entry(cost)])
        except LedgerError as exc:
            exc.field = _invoice_field(exc)
            raise
        cost.reverses = None
        cost.save()
        return cost


def _decide(cost: SiteCost | int, by: Any, doing: str) -> SiteCost:
    pk = cost.pk if isinstance(cost, SiteCost) else cost
    locked = (
        SiteCost.objects.select_for_update(of=("self",))
        .select_related("site")
        .filter(pk=pk)
        .first()
    )
    if locked is None:
        raise CostRefused(f"site cost {pk} does not exist", field="cost")
    if not has_any_role(by, APPROVE_ROLES):
        raise Forbidden(f"only a finance approver can {doing} an invoice", field="by")
    if locked.created_by_id is not None and getattr(by, "pk", by) == locked.created_by_id:
        raise Forbidden(
            f"nobody {doing}s an invoice they typed: #{locked.pk} was recorded by "
            f"{locked.created_by.get_username()}",  # type: ignore[union-attr]
            field="by",
        )
    if locked.status != CostStatus.SUBMITTED:
        raise InvalidState(
            f"invoice #{locked.pk} is already {locked.get_status_display().lower()}",
            field="status",
        )
    return locked


def site_cost_approve(*, cost: SiteCost | int, by: Any) -> SiteCost:
    """Approve a typed invoice and post it (reversing the month's accrual, if any)."""
    with transaction.atomic():
        locked = _decide(cost, by, "approve")
        _sites({locked.site.code})
        accruals = _open_accruals([locked.site], [locked.period_end])
        locked.reverses = _take_accrual(accruals, locked.site, locked.kind, locked.period_end)
        locked.decided_by = by
        locked.decided_at = timezone.now()
        locked.save(update_fields=["reverses", "decided_by", "decided_at"])
        return _post(locked, by=locked.created_by, approved_by=by)


def site_cost_reject(*, cost: SiteCost | int, by: Any, reason: str) -> SiteCost:
    if not isinstance(reason, str) or not reason.strip():
        raise CostRefused("rejecting an invoice needs a reason", field="reason")
    with transaction.atomic():
        locked = _decide(cost, by, "reject")
        locked.status = CostStatus.REJECTED
        locked.decided_by = by
        locked.decided_at = timezone.now()
        locked.rejection_reason = reason.strip()
        locked.save(update_fields=["status", "decided_by", "decided_at", "rejection_reason"])
    return locked


# --- month-end accruals ------------------------------------------------------------------


def _month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def site_costs_accrue(*, month: date, by: Any = None) -> list[SiteCost]:
    """Accrue, at `month`'s end, each site's power and hosting that no standing invoice or
    accrual covers yet: the site's latest invoice of the kind (ended before the month) per
    day, times the month's days, to the cent. Running it again accrues nothing twice."""
    first = month.replace(day=1)
    last = _month_end(first)
    days = Decimal((last - first).days + 1)
    created: list[SiteCost] = []
    with transaction.atomic():
        for site in Site.objects.select_for_update().order_by("pk"):
            for kind in ACCRUED_KINDS:
                covered = live_costs().filter(
                    site=site, kind=kind, period_end__gte=first, period_end__lte=last
                )
                if covered.exists():
                    continue
                latest = (
                    live_costs()
                    .filter(site=site, kind=kind, status=CostStatus.POSTED, period_end__lt=first)
                    .exclude(origin=CostOrigin.ACCRUAL)
                    .order_by("-period_end", "-id")
                    .first()
                )
                if latest is None or latest.amount <= 0:
                    continue
                covered_days = Decimal((latest.period_end - latest.period_start).days + 1)
                amount = share(latest.amount, days, covered_days)
                if amount <= 0:
                    continue
                cost = SiteCost.objects.create(
                    site=site,
                    kind=kind,
                    origin=CostOrigin.ACCRUAL,
                    vendor=latest.vendor,
                    reference=f"ACCRUAL-{first:%Y-%m}",
                    period_start=first,
                    period_end=last,
                    amount=amount,
                    description=f"estimated from invoice {latest.reference}",
                    status=CostStatus.SUBMITTED,
                    created_by=by if getattr(by, "pk", None) else None,
                )
                created.append(_post(cost, by=by))
    return created


# --- meter readings ----------------------------------------------------------------------


def meter_readings_import(
    *, content: bytes, file_name: str, by: Any = None
) -> tuple[SiteCostFile, bool]:
    """Record a file of meter readings, all or nothing (the file again: False)."""
    known = _known_file(CostFileKind.METER_READINGS, content)
    if known is not None:
        return known, False
    try:
        lines = parse_meter_readings(content, file_name=file_name)
    except CostFileError as exc:
        raise ImportFailed(exc.as_dicts()) from exc
    with transaction.atomic():
        sites = _sites({line.site for line in lines})
        errors = [
            _error(file_name, line.row, *problem)
            for line in lines
            if (problem := _reading_problem(line, sites)) is not None
        ]
        if errors:
            raise ImportFailed(errors)
        record = _file(CostFileKind.METER_READINGS, content, file_name, len(lines), by)
        MeterReading.objects.bulk_create(
            MeterReading(
                site=sites[line.site],
                period_start=line.period_start,
                period_end=line.period_end,
                kwh=line.kwh,
                hpc_kwh=line.hpc_kwh,
                file=record,
                row=line.row,
            )
            for line in lines
        )
    return record, True


def _reading_problem(line: MeterLine, sites: dict[str, Site]) -> tuple[str, str] | None:
    site = sites.get(line.site)
    if site is None:
        return "site", f"no site {line.site!r}"
    overlapping = MeterReading.objects.filter(
        site=site, period_start__lte=line.period_end, period_end__gte=line.period_start
    ).first()
    if overlapping is not None:
        return (
            "period_start",
            f"site {site.code} already has a reading from {overlapping.period_start} to "
            f"{overlapping.period_end}",
        )
    return None


# --- cancellation ------------------------------------------------------------------------


def _describe(entry: JournalEntry) -> str:
    cost = SiteCost.objects.filter(entry=entry).select_related("site").first()
    if cost is None:
        return f"site cost of entry #{entry.sequence}"
    if cost.origin == CostOrigin.ACCRUAL:
        return f"{cost.kind} accrual of {cost.site.code} for {cost.period_start:%Y-%m}"
    return f"{cost.kind} invoice {cost.reference} of {cost.site.code}"


def _check(entry: JournalEntry, on: date) -> None:
    """An accrual that a standing invoice reversed is cancelled after that invoice."""
    reversing = live_costs().filter(reverses__entry=entry, status=CostStatus.POSTED).first()
    if reversing is not None:
        raise CostRefused(
            f"the accrual is reversed by {reversing.kind} invoice {reversing.reference}: "
            "cancel the invoice first",
            field="entry",
        )


def register() -> None:
    """Tell the ledger how site costs are cancelled: their subledger is the document itself,
    which stands while its entry does."""
    document = DocumentType(_describe, _check, lambda entry, reversal, on: None)
    register_document((INVOICE_KIND, ACCRUAL_KIND), document)
