"""What waits for the person looking at the admin's index, counted in a few statements.

For a finance approver: manual journals, cancellations and typed invoices others asked
for, waiting for their approval (never their own: maker-checker). For finance staff and
approvers: their own drafts and their journals rejected lately. For every role: import
batches and statement uploads that failed, the breaks of each kind's latest reconciliation
run, and the loans at an LTV tier past OK (or without the day's price) at the end of today
(UTC).

No side effects. Labels and links are the page's (holdings.admin.worklist).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection

from holdings.models import (
    BatchStatus,
    CostStatus,
    ImportBatch,
    ReconciliationRun,
    ReconciliationStatus,
    SiteCost,
    StatementUpload,
)
from holdings.selectors.loans import ALERT_TIERS, loan_tiers
from ledger import selectors as ledger_selectors
from ledger.roles import APPROVE_ROLES, READ_ROLES, has_any_role

# A loan whose LTV is not known today: collateral held, no price for the day.
UNKNOWN_TIER = "unknown"


@dataclass(frozen=True)
class Worklist:
    today: date
    # Journals and cancellations, by kind ("journals_approval", "journals_drafts",
    # "journals_rejected", "cancellations_approval"); a kind the roles do not act on is absent.
    ledger: dict[str, int] = field(default_factory=dict)
    failed_imports: int = 0
    failed_uploads: int = 0
    # The days of the latest runs (each kind's latest) that found breaks, with their breaks.
    breaks: list[tuple[date, int]] = field(default_factory=list)
    # Loans by tier: warning, margin_call, liquidation, and UNKNOWN_TIER.
    ltv_alerts: dict[str, int] = field(default_factory=dict)
    # Typed invoices another person recorded, waiting for a finance approver.
    invoices_approval: int = 0

    @property
    def total(self) -> int:
        return (
            sum(self.ledger.values())
            + self.failed_imports
            + self.failed_uploads
            + sum(n for _, n in self.breaks)
            + sum(self.ltv_alerts.values())
            + self.invoices_approval
        )


def worklist(*, user: Any, today: date) -> Worklist:
    """What waits for `user` at the end of `today` (UTC); empty for a user without a role."""
    if not has_any_role(user, READ_ROLES):
        return Worklist(today=today)
    return Worklist(
        today=today,
        ledger=ledger_selectors.waiting_counts(user=user, today=today),
        **failures(invoices_for=user if has_any_role(user, APPROVE_ROLES) else None),
        breaks=latest_breaks(as_of=today),
        ltv_alerts=ltv_alerts(as_of=today),
    )


def failures(*, invoices_for: Any = None) -> dict[str, int]:
    """How many import batches and statement uploads failed and, for an approver
    (`invoices_for`), how many typed invoices of others wait for approval: one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT
              (SELECT count(*) FROM {ImportBatch._meta.db_table} WHERE status = %(failed)s),
              (SELECT count(*) FROM {StatementUpload._meta.db_table} WHERE status = %(failed)s),
              (SELECT count(*) FROM {SiteCost._meta.db_table}
                WHERE %(approver)s::bigint IS NOT NULL AND status = %(submitted)s
                  AND created_by_id IS DISTINCT FROM %(approver)s::bigint)
            """,
            {
                "failed": BatchStatus.FAILED.value,
                "submitted": CostStatus.SUBMITTED.value,
                "approver": getattr(invoices_for, "pk", None),
            },
        )
        imports, uploads, invoices = cursor.fetchone()
    return {"failed_imports": imports, "failed_uploads": uploads, "invoices_approval": invoices}


def latest_runs(*, as_of: date) -> list[ReconciliationRun]:
    """Each kind's latest reconciliation run of a day on or before `as_of`."""
    return list(
        ReconciliationRun.objects.filter(as_of__lte=as_of)
        .order_by("kind", "-as_of", "-id")
        .distinct("kind")
    )


def latest_breaks(*, as_of: date) -> list[tuple[date, int]]:
    """The days of the latest runs that found breaks, latest first, with how many."""
    days: Counter[date] = Counter()
    for run in latest_runs(as_of=as_of):
        if run.status == ReconciliationStatus.BREAKS:
            days[run.as_of] += run.breaks
    return sorted(days.items(), reverse=True)


def ltv_alerts(*, as_of: date) -> dict[str, int]:
    """How many loans stand at each tier past OK at the end of `as_of`, and how many have
    collateral but no price for the day (UNKNOWN_TIER); tiers without a loan are left out."""
    counts: Counter[str] = Counter()
    for tier in loan_tiers(as_of=as_of).values():
        if tier is None:
            counts[UNKNOWN_TIER] += 1
        elif tier in ALERT_TIERS:
            counts[tier] += 1
    return {tier: counts[tier] for tier in (*ALERT_TIERS, UNKNOWN_TIER) if counts[tier]}


def loans_at(*, tier: str, as_of: date, queryset: Any = None) -> list[int]:
    """The ids of the loans at `tier` ("alert": any tier past OK; UNKNOWN_TIER: no price)
    at the end of `as_of`: the loans an LTV alert links to."""
    tiers = loan_tiers(as_of=as_of, queryset=queryset)
    if tier == "alert":
        return [pk for pk, t in tiers.items() if t in ALERT_TIERS]
    target = None if tier == UNKNOWN_TIER else tier
    return [pk for pk, t in tiers.items() if t == target]
