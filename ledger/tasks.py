"""Celery tasks of the ledger: thin, they call a selector or service and report."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.utils import timezone

from ledger import selectors

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
