"""Importing the pools' production: batches in, entries, records and lots out.

A batch is one file. Running it is one transaction: it parses the file, compares every
record with what earlier batches brought (the same identity with the same content is
skipped, with different content is an error), values new earnings at the price policy's
price, posts one entry per earning and per payout, opens a lot per earning and moves lots
first-in first-out to the wallet a payout reached. Any problem fails the whole batch and
nothing is written but the batch's status and errors.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date
from typing import Any

from django.conf import settings
from django.db import DataError, IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from holdings.errors import ImportFailed, InvalidSetup
from holdings.importers import registry
from holdings.importers.records import (
    ImportFileError,
)
from holdings.models import (
    BatchStatus,
    ImportBatch,
    ImportSource,
    PoolAccount,
)
from holdings.selectors.production import pool_account_credentials
from holdings.services.production_posting import batch_post
from ledger.errors import LedgerError

logger = logging.getLogger(__name__)


MAX_REPORTED_ERRORS = 50


def size_text(size: int) -> str:
    """A byte count as people read a limit: "50 MB" when whole, else the bytes."""
    if size >= 2**20 and size % 2**20 == 0:
        return f"{size // 2**20} MB"
    return f"{size:,} bytes"


def too_large(file_name: str, size: int, limit: int) -> str | None:
    """Why a file of `size` bytes is refused under `limit`, or None when it fits."""
    if size <= limit:
        return None
    return (
        f"{file_name} is {size:,} bytes; at most {size_text(limit)} ({limit:,} bytes) are allowed"
    )


def import_batch_create(
    *,
    source: str,
    file_name: str,
    content: bytes,
    pool_account: PoolAccount | str | None = None,
    created_by: Any = None,
) -> ImportBatch:
    """Record a file to import; the Celery task `holdings.import_batch` runs it."""
    if source not in ImportSource.values:
        raise InvalidSetup(
            f"unknown source {source!r}; expected one of {', '.join(ImportSource.values)}",
            field="source",
        )
    account = _pool_account(pool_account) if pool_account else None
    if account is None and source != ImportSource.CSV:
        raise InvalidSetup(
            f"a {source} file does not name its pool account: choose one", field="pool_account"
        )
    if account is not None and not account.is_active:
        raise InvalidSetup(f"pool account {account.code} is inactive", field="pool_account")
    if not content:
        raise InvalidSetup(f"{file_name}: the file is empty", field="file")
    refused = too_large(file_name, len(content), settings.IMPORT_UPLOAD_MAX_BYTES)
    if refused:
        raise InvalidSetup(refused, field="file")
    return ImportBatch.objects.create(
        source=source,
        pool_account=account,
        file_name=file_name[:255],
        file_sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        created_by=created_by,
    )


def import_batch_retry(*, batch: ImportBatch | int) -> ImportBatch:
    """Put a failed batch back in the queue (after its prices were loaded, say)."""
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(
            pk=batch.pk if isinstance(batch, ImportBatch) else batch
        )
        if locked.status == BatchStatus.SUCCEEDED:
            raise InvalidSetup(f"batch {locked.pk} has already succeeded", field="batch")
        if locked.content_dropped_at is not None:
            raise InvalidSetup(
                f"batch {locked.pk}: its file was dropped on "
                f"{locked.content_dropped_at:%Y-%m-%d}, {settings.FAILED_CONTENT_KEEP_DAYS} "
                "days after it failed; upload the file again",
                field="batch",
            )
        locked.status = BatchStatus.PENDING
        locked.save(update_fields=["status"])
    return locked


def _pool_account(ref: PoolAccount | str | int) -> PoolAccount:
    if isinstance(ref, PoolAccount):
        return ref
    try:
        if isinstance(ref, int):
            return PoolAccount.objects.get(pk=ref)
        return PoolAccount.objects.get(code=ref)
    except PoolAccount.DoesNotExist:
        raise InvalidSetup(f"unknown pool account {ref!r}", field="pool_account") from None


def import_batch_run(*, batch_id: int) -> ImportBatch:
    """Import one batch, all or nothing. Safe to call again: a batch that succeeded is left
    as it is, one that a killed worker left running starts over."""
    with transaction.atomic():
        # Only a progress mark: losing it in a crash loses nothing, so no wait for the disk.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
        batch = ImportBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status == BatchStatus.SUCCEEDED:
            return batch
        batch.status = BatchStatus.RUNNING
        batch.started_at = timezone.now()
        batch.attempts += 1
        batch.save(update_fields=["status", "started_at", "attempts"])
    try:
        with transaction.atomic():
            # Held until commit: a second run of this batch waits here, then sees it done.
            batch = ImportBatch.objects.select_for_update().get(pk=batch_id)
            if batch.status == BatchStatus.SUCCEEDED:
                return batch
            outcome, total = batch_post(batch)
            batch.status = BatchStatus.SUCCEEDED
            batch.records_total = total
            batch.records_created = outcome.created
            batch.records_skipped = outcome.skipped
            batch.errors = []
            batch.finished_at = timezone.now()
            # Only what the run changed: the file's content is not written again.
            batch.save(
                update_fields=[
                    "status",
                    "records_total",
                    "records_created",
                    "records_skipped",
                    "errors",
                    "finished_at",
                ]
            )
    except ImportFailed as failure:
        return _fail(batch_id, failure.errors)
    except ImportFileError as error:
        return _fail(batch_id, [error.as_dict()])
    except OperationalError:
        raise  # transient (connection lost, deadlock): the task retries
    except (DataError, IntegrityError) as error:
        # What the file's checks let through and PostgreSQL refuses (a value no column holds,
        # a key taken): the batch fails with its reason rather than being retried for ever.
        return _fail(batch_id, [refused_by_database(error)])
    except LedgerError as error:
        return _fail(
            batch_id, [{"file": None, "row": None, "field": error.field, "message": error.message}]
        )
    except RecursionError:
        # What no parser should let through (each refuses a record nested deeper than a
        # pool's): failed with its reason, not left running for the sweep to start again.
        return _fail(
            batch_id,
            [{"file": None, "row": None, "field": None, "message": "nested too deeply to read"}],
        )
    logger.info(
        "batch %s (%s) imported: %s created, %s skipped",
        batch.pk,
        batch.file_name,
        batch.records_created,
        batch.records_skipped,
    )
    return batch


def _fail(batch_id: int, errors: list[dict[str, Any]]) -> ImportBatch:
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch_id)
        batch.status = BatchStatus.FAILED
        batch.errors = storable(errors)
        batch.records_created = 0
        batch.finished_at = timezone.now()
        batch.save()
    logger.warning("batch %s (%s) failed: %s", batch.pk, batch.file_name, errors[0]["message"])
    return batch


def storable(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first errors, as JSON PostgreSQL keeps: a file's or a provider's text may hold
    NUL, which jsonb cannot."""
    return [
        {
            key: value.replace("\x00", "\\x00") if isinstance(value, str) else value
            for key, value in error.items()
        }
        for error in errors[:MAX_REPORTED_ERRORS]
    ]


def refused_by_database(error: DataError | IntegrityError) -> dict[str, Any]:
    """An import's error for what PostgreSQL refused, in its words."""
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    return {"file": None, "row": None, "field": None, "message": f"not storable: {reason}"}


def pool_account_fetch(*, pool_account_id: int, day: date) -> ImportBatch:
    """Fetch one UTC day of a pool account from its pool's API into a new batch."""
    account = PoolAccount.objects.select_related("pool", "commodity").get(pk=pool_account_id)
    if not account.pool.api_base_url:
        raise InvalidSetup(f"pool {account.pool.code} has no API base URL", field="api_base_url")
    client = registry.client_for(
        account.source,
        base_url=account.pool.api_base_url,
        credentials=pool_account_credentials(account),
        timeout=settings.POOL_API_TIMEOUT_SECONDS,
    )
    content = client.fetch_day(sub_account=account.name, commodity=account.commodity_id, day=day)
    return import_batch_create(
        source=account.source,
        pool_account=account,
        file_name=f"{account.source}-{account.code}-{day.isoformat()}.json",
        content=content,
    )
