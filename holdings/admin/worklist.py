"""The dashboard's "Waiting for you": what holdings.selectors.worklist counts for the person
looking, each with the admin list, filtered, where it is dealt with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.urls import reverse
from django.utils.http import urlencode

from holdings.selectors import worklist
from holdings.selectors.worklist import UNKNOWN_TIER
from ledger.selectors import REJECTED_DAYS

TIER_LABELS = {
    "liquidation": "Loans at the liquidation LTV tier today",
    "margin_call": "Loans at the margin call LTV tier today",
    "warning": "Loans at the warning LTV tier today",
    UNKNOWN_TIER: "Loans whose LTV is not known today (no price for the day)",
}


@dataclass(frozen=True)
class WaitingItem:
    key: str
    label: str
    count: int
    url: str
    urgent: bool = False


def _list(name: str, **query: Any) -> str:
    return f"{reverse(f'admin:{name}_changelist')}?{urlencode(query)}"


def waiting_items(*, user: Any, today: date) -> list[WaitingItem]:
    """The items that wait for `user`, the most pressing first; nothing that counts zero."""
    work = worklist.worklist(user=user, today=today)
    items = [
        WaitingItem(
            key=f"ltv-{tier}",
            label=TIER_LABELS[tier],
            count=work.ltv_alerts.get(tier, 0),
            url=_list("holdings_loan", ltv_tier=tier),
            urgent=tier in ("liquidation", "margin_call"),
        )
        for tier in ("liquidation", "margin_call", "warning", UNKNOWN_TIER)
    ]
    items += [
        WaitingItem(
            key="journals-approval",
            label="Manual journals waiting for your approval",
            count=work.ledger.get("journals_approval", 0),
            url=_list("ledger_manualjournal", waiting="approval"),
        ),
        WaitingItem(
            key="cancellations-approval",
            label="Cancellations waiting for your approval",
            count=work.ledger.get("cancellations_approval", 0),
            url=_list("ledger_cancellation", waiting="approval"),
        ),
        WaitingItem(
            key="journals-rejected",
            label=f"Your manual journals rejected in the last {REJECTED_DAYS} days",
            count=work.ledger.get("journals_rejected", 0),
            url=_list("ledger_manualjournal", waiting="rejected"),
        ),
        WaitingItem(
            key="journals-drafts",
            label="Your draft manual journals, not yet submitted",
            count=work.ledger.get("journals_drafts", 0),
            url=_list("ledger_manualjournal", waiting="drafts"),
        ),
    ]
    items += [
        WaitingItem(
            key=f"breaks-{day.isoformat()}",
            label=f"Reconciliation breaks on {day.isoformat()} (latest runs)",
            count=breaks,
            url=_list("holdings_reconciliationrun", as_of=day.isoformat(), status__exact="breaks"),
            urgent=True,
        )
        for day, breaks in work.breaks
    ]
    items.append(
        WaitingItem(
            key="invoices-approval",
            label="Typed invoices waiting for your approval",
            count=work.invoices_approval,
            url=_list("holdings_sitecost", status__exact="submitted"),
        )
    )
    items += [
        WaitingItem(
            key="imports-failed",
            label="Pool file imports that failed",
            count=work.failed_imports,
            url=_list("holdings_importbatch", status__exact="failed"),
        ),
        WaitingItem(
            key="uploads-failed",
            label="Statement uploads that failed",
            count=work.failed_uploads,
            url=_list("holdings_statementupload", status__exact="failed"),
        ),
    ]
    return [item for item in items if item.count]
