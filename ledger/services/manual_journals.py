"""Manual journals (maker-checker): drafted, changed and submitted by their maker, approved
(and only then posted) or rejected by a finance approver who is not the maker; and their
supporting documents, added or deleted until the journal is decided."""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ledger.errors import ClosedPeriod, Forbidden, IdempotencyConflict, InvalidEntry, InvalidState
from ledger.models import (
    ManualJournal,
    ManualJournalAttachment,
    ManualJournalKind,
    ManualJournalLine,
    ManualJournalStatus,
)
from ledger.posting import MAX_KEY_LENGTH, CheckedEntry, EntryInput, PostingInput, check
from ledger.roles import APPROVE_ROLES, OPERATE_ROLES, has_any_role
from ledger.services.entries import entry_post
from ledger.subledgers import kept_accounts
from ledger.text import check_printable

RESERVED_KINDS = frozenset({"reversal"})


def _checked(
    *, effective_date: date, memo: Any, kind: Any, postings: Sequence[Any]
) -> CheckedEntry:
    """The journal as the ledger would post it now, or the error it would give."""
    if isinstance(memo, str) and not memo.strip():
        raise InvalidEntry("a manual journal needs a memo saying what it records", field="memo")
    if kind in RESERVED_KINDS:
        raise InvalidEntry(
            f"kind {kind!r} is reserved: reverse an entry with its own action", field="kind"
        )
    if kind not in ManualJournalKind.values:
        raise InvalidEntry(f"kind {kind_problem(kind)}", field="kind")
    (checked,) = check(
        [EntryInput(effective_date=effective_date, memo=memo, postings=postings, kind=kind)]
    )
    _refuse_kept_accounts([account for account, _quantity, _value in checked.lines])
    return checked


def _refuse_kept_accounts(accounts: Sequence[int], *, refusing: str = "") -> None:
    """Refuse a journal posting to an account a subledger keeps (lots, fair value
    adjustments, loans, fixed assets: ledger.subledgers), naming the first such line and the
    documents that post there instead."""
    kept = kept_accounts(accounts)
    for n, account in enumerate(accounts):
        if account in kept:
            raise InvalidEntry(
                f"{refusing}{kept[account]}",
                field=f"postings[{n}].account",
                code="subledger_account",
            )


def kind_problem(kind: object) -> str:
    """Why a manual journal cannot have this kind (it is not one of ManualJournalKind)."""
    return (
        f"{kind!r} is not a manual journal's kind: one of "
        f"{', '.join(ManualJournalKind.values)} (the services' own kinds are theirs alone)"
    )


def manual_journal_check(
    *,
    effective_date: date,
    memo: str,
    postings: Sequence[PostingInput | tuple[Any, Decimal, Decimal]],
    kind: str = "manual",
) -> None:
    """Whether a journal with these date, memo, kind and postings would be accepted now
    (raises the error it would get, naming the field: postings[1].quantity...)."""
    _checked(effective_date=effective_date, memo=memo, kind=kind, postings=postings)


def _label(journal: ManualJournal) -> str:
    return f"manual journal #{journal.pk}"


def _lock(journal: ManualJournal | int) -> ManualJournal:
    """The journal's row, locked for the rest of the transaction (decisions happen once)."""
    pk = journal.pk if isinstance(journal, ManualJournal) else journal
    locked = ManualJournal.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise InvalidEntry(f"manual journal {pk} does not exist", field="journal")
    return locked


def _same_user(user: Any, user_id: int | None) -> bool:
    return user_id is not None and getattr(user, "pk", user) == user_id


def manual_journal_create(
    *,
    effective_date: date,
    memo: str,
    postings: Sequence[PostingInput | tuple[Any, Decimal, Decimal]],
    by: Any,
    kind: str = "manual",
    idempotency_key: str | None = None,
    submit: bool = False,
) -> tuple[ManualJournal, bool]:
    """Draft a manual journal (and submit it at once if `submit`), checked as the ledger
    would check the entry now. With an idempotency key, the same request again returns the
    journal it created (False: a replay); the key with other content is refused."""
    if not has_any_role(by, OPERATE_ROLES):
        raise Forbidden("only finance staff and approvers draft manual journals", field="by")
    if idempotency_key is not None and (
        not isinstance(idempotency_key, str) or not 1 <= len(idempotency_key) <= MAX_KEY_LENGTH
    ):
        raise InvalidEntry(
            f"idempotency key must be 1 to {MAX_KEY_LENGTH} characters", field="idempotency_key"
        )
    checked = _checked(effective_date=effective_date, memo=memo, kind=kind, postings=postings)
    if idempotency_key is not None:
        replay = _manual_journal_replay(idempotency_key, checked.payload_hash)
        if replay is not None:
            return replay, False
    journal = ManualJournal(
        effective_date=effective_date,
        memo=memo,
        kind=kind,
        idempotency_key=idempotency_key,
        payload_hash=checked.payload_hash if idempotency_key is not None else "",
        created_by=by,
    )
    try:
        with transaction.atomic():
            journal.save(force_insert=True)
            _write_lines(journal, checked)
            if submit:
                _submit(journal)
    except IntegrityError as exc:
        cause = exc.__cause__
        if idempotency_key is not None and isinstance(cause, psycopg.errors.UniqueViolation):
            # The same key, created a moment ago by a concurrent request.
            replay = _manual_journal_replay(idempotency_key, checked.payload_hash)
            if replay is not None:
                return replay, False
        raise
    return journal, True


def _manual_journal_replay(key: str, payload_hash: str) -> ManualJournal | None:
    existing = ManualJournal.objects.filter(idempotency_key=key).first()
    if existing is None:
        return None
    if existing.payload_hash != payload_hash:
        raise IdempotencyConflict(
            f"idempotency key {key!r} was already used by {_label(existing)} with different "
            "content",
            field="idempotency_key",
        )
    return existing


def _write_lines(journal: ManualJournal, checked: CheckedEntry) -> None:
    ManualJournalLine.objects.bulk_create(
        ManualJournalLine(journal=journal, account_id=account, quantity=quantity, value=value)
        for account, quantity, value in checked.lines
    )


def _submit(journal: ManualJournal) -> None:
    journal.status = ManualJournalStatus.SUBMITTED
    journal.submitted_at = timezone.now()
    journal.save(update_fields=["status", "submitted_at", "updated_at"])


def _lines_of(journal: ManualJournal) -> list[PostingInput]:
    return [
        PostingInput(account=line.account_id, quantity=line.quantity, value=line.value)
        for line in journal.lines.order_by("id")
    ]


_PAST = {"edit": "edited", "submit": "submitted"}


def _maker_only(journal: ManualJournal, by: Any, verb: str) -> None:
    """Only the maker edits or submits, and only a draft."""
    if journal.status != ManualJournalStatus.DRAFT:
        raise InvalidState(
            f"{_label(journal)} is {journal.get_status_display().lower()}: only a draft can be "
            f"{_PAST[verb]}",
            field="status",
        )
    if not _same_user(by, journal.created_by_id):
        raise Forbidden(
            f"{_label(journal)} is {journal.created_by.get_username()}'s draft: only its maker "
            f"can {verb} it",
            field="by",
        )


def manual_journal_update(
    *,
    journal: ManualJournal | int,
    by: Any,
    effective_date: date | None = None,
    memo: str | None = None,
    kind: str | None = None,
    postings: Sequence[PostingInput | tuple[Any, Decimal, Decimal]] | None = None,
) -> ManualJournal:
    """Change a draft (its maker only); lines given replace the draft's lines."""
    with transaction.atomic():
        locked = _lock(journal)
        _maker_only(locked, by, "edit")
        if effective_date is not None:
            locked.effective_date = effective_date
        if memo is not None:
            locked.memo = memo
        if kind is not None:
            locked.kind = kind
        checked = _checked(
            effective_date=locked.effective_date,
            memo=locked.memo,
            kind=locked.kind,
            postings=postings if postings is not None else _lines_of(locked),
        )
        locked.save(update_fields=["effective_date", "memo", "kind", "updated_at"])
        if postings is not None:
            locked.lines.all().delete()
            _write_lines(locked, checked)
    return locked


def manual_journal_submit(*, journal: ManualJournal | int, by: Any) -> ManualJournal:
    """Send a draft for approval (its maker only), checked again as the books stand now."""
    with transaction.atomic():
        locked = _lock(journal)
        _maker_only(locked, by, "submit")
        _checked(
            effective_date=locked.effective_date,
            memo=locked.memo,
            kind=locked.kind,
            postings=_lines_of(locked),
        )
        _submit(locked)
    return locked


def _decision_allowed(journal: ManualJournal, by: Any, deciding: str) -> None:
    if not has_any_role(by, APPROVE_ROLES):
        raise Forbidden(f"only a finance approver can {deciding} a manual journal", field="by")
    if _same_user(by, journal.created_by_id):
        raise Forbidden(
            f"nobody {deciding}s their own journal: {_label(journal)} was made by "
            f"{journal.created_by.get_username()}",
            field="by",
        )
    if journal.status == ManualJournalStatus.APPROVED:
        sequence = journal.entry.sequence if journal.entry is not None else "?"
        raise InvalidState(
            f"{_label(journal)} was already approved and posted as entry #{sequence}",
            field="status",
        )
    if journal.status != ManualJournalStatus.SUBMITTED:
        raise InvalidState(
            f"{_label(journal)} is {journal.get_status_display().lower()}: only a submitted "
            f"journal can be {deciding}d",
            field="status",
        )


def manual_journal_approve(*, journal: ManualJournal | int, by: Any) -> ManualJournal:
    """Approve a submitted journal (a finance approver who is not its maker) and post it,
    once: created by the maker, approved by `by`."""
    with transaction.atomic():
        locked = _lock(journal)
        _decision_allowed(locked, by, "approve")
        # Checked again: an account may have become a subledger's since the journal was
        # submitted (a loan's, an asset class's...).
        _refuse_kept_accounts(
            list(locked.lines.order_by("id").values_list("account_id", flat=True)),
            refusing=f"{_label(locked)} cannot be approved (reject it): ",
        )
        try:
            entry = entry_post(
                effective_date=locked.effective_date,
                memo=locked.memo,
                kind=locked.kind,
                postings=_lines_of(locked),
                # One entry per journal, whatever happens: the key is the journal's own.
                idempotency_key=f"manual-journal:{locked.pk}",
                created_by=locked.created_by_id,
                approved_by=by,
            )
        except ClosedPeriod as exc:
            raise ClosedPeriod(
                f"{_label(locked)} cannot be approved: {exc.message}; reject it, or have the "
                "period reopened",
                field="effective_date",
            ) from exc
        locked.status = ManualJournalStatus.APPROVED
        locked.approved_by = by
        locked.approved_at = timezone.now()
        locked.entry = entry
        locked.save(update_fields=["status", "approved_by", "approved_at", "entry", "updated_at"])
    return locked


def manual_journal_reject(*, journal: ManualJournal | int, by: Any, reason: str) -> ManualJournal:
    """Reject a submitted journal with a reason (a finance approver who is not its maker).
    Nothing is posted; the journal stays, rejected, with its reason."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidEntry("rejecting a journal needs a reason", field="reason")
    with transaction.atomic():
        locked = _lock(journal)
        _decision_allowed(locked, by, "reject")
        locked.status = ManualJournalStatus.REJECTED
        locked.rejected_by = by
        locked.rejected_at = timezone.now()
        locked.rejection_reason = reason.strip()
        locked.save(
            update_fields=[
                "status",
                "rejected_by",
                "rejected_at",
                "rejection_reason",
                "updated_at",
            ]
        )
    return locked


def manual_journal_copy(*, journal: ManualJournal | int, by: Any) -> ManualJournal:
    """A new draft with a journal's date, memo, kind and lines (after a rejection, say)."""
    source = ManualJournal.objects.get(
        pk=journal.pk if isinstance(journal, ManualJournal) else journal
    )
    copy, _created = manual_journal_create(
        effective_date=source.effective_date,
        memo=source.memo,
        kind=source.kind,
        postings=_lines_of(source),
        by=by,
    )
    return copy


# --- supporting documents ----------------------------------------------------------------

CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}")
FILE_NAME_LENGTH = 255


def size_text(size: int) -> str:
    """A byte count as people read a limit: "10 MiB" when whole, else the bytes."""
    if size >= 2**20 and size % 2**20 == 0:
        return f"{size // 2**20} MiB"
    return f"{size:,} bytes"


def attachment_problem(file_name: str, size: int) -> str | None:
    """Why a document of `size` bytes is refused (empty, or over the setting), or None."""
    limit = settings.MANUAL_JOURNAL_ATTACHMENT_MAX_BYTES
    if size <= 0:
        return f"{file_name} is empty: a supporting document has something in it"
    if size > limit:
        return (
            f"{file_name} is {size:,} bytes; a supporting document is at most {size_text(limit)} "
            f"({limit:,} bytes, MANUAL_JOURNAL_ATTACHMENT_MAX_BYTES)"
        )
    return None


def _file_name(name: Any) -> str:
    """The name as uploaded, without a folder, at most 255 characters (keeping its
    extension); refused when blank or not printable."""
    base = re.split(r"[\\/]", name)[-1].strip() if isinstance(name, str) else ""
    if not base:
        raise InvalidEntry("a supporting document needs a file name", field="file")
    check_printable(base, field="file")
    if len(base) > FILE_NAME_LENGTH:
        _stem, dot, extension = base.rpartition(".")
        keep = f"{dot}{extension}" if dot and len(extension) <= 16 else ""
        base = base[: FILE_NAME_LENGTH - len(keep)] + keep
    return base


def _content_type(content_type: Any, file_name: str) -> str:
    """The type the browser said, if it is one; else guessed from the name; else bytes."""
    given = content_type.strip().lower() if isinstance(content_type, str) else ""
    if CONTENT_TYPE.fullmatch(given):
        return given
    guessed, _encoding = mimetypes.guess_type(file_name)
    return guessed or "application/octet-stream"


def _documents_open(journal: ManualJournal, verb: str) -> None:
    """Documents are added or deleted while the journal awaits its decision."""
    if journal.status == ManualJournalStatus.APPROVED:
        raise InvalidState(
            f"{_label(journal)} is approved and posted: its supporting documents stay as they "
            f"were approved; none can be {verb}",
            field="file",
        )
    if journal.status == ManualJournalStatus.REJECTED:
        raise InvalidState(
            f"{_label(journal)} is rejected: supporting documents are {verb} only while a "
            "journal is a draft or submitted",
            field="file",
        )


def manual_journal_attach(
    *,
    journal: ManualJournal | int,
    by: Any,
    file_name: str,
    content: bytes,
    content_type: str = "",
) -> ManualJournalAttachment:
    """Keep a supporting document with a journal (a draft or submitted one), with its size
    and SHA-256; refused when empty or larger than MANUAL_JOURNAL_ATTACHMENT_MAX_BYTES."""
    if not has_any_role(by, OPERATE_ROLES):
        raise Forbidden("only finance staff and approvers attach documents", field="by")
    name = _file_name(file_name)
    if not isinstance(content, bytes):
        raise InvalidEntry("a supporting document is bytes", field="file")
    problem = attachment_problem(name, len(content))
    if problem is not None:
        raise InvalidEntry(problem, field="file")
    with transaction.atomic():
        locked = _lock(journal)
        _documents_open(locked, "added")
        return ManualJournalAttachment.objects.create(
            journal=locked,
            file_name=name,
            content_type=_content_type(content_type, name),
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
            uploaded_by=by,
        )


def manual_journal_attachment_delete(
    *, attachment: ManualJournalAttachment | int, by: Any
) -> ManualJournal:
    """Delete a supporting document before the journal is decided: the person who attached
    it or the journal's maker. Returns the journal."""
    if not has_any_role(by, OPERATE_ROLES):
        raise Forbidden("only finance staff and approvers delete documents", field="by")
    pk = attachment.pk if isinstance(attachment, ManualJournalAttachment) else attachment
    found = ManualJournalAttachment.objects.defer("content").filter(pk=pk).first()
    if found is None:
        raise InvalidEntry(f"supporting document {pk} does not exist", field="attachment")
    with transaction.atomic():
        locked = _lock(found.journal_id)
        _documents_open(locked, "deleted")
        if not (_same_user(by, found.uploaded_by_id) or _same_user(by, locked.created_by_id)):
            raise Forbidden(
                f"{found.file_name} was attached by {found.uploaded_by.get_username()}: only "
                f"they or the maker of {_label(locked)} delete it",
                field="by",
            )
        ManualJournalAttachment.objects.filter(pk=found.pk).delete()
    return locked
