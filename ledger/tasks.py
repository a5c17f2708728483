"""Celery tasks of the ledger: thin, they call a selector or service and report."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.utils import timezone

from ledger import sealing, selectors, services

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
    """Every five minutes: seal what was posted since the last run, then the chains sealed
    with the journal (the subledgers) up to its last seal."""
    result = services.journal_seal(chains=True)
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
    for chain in result.chains:
        if chain.sealed:
            logger.info(
                "%s sealed: %s entries, through sequence %s, head %s",
                chain.chain,
                chain.sealed,
                chain.sealed_through,
                chain.head_hash,
            )
    return {
        "sealed": result.sealed,
        "first_sequence": result.first_sequence,
        "last_sequence": result.last_sequence,
        "sealed_through": result.sealed_through,
        "head_hash": result.head_hash,
        "deferred": result.deferred,
        "chains": {
            chain.chain: {
                "sealed": chain.sealed,
                "sealed_through": chain.sealed_through,
                "head_hash": chain.head_hash,
            }
            for chain in result.chains
        },
    }


@shared_task(name="ledger.verify_journal")
def verify_journal() -> dict[str, Any]:
    """Nightly: hash every sealed entry again and follow the chain, and the chains sealed
    with it (the subledgers); a break is an error."""
    report = selectors.journal_verify(chains=True)
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
            "%s chain broken at sequence %s (entry %s%s): %s: %s",
            found.chain,
            found.sequence,
            found.entry_id,
            "" if found.record is None else f", {found.record} {found.record_id}",
            found.reason,
            found.detail,
        )
    return journal_verification_summary(report)


def _break_summary(found: sealing.JournalBreak | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {
        "sequence": found.sequence,
        "entry_id": found.entry_id,
        "reason": found.reason,
        "detail": found.detail,
        "chain": found.chain,
        "record": found.record,
        "record_id": found.record_id,
    }


def journal_verification_summary(report: selectors.JournalVerification) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "entries_checked": report.entries_checked,
        "sealed_through": report.sealed_through,
        "head_hash": report.head_hash,
        "unsealed_entries": report.unsealed_entries,
        "first_break": _break_summary(report.first_break),
        "chains": [
            {
                "chain": chain.chain,
                "ok": chain.ok,
                "entries_checked": chain.entries_checked,
                "sealed_through": chain.sealed_through,
                "head_hash": chain.head_hash,
                "unsealed_entries": chain.unsealed_entries,
                "first_break": _break_summary(chain.first_break),
            }
            for chain in report.chains
        ],
    }
