"""Statement uploads: a custodian's, a pool's or a lender's file stored as it arrives, then
read into a Statement by the worker (the Celery task `holdings.import_statement_upload`),
as pool files are imported in batches.

Reading is all or nothing, as reconciliation.statement_import has it: a refused file
writes nothing but the upload's status and errors (file, row, field, message). One
statement is kept per kind and SHA-256: the same file uploaded again is answered with the
upload that keeps it (or is keeping it) and nothing new is stored.

Also the nightly cleanup: the files of pool batches and statement uploads that failed
more than FAILED_CONTENT_KEEP_DAYS ago are dropped, their records and errors staying.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DataError, IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from holdings.errors import ImportFailed, InvalidSetup
from holdings.models import BatchStatus, ImportBatch, Statement, StatementKind, StatementUpload
from holdings.services import reconciliation
from holdings.services.production import refused_by_database, storable, too_large
from ledger.errors import LedgerError

logger = logging.getLogger(__name__)


# An upload in one of these holds (or is about to hold) its file's statement.
LIVE = (BatchStatus.PENDING, BatchStatus.RUNNING, BatchStatus.SUCCEEDED)


def statement_upload_create(
    *, kind: str, file_name: str, content: bytes, created_by: Any = None
) -> tuple[StatementUpload, bool]:
    """Store a statement file for the worker to read. Returns the upload and whether it
    is new and waits for the task (the caller queues it once committed); an upload of a
    file already kept (or being kept) as a statement of its kind is answered with the
    upload that keeps it, and nothing is queued."""
    if kind not in StatementKind.values:
        raise InvalidSetup(
            f"unknown statement kind {kind!r}: one of {', '.join(StatementKind.values)}",
            field="kind",
        )
    if not content:
        raise InvalidSetup(f"{file_name}: the file is empty", field="file")
    refused = too_large(file_name, len(content), settings.STATEMENT_UPLOAD_MAX_BYTES)
    if refused:
        raise InvalidSetup(refused, field="file")
    digest = hashlib.sha256(content).hexdigest()
    earlier = (
        StatementUpload.objects.filter(kind=kind, file_sha256=digest, status__in=LIVE)
        .defer("content")
        .order_by("-id")
        .first()
    )
    if earlier is not None:
        return earlier, False
    fields: dict[str, Any] = {
        "kind": kind,
        "file_name": file_name[:255],
        "file_sha256": digest,
        "file_size": len(content),
        "created_by": created_by,
    }
    kept = Statement.objects.filter(kind=kind, file_sha256=digest).defer("content").first()
    if kept is not None:
        # Kept before uploads were recorded, or by the pools' balance fetch: the upload is
        # recorded as answered by that statement; its file is the statement's.
        now = timezone.now()
        upload = StatementUpload.objects.create(
            **fields,
            content=b"",
            status=BatchStatus.SUCCEEDED,
            statement=kept,
            started_at=now,
            finished_at=now,
        )
        return upload, False
    return StatementUpload.objects.create(**fields, content=content), True


def statement_upload_run(*, upload_id: int) -> StatementUpload:
    """Read one upload into its statement, all or nothing. Safe to call again: an upload
    that succeeded or failed is left as it is, one that a killed worker left running
    starts over."""
    with transaction.atomic():
        # Only a progress mark: losing it in a crash loses nothing, so no wait for the disk.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")
        upload = StatementUpload.objects.select_for_update().defer("content").get(pk=upload_id)
        if upload.status not in (BatchStatus.PENDING, BatchStatus.RUNNING):
            return upload
        upload.status = BatchStatus.RUNNING
        upload.started_at = timezone.now()
        upload.attempts += 1
        upload.save(update_fields=["status", "started_at", "attempts"])
    try:
        with transaction.atomic():
            # Held until commit: a second run of this upload waits here, then sees it done.
            upload = StatementUpload.objects.select_for_update().get(pk=upload_id)
            if upload.status not in (BatchStatus.PENDING, BatchStatus.RUNNING):
                return upload
            statement = reconciliation.statement_import(
                kind=upload.kind,
                file_name=upload.file_name,
                content=bytes(upload.content),
                created_by=upload.created_by,
            )
            upload.statement = statement
            upload.status = BatchStatus.SUCCEEDED
            upload.errors = []
            upload.finished_at = timezone.now()
            upload.content = b""  # the statement keeps the file
            upload.save()
    except ImportFailed as failure:
        return _fail(upload_id, failure.errors)
    except OperationalError:
        raise  # transient (connection lost, deadlock): the task retries
    except (DataError, IntegrityError) as error:
        return _fail(upload_id, [refused_by_database(error)])
    except LedgerError as error:
        return _fail(
            upload_id,
            [
                {
                    "file": upload.file_name,
                    "row": None,
                    "field": error.field,
                    "message": error.message,
                }
            ],
        )
    logger.info(
        "statement upload %s (%s) kept as statement %s", upload.pk, upload.file_name, statement.pk
    )
    return upload


def _fail(upload_id: int, errors: list[dict[str, Any]]) -> StatementUpload:
    with transaction.atomic():
        upload = StatementUpload.objects.select_for_update().defer("content").get(pk=upload_id)
        upload.status = BatchStatus.FAILED
        upload.errors = storable(errors)
        upload.finished_at = timezone.now()
        upload.save(update_fields=["status", "errors", "finished_at"])
    logger.warning(
        "statement upload %s (%s) failed: %s", upload.pk, upload.file_name, errors[0]["message"]
    )
    return upload


@dataclass(frozen=True)
class ContentDropped:
    batches: list[int]
    statement_uploads: list[int]


def failed_content_drop(*, now: datetime | None = None) -> ContentDropped:
    """Drop the files of pool batches and statement uploads that failed more than
    FAILED_CONTENT_KEEP_DAYS ago. Their records stay, with their name, SHA-256 and errors;
    a batch whose file is dropped can no longer be imported again."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.FAILED_CONTENT_KEEP_DAYS)
    dropped: dict[str, list[int]] = {}
    for name, model in (("batches", ImportBatch), ("statement_uploads", StatementUpload)):
        with transaction.atomic():
            ids = list(
                model.objects.select_for_update(skip_locked=True)
                .filter(
                    status=BatchStatus.FAILED,
                    finished_at__lt=cutoff,
                    content_dropped_at__isnull=True,
                )
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            model.objects.filter(pk__in=ids).update(content=b"", content_dropped_at=now)
        dropped[name] = ids
    if dropped["batches"] or dropped["statement_uploads"]:
        logger.info(
            "files of failed uploads dropped: batches %s, statement uploads %s",
            dropped["batches"],
            dropped["statement_uploads"],
        )
    return ContentDropped(**dropped)
