"""Cancellations: the only way a posted entry is ever undone.

An entry belongs to a document (a pool record, payout, sale, transfer, loan event,
remeasurement, opening balance or manual journal). Undoing it means cancelling the document:
one person asks, with a reason; another, a finance approver, approves. Only then is the
reversal posted, in the same transaction as the document's subledger is undone (lots restored,
disposals offset), or the whole is refused, naming what depends on it. PostgreSQL refuses a
reversing entry that no approved cancellation names, and a reversal of a reversal
(ledger/migrations/0012_cancellations.sql).

The ledger knows nothing of the miner's documents: the application that posts them registers,
per entry kind, how to name the document, what would stop its cancellation and how to undo
its subledger (`register_document`). An entry of a kind nobody registered is its own document
with no subledger (a manual journal's entry, say).

A document may have entries besides the one it is cancelled by (a back-dated remeasurement
corrects the disposals after its date with entries of their own): its type names them
(`companions`), and the approval cancels each with it, in the same transaction, by a
cancellation of its own that the same two people ask for and approve.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import psycopg
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.utils import timezone

from ledger.errors import Conflict, Forbidden, IdempotencyConflict, InvalidEntry, InvalidState
from ledger.models import Cancellation, CancellationStatus, JournalEntry
from ledger.posting import MAX_KEY_LENGTH, EntryInput, PostingInput, check, post
from ledger.roles import APPROVE_ROLES, OPERATE_ROLES, has_any_role
from ledger.text import check_printable

# An entry of a document, its reversal and the reversal's date.
Undone = tuple[JournalEntry, JournalEntry, date]


@dataclass(frozen=True)
class DocumentType:
    """How one kind of entry's document is named, checked and undone.

    `describe(entry)` names the document ("sale OTC-2026-01-001"); `check(entry, on)` raises
    a LedgerError naming what depends on the document (later events to cancel first);
    `undo(entry, reversal, on)` writes the subledger's side of the cancellation, in the
    transaction that posts `reversal`; `lock(entry)` locks, before the approval checks, the
    subledger rows that later events could change meanwhile (the companions' too).

    `companions(entry)` lists the document's other standing entries, cancelled with it: each
    is reversed on the cancellation's date, or on its own date when that is later. With
    companions, `undo_together(parts)` undoes the subledger of all of them at once, given
    (entry, reversal, date) for the entry and each companion, so that no row passes through
    a state its rules refuse between one entry and the next; without it, `undo` is called
    for each in turn."""

    describe: Callable[[JournalEntry], str]
    check: Callable[[JournalEntry, date], None]
    undo: Callable[[JournalEntry, JournalEntry, date], None]
    lock: Callable[[JournalEntry], None] = lambda entry: None
    companions: Callable[[JournalEntry], list[JournalEntry]] = lambda entry: []
    undo_together: Callable[[list[Undone]], None] | None = None

    def undo_all(self, parts: list[Undone]) -> None:
        if len(parts) > 1 and self.undo_together is not None:
            self.undo_together(parts)
            return
        for entry, reversal, on in parts:
            self.undo(entry, reversal, on)


_DOCUMENT_TYPES: dict[str, DocumentType] = {}


def register_document(kinds: tuple[str, ...], document_type: DocumentType) -> None:
    """Say how entries of these kinds are cancelled (called once, when an app is ready)."""
    for kind in kinds:
        _DOCUMENT_TYPES[kind] = document_type


def _describe_plain(entry: JournalEntry) -> str:
    try:
        journal = entry.manual_journal  # type: ignore[attr-defined]
    except ObjectDoesNotExist:
        return f"journal entry #{entry.sequence}"
    return f"manual journal #{journal.pk}"


_PLAIN = DocumentType(
    describe=_describe_plain, check=lambda entry, on: None, undo=lambda entry, rev, on: None
)


def document_type(entry: JournalEntry) -> DocumentType:
    return _DOCUMENT_TYPES.get(entry.kind, _PLAIN)


def document_of(entry: JournalEntry) -> str:
    """The name of the document an entry belongs to."""
    return document_type(entry).describe(entry)


def _mirror(entry: JournalEntry) -> list[PostingInput]:
    return [
        PostingInput(
            account=p.account_id, quantity=p.quantity.copy_negate(), value=p.value.copy_negate()
        )
        for p in entry.postings.all().order_by("id")
    ]


def _reversal_input(entry: JournalEntry, on: date, document: str, reason: str) -> EntryInput:
    return EntryInput(
        effective_date=on,
        memo=f"Cancellation of {document} (entry #{entry.sequence}): {reason}"[:1000],
        postings=_mirror(entry),
        kind="reversal",
    )


def _entry(entry: JournalEntry | int) -> JournalEntry:
    pk = entry.pk if isinstance(entry, JournalEntry) else entry
    found = JournalEntry.objects.filter(pk=pk).first()
    if found is None:
        raise InvalidEntry(f"journal entry {pk} does not exist", field="entry")
    return found


def _refuse_if_undone(entry: JournalEntry) -> None:
    if entry.reversal_of_id is not None:
        raise InvalidEntry(
            f"entry #{entry.sequence} is itself a cancellation's reversal: it is never undone",
            field="entry",
        )
    live = (
        Cancellation.objects.filter(entry=entry).exclude(status=CancellationStatus.REJECTED).first()
    )
    if live is not None:
        state = "cancelled" if live.status == CancellationStatus.APPROVED else "being cancelled"
        raise Conflict(
            f"{live.document} (entry #{entry.sequence}) is already {state} by cancellation "
            f"#{live.pk}",
            field="entry",
            code="already_cancelled",
        )


def _payload_hash(entry: JournalEntry, on: date, reason: str) -> str:
    payload = {"entry": entry.pk, "effective_date": on.isoformat(), "reason": reason}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _replay(key: str, payload_hash: str) -> Cancellation | None:
    existing = Cancellation.objects.filter(idempotency_key=key).first()
    if existing is None:
        return None
    if existing.payload_hash != payload_hash:
        raise IdempotencyConflict(
            f"idempotency key {key!r} was already used by cancellation #{existing.pk} with "
            "different content",
            field="idempotency_key",
        )
    return existing


def cancellation_request(
    *,
    entry: JournalEntry | int,
    reason: str,
    by: Any,
    effective_date: date | None = None,
    idempotency_key: str | None = None,
) -> tuple[Cancellation, bool]:
    """Ask for a document to be cancelled. Nothing is posted until another person approves.
    The request is checked as the approval would check it now, so a cancellation that later
    events depend on is refused at once, naming them. With an idempotency key, the same
    request again returns the first (False: a replay); the key with other content is
    refused."""
    if not has_any_role(by, OPERATE_ROLES):
        raise Forbidden("only finance staff and approvers ask for a cancellation", field="by")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidEntry("a cancellation needs a reason", field="reason")
    check_printable(reason, field="reason", multiline=True)
    reason = reason.strip()
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= MAX_KEY_LENGTH:
        raise InvalidEntry(
            f"idempotency key must be 1 to {MAX_KEY_LENGTH} characters", field="idempotency_key"
        )
    original = _entry(entry)
    on = effective_date or original.effective_date
    if on < original.effective_date:
        raise InvalidEntry(
            f"a cancellation is dated on or after its entry's date {original.effective_date}",
            field="effective_date",
        )
    payload_hash = _payload_hash(original, on, reason)
    if idempotency_key is not None:
        replay = _replay(idempotency_key, payload_hash)
        if replay is not None:
            return replay, False
    _refuse_if_undone(original)
    kind = document_type(original)
    document = kind.describe(original)
    kind.check(original, on)
    companions = kind.companions(original)
    for companion in companions:
        _refuse_if_undone(companion)
    check(
        [
            _reversal_input(entry, _companion_date(entry, on), document, reason)
            for entry in [original, *companions]
        ]
    )
    cancellation = Cancellation(
        entry=original,
        document=document[:200],
        effective_date=on,
        reason=reason,
        idempotency_key=idempotency_key,
        payload_hash=payload_hash if idempotency_key is not None else "",
        requested_by=by,
    )
    try:
        with transaction.atomic():
            cancellation.save(force_insert=True)
    except IntegrityError as exc:
        if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
            if idempotency_key is not None:
                replay = _replay(idempotency_key, payload_hash)
                if replay is not None:
                    return replay, False
            _refuse_if_undone(original)  # asked for a moment ago by someone else
        raise
    return cancellation, True


def _lock(cancellation: Cancellation | int) -> Cancellation:
    pk = cancellation.pk if isinstance(cancellation, Cancellation) else cancellation
    locked = Cancellation.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise InvalidEntry(f"cancellation {pk} does not exist", field="cancellation")
    return locked


def _decision_allowed(cancellation: Cancellation, by: Any, deciding: str) -> None:
    if not has_any_role(by, APPROVE_ROLES):
        raise Forbidden(f"only a finance approver can {deciding} a cancellation", field="by")
    if getattr(by, "pk", by) == cancellation.requested_by_id:
        raise Forbidden(
            f"nobody {deciding}s their own request: cancellation #{cancellation.pk} was asked "
            f"for by {cancellation.requested_by.get_username()}",
            field="by",
        )
    if cancellation.status != CancellationStatus.REQUESTED:
        raise InvalidState(
            f"cancellation #{cancellation.pk} was already "
            f"{cancellation.get_status_display().lower()}",
            field="status",
        )


def cancellation_approve(*, cancellation: Cancellation | int, by: Any) -> Cancellation:
    """Approve (a finance approver who did not ask) and carry out: the reversal is posted and
    the document's subledger undone together, or nothing is."""
    with transaction.atomic():
        locked = _lock(cancellation)
        _decision_allowed(locked, by, "approve")
        original = locked.entry
        kind = document_type(original)
        kind.lock(original)
        kind.check(original, locked.effective_date)
        reversal = _reverse(locked, locked.reason, by)
        parts: list[Undone] = [(original, reversal, locked.effective_date)]
        parts.extend(
            _cancel_companion(companion, locked, by) for companion in kind.companions(original)
        )
        kind.undo_all(parts)
        _approved(locked, by, reversal)
    return locked


def _reverse(cancellation: Cancellation, reason: str, by: Any) -> JournalEntry:
    """Post the reversal of the cancellation's entry, on its date (in the caller's
    transaction)."""
    source = _reversal_input(
        cancellation.entry, cancellation.effective_date, cancellation.document, reason
    )
    ((reversal, _created),) = post(
        [
            EntryInput(
                effective_date=source.effective_date,
                memo=source.memo,
                postings=source.postings,
                kind=source.kind,
                idempotency_key=f"cancellation:{cancellation.pk}",
            )
        ],
        created_by=cancellation.requested_by_id,
        approved_by=by,
        reversal_of=cancellation.entry,
    )
    return reversal


def _approved(cancellation: Cancellation, by: Any, reversal: JournalEntry) -> None:
    cancellation.status = CancellationStatus.APPROVED
    cancellation.decided_by = by
    cancellation.decided_at = timezone.now()
    cancellation.reversal = reversal
    cancellation.save(update_fields=["status", "decided_by", "decided_at", "reversal"])


def _companion_date(entry: JournalEntry, on: date) -> date:
    """A document's entry is reversed on the cancellation's date, never before its own."""
    return max(on, entry.effective_date)


def _cancel_companion(companion: JournalEntry, cancellation: Cancellation, by: Any) -> Undone:
    """Cancel one of a document's other entries with it: a cancellation of its own, asked
    for and approved by the same people as the document's, with its reversal, in the
    approval's transaction (the subledger is undone with the document's)."""
    _refuse_if_undone(companion)
    on = _companion_date(companion, cancellation.effective_date)
    reason = (
        f"With cancellation #{cancellation.pk} of {cancellation.document}: {cancellation.reason}"
    )
    part = Cancellation(
        entry=companion,
        document=cancellation.document,
        effective_date=on,
        reason=reason,
        requested_by_id=cancellation.requested_by_id,
    )
    part.save(force_insert=True)
    # Its reversal's memo gives the document's reason, as the document's own reversal does.
    reversal = _reverse(part, cancellation.reason, by)
    _approved(part, by, reversal)
    return companion, reversal, on


def cancellation_reject(*, cancellation: Cancellation | int, by: Any, reason: str) -> Cancellation:
    """Refuse a requested cancellation, with a reason; nothing is posted."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidEntry("rejecting a cancellation needs a reason", field="reason")
    check_printable(reason, field="reason", multiline=True)
    with transaction.atomic():
        locked = _lock(cancellation)
        _decision_allowed(locked, by, "reject")
        locked.status = CancellationStatus.REJECTED
        locked.decided_by = by
        locked.decided_at = timezone.now()
        locked.rejection_reason = reason.strip()
        locked.save(update_fields=["status", "decided_by", "decided_at", "rejection_reason"])
    return locked
