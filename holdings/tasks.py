"""Celery tasks of the miner's world: thin, they take ids and dates and call a service."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from holdings.importers.clients import PoolApiError
from holdings.selectors import lots as lots_selectors
from holdings.selectors import production as production_selectors
from holdings.selectors import reconciliation as reconciliation_selectors
from holdings.selectors import seals
from holdings.services import (
    cost_month_end,
    fair_value,
    loan_ltv,
    loans,
    prices,
    production,
    reconciliation,
    statement_uploads,
)
from ledger.dates import check_posting_date

logger = logging.getLogger(__name__)


def _day(value: str | None, default: date) -> date:
    """The day a task was given (a date the ledger posts at, or the task fails naming it),
    else its default."""
    if not value:
        return default
    day = date.fromisoformat(value)
    check_posting_date(day, field="day")
    return day


@shared_task(
    name="holdings.import_batch",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def import_batch(batch_id: int) -> dict[str, Any]:
    """Import one batch, all or nothing. Run again after a crash, it starts over cleanly."""
    batch = production.import_batch_run(batch_id=batch_id)
    return {
        "batch": batch.pk,
        "status": batch.status,
        "created": batch.records_created,
        "skipped": batch.records_skipped,
        "errors": batch.errors,
    }


@shared_task(name="holdings.fetch_production")
def fetch_production(day: str | None = None) -> dict[str, Any]:
    """Nightly: one fetch task for every pool account that is fetched daily."""
    on = _day(day, timezone.now().date() - timedelta(days=1))
    accounts = production_selectors.pool_accounts_to_fetch()
    for account in accounts:
        fetch_pool_account.delay(account.pk, on.isoformat())
    return {"day": on.isoformat(), "pool_accounts": [a.code for a in accounts]}


@shared_task(
    name="holdings.fetch_pool_account",
    autoretry_for=(PoolApiError, OperationalError),
    retry_backoff=60,
    max_retries=6,
)
def fetch_pool_account(pool_account_id: int, day: str) -> dict[str, Any]:
    """Fetch one pool account's day from its pool's API and import it."""
    batch = production.pool_account_fetch(pool_account_id=pool_account_id, day=_day(day, date.min))
    import_batch.delay(batch.pk)
    return {"batch": batch.pk, "file": batch.file_name}


@shared_task(
    name="holdings.import_statement_upload",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def import_statement_upload(upload_id: int) -> dict[str, Any]:
    """Read one uploaded statement, all or nothing. Run again, it does nothing twice."""
    upload = statement_uploads.statement_upload_run(upload_id=upload_id)
    return {
        "upload": upload.pk,
        "status": upload.status,
        "statement": upload.statement_id,
        "errors": upload.errors,
    }


@shared_task(name="holdings.resume_stalled_imports")
def resume_stalled_imports() -> dict[str, Any]:
    """Every few minutes: batches and statement uploads left pending or running by a
    worker that died go again."""
    ids = production_selectors.stalled_batch_ids()
    for batch_id in ids:
        import_batch.delay(batch_id)
    uploads = reconciliation_selectors.stalled_statement_upload_ids()
    for upload_id in uploads:
        import_statement_upload.delay(upload_id)
    return {"resumed": ids, "statement_uploads": uploads}


@shared_task(name="holdings.drop_failed_content")
def drop_failed_content() -> dict[str, Any]:
    """Nightly: the files of batches and statement uploads that failed more than
    FAILED_CONTENT_KEEP_DAYS ago are dropped; their records and errors stay."""
    dropped = statement_uploads.failed_content_drop()
    return {"batches": dropped.batches, "statement_uploads": dropped.statement_uploads}


@shared_task(
    name="holdings.fetch_prices",
    autoretry_for=(PoolApiError, OperationalError),
    retry_backoff=60,
    max_retries=6,
)
def fetch_prices(day: str | None = None) -> dict[str, Any]:
    """Nightly: the configured provider's prices for yesterday and today."""
    on = _day(day, timezone.now().date())
    created, skipped = prices.prices_fetch(start=on - timedelta(days=1), end=on)
    return {"day": on.isoformat(), "created": created, "skipped": skipped}


@shared_task(name="holdings.remeasure_month_end")
def remeasure_month_end(as_of: str | None = None) -> dict[str, Any]:
    """On the 1st: remeasure every fair-value commodity at the month end just past."""
    last_month_end = timezone.now().date().replace(day=1) - timedelta(days=1)
    on = _day(as_of, last_month_end)
    done = fair_value.remeasure_all(as_of=on)
    return {
        "as_of": on.isoformat(),
        "remeasured": {r.commodity_id: str(r.adjustment) for r in done},
    }


@shared_task(name="holdings.costs_month_end")
def costs_month_end(month: str | None = None) -> dict[str, Any]:
    """On the 1st: the month just ended's site cost accruals, depreciation and HPC revenue,
    each posted once (again: nothing new)."""
    last_month = (timezone.now().date().replace(day=1) - timedelta(days=1)).replace(day=1)
    done = cost_month_end.costs_month_end(month=_day(month, last_month))
    return {
        "month": f"{done.month:%Y-%m}",
        "accruals": [cost.pk for cost in done.accruals],
        "depreciation": [event.pk for event in done.depreciation],
        "hpc_revenue": [revenue.pk for revenue in done.hpc_revenue],
    }


@shared_task(name="holdings.verify_lots")
def verify_lots() -> dict[str, Any]:
    """Nightly: every lot-tracked account's quantity and cost equal the sum of its lots, every
    fair value adjustment account the adjustments of the lots it measures, and every lot row
    the sum of its movements and what opened it (seals.lot_breaks)."""
    today = timezone.now().date()
    differences = lots_selectors.lot_differences(as_of=today)
    lots = seals.lot_breaks()
    summary = {
        "as_of": today.isoformat(),
        "ok": not differences and not lots,
        "differences": [
            {
                "account": d.account,
                "ledger_quantity": str(d.ledger_quantity),
                "lots_quantity": str(d.lots_quantity),
                "ledger_value": str(d.ledger_value),
                "lots_cost": str(d.lots_cost),
                "adjustment": d.adjustment,
            }
            for d in differences
        ],
        "lots": [
            {
                "lot": lot.lot_id,
                "account": lot.account,
                "field": lot.field,
                "found": lot.found,
                "expected": lot.expected,
                "detail": lot.detail,
            }
            for lot in lots
        ],
    }
    if differences or lots:
        logger.error("lots differ from the ledger as of %s: %s", today, summary)
    return summary


@shared_task(name="holdings.accrue_interest")
def accrue_interest(day: str | None = None) -> dict[str, Any]:
    """Nightly: every loan's interest through yesterday, each day once."""
    through = _day(day, timezone.now().date() - timedelta(days=1))
    return {"through": through.isoformat(), "accruals": loans.loans_accrue(through=through)}


@shared_task(name="holdings.check_ltv")
def check_ltv(day: str | None = None) -> dict[str, Any]:
    """Nightly (and after every price import): each loan's LTV against its tiers."""
    on = _day(day, timezone.now().date() - timedelta(days=1))
    crossings = loan_ltv.loans_check_ltv(as_of=on)
    return {
        "as_of": on.isoformat(),
        "crossings": [{"loan": e.loan.code, **e.details} for e in crossings],
    }


@shared_task(name="holdings.reconcile", autoretry_for=(OperationalError,), max_retries=3)
def reconcile(day: str | None = None) -> dict[str, Any]:
    """Nightly: yesterday reconciled against the pools, the chain, the statements and the
    ledger itself. A source that cannot be reached makes its run incomplete (and says so)
    rather than retrying the whole night."""
    on = _day(day, timezone.now().date() - timedelta(days=1))
    runs = reconciliation.reconcile(as_of=on)
    return {
        "as_of": on.isoformat(),
        "runs": [
            {"id": run.pk, "kind": run.kind, "status": run.status, "breaks": run.breaks}
            for run in runs
        ],
    }


@shared_task(name="holdings.fetch_pool_balances", autoretry_for=(OperationalError,), max_retries=3)
def fetch_pool_balances(day: str | None = None) -> dict[str, Any]:
    """Nightly, before the reconciliation: each F2Pool account's own balance at the end of
    yesterday (as of 00:00 UTC today), kept as its statement for that day."""
    on = _day(day, timezone.now().date() - timedelta(days=1))
    statements = reconciliation.pool_balances_fetch(on=on)
    return {"day": on.isoformat(), "statements": [s.file_name for s in statements]}
