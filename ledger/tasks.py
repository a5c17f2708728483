"""Celery tasks of the ledger: thin, they call a selector or service and report."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.utils import timezone

from ledger import selectors, services

logger = logging.getLogger(__name__)


@shared_task(name="ledger.verify_integrity")
def verify_integrity() -> dict[str, Any]:
    """Nightly: the ledger re-verifies itself; a break is logged as an error."""
    report = selectors.ledger_integrity(as_of=timezone.now().date())
    summary = {
        "as_of": report.as_of.isoformat(),
        "ok": report.ok,
        "trial_balance_total": str(report.trial_balance_total),
        "accounts_below_zero": [
            {"account": code, "day": day.isoformat(), "quantity": str(quantity)}
            for code, day, quantity in report.accounts_below_zero
        ],
        "rollup_differences": [
            {
                "grain": grain,
                "account": code,
                "period": day.isoformat(),
                "quantity": str(quantity),
                "value": str(value),
            }
            for grain, code, day, quantity, value in report.rollup_differences
        ],
    }
    if report.ok:
        logger.info("ledger integrity as of %s: all checks passed", report.as_of)
    else:
        logger.error("ledger integrity as of %s: breaks found: %s", report.as_of, summary)
    return summary


@shared_task(name="ledger.seal_journal")
def seal_journal() -> dict[str, Any]:
    """Every five minutes: seal what was posted since the last run."""
    result = services.journal_seal()
    if result.deferred:
        logger.warning(
            "journal sealing deferred: postings still in flight; sealed through %s",
            result.sealed_through,
        )
    elif result.sealed:
        logger.info(
            "journal sealed: %s entries, sequences %s to %s, head %s",
            result.sealed,
            result.first_sequence,
            result.last_sequence,
            result.head_hash,
        )
    return {
        "sealed": result.sealed,
        "first_sequence": result.first_sequence,
        "last_sequence": result.last_sequence,
        "sealed_through": result.sealed_through,
        "head_hash": result.head_hash,
        "deferred": result.deferred,
    }


@shared_task(name="ledger.verify_journal")
def verify_journal() -> dict[str, Any]:
    """Nightly: hash every sealed entry again and follow the chain; a break is an error."""
    report = selectors.journal_verify()
    found = report.first_break
    if found is None:
        logger.info(
            "journal chain verified: %s entries, sealed through %s, head %s",
            report.entries_checked,
            report.sealed_through,
            report.head_hash,
        )
    else:
        logger.error(
            "journal chain broken at sequence %s (entry %s): %s: %s",
            found.sequence,
            found.entry_id,
            found.reason,
            found.detail,
        )
    return journal_verification_summary(report)


def journal_verification_summary(report: selectors.JournalVerification) -> dict[str, Any]:
    found = report.first_break
    return {
        "ok": report.ok,
        "entries_checked": report.entries_checked,
        "sealed_through": report.sealed_through,
        "head_hash": report.head_hash,
        "unsealed_entries": report.unsealed_entries,
        "first_break": None
        if found is None
        else {
            "sequence": found.sequence,
            "entry_id": found.entry_id,
            "reason": found.reason,
            "detail": found.detail,
        },
    }
