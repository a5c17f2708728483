"""The only code that writes to the ledger. Every function is atomic.

Entries go through ledger.posting (validation with errors that name the field, then one
statement); PostgreSQL enforces every invariant again underneath (ledger/migrations/), including
accounts that must not go negative, which it locks in id order so concurrent withdrawals are
checked one after another.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ledger import dates
from ledger.cancellations import (
    cancellation_approve,
    cancellation_reject,
    cancellation_request,
)
from ledger.errors import (
    ClosedPeriod,
    Forbidden,
    IdempotencyConflict,
    InvalidAccount,
    InvalidCommodity,
    InvalidEntry,
    InvalidState,
    LedgerError,
    PeriodError,
)
from ledger.models import (
    Account,
    AccountType,
    Commodity,
    JournalEntry,
    ManualJournal,
    ManualJournalKind,
    ManualJournalLine,
    ManualJournalStatus,
    PeriodClose,
)
from ledger.money import ensure_currency, format_amount
from ledger.posting import MAX_KEY_LENGTH, CheckedEntry, EntryInput, PostingInput, check, post
from ledger.roles import APPROVE_ROLES, OPERATE_ROLES, has_any_role
from ledger.sealing import SealResult, journal_seal
from ledger.selectors import account_first_day_below_zero, closed_through
from ledger.text import unprintable_field

__all__ = [
    "MAX_KEY_LENGTH",
    "EntryInput",
    "PostingInput",
    "SealResult",
    "account_create",
    "account_update",
    "cancellation_approve",
    "cancellation_reject",
    "cancellation_request",
    "chart_load",
    "commodity_create",
    "commodity_update",
    "entries_post",
    "entry_post",
    "entry_post_or_replay",
    "journal_seal",
    "manual_journal_approve",
    "manual_journal_check",
    "manual_journal_copy",
    "manual_journal_create",
    "manual_journal_reject",
    "manual_journal_submit",
    "manual_journal_update",
    "period_close",
    "period_reopen",
]

# --- accounts ----------------------------------------------------------------------------


def account_create(
    *,
    code: str,
    name: str,
    type: str,
    commodity: Commodity | str,
    parent: Account | str | None = None,
    must_not_go_negative: bool = False,
) -> Account:
    if type not in AccountType.values:
        raise InvalidAccount(
            f"type must be one of {', '.join(AccountType.values)}, not {type!r}", field="type"
        )
    commodity_code = commodity.code if isinstance(commodity, Commodity) else commodity
    commodity_obj = Commodity.objects.filter(code=commodity_code).first()
    if commodity_obj is None:
        raise InvalidAccount(f"unknown commodity {commodity_code!r}", field="commodity")
    parent_obj = None
    if parent is not None:
        parent_obj = (
            parent if isinstance(parent, Account) else Account.objects.filter(code=parent).first()
        )
        if parent_obj is None:
            raise InvalidAccount(f"unknown parent account {parent!r}", field="parent")
        if parent_obj.commodity_id != commodity_obj.code or parent_obj.type != type:
            raise InvalidAccount(
                f"a child of {parent_obj.code} must be a {parent_obj.type} account in "
                f"{parent_obj.commodity_id}",
                field="parent",
            )
    account = Account(
        code=code,
        name=name,
        type=type,
        commodity=commodity_obj,
        parent=parent_obj,
        must_not_go_negative=must_not_go_negative,
    )
    _full_clean(account, InvalidAccount)
    _insert_unique(account, InvalidAccount(f"code: account {code} already exists", field="code"))
    return account


def account_update(
    *,
    account: Account,
    name: str | None = None,
    must_not_go_negative: bool | None = None,
    is_active: bool | None = None,
) -> Account:
    """Change what may change on an account. Code, type, commodity and parent are fixed.

    Flagging an account must-not-go-negative waits for postings in flight and refuses if the
    account is below zero on any day, so the flag holds from the moment it is set.
    """
    changes: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise InvalidAccount("name cannot be blank", field="name")
        changes["name"] = name.strip()
    if is_active is not None:
        changes["is_active"] = is_active
    if must_not_go_negative is not None:
        changes["must_not_go_negative"] = must_not_go_negative
    with transaction.atomic():
        if must_not_go_negative and not account.must_not_go_negative:
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE ledger_journalentry IN SHARE ROW EXCLUSIVE MODE")
            dip = account_first_day_below_zero(account=account)
            if dip is not None:
                day, running = dip
                raise InvalidAccount(
                    f"account {account.code} is below zero on {day} "
                    f"({format_amount(running, account.commodity.decimal_places)} "
                    f"{account.commodity_id}); it cannot be flagged must-not-go-negative",
                    field="must_not_go_negative",
                )
        locked = Account.objects.select_for_update().get(pk=account.pk)
        for field_name, value in changes.items():
            setattr(locked, field_name, value)
            setattr(account, field_name, value)
        if changes:
            locked.save(update_fields=list(changes))
    return account


def commodity_create(
    *, code: str, name: str, decimal_places: int, kind: str, measurement_policy: str
) -> Commodity:
    commodity = Commodity(
        code=code,
        name=name,
        decimal_places=decimal_places,
        kind=kind,
        measurement_policy=measurement_policy,
    )
    _full_clean(commodity, InvalidCommodity)
    _insert_unique(commodity, InvalidCommodity(f"commodity {code} already exists", field="code"))
    ensure_currency(code, name)
    return commodity


def commodity_update(
    *,
    commodity: Commodity,
    name: str | None = None,
    decimal_places: int | None = None,
    kind: str | None = None,
    measurement_policy: str | None = None,
) -> Commodity:
    """A commodity's scale is fixed once an account holds it (the database refuses too)."""
    changes = {
        key: value
        for key, value in {
            "name": name,
            "decimal_places": decimal_places,
            "kind": kind,
            "measurement_policy": measurement_policy,
        }.items()
        if value is not None and value != getattr(commodity, key)
    }
    if "decimal_places" in changes and commodity.accounts.exists():
        raise InvalidCommodity(
            f"commodity {commodity.code} is held by accounts: its scale is fixed",
            field="decimal_places",
        )
    for key, value in changes.items():
        setattr(commodity, key, value)
    _full_clean(commodity, InvalidCommodity, exclude=["code"])
    if changes:
        with transaction.atomic():
            commodity.save(update_fields=list(changes))
    return commodity


def _insert_unique(instance: Any, duplicate: LedgerError) -> None:
    """Insert; a row with the same key (even one created a moment ago) is `duplicate`."""
    try:
        with transaction.atomic():
            instance.save(force_insert=True)
    except IntegrityError as exc:
        if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
            raise duplicate from exc
        raise


def _full_clean(instance: Any, error: type[LedgerError], exclude: list[str] | None = None) -> None:
    unprintable = unprintable_field(instance)  # names are printable text only
    if unprintable is not None:
        name, problem = unprintable
        raise error(f"{name} {problem}", field=name)
    try:
        instance.full_clean(exclude=exclude, validate_unique=False)
    except DjangoValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise error(f"{field}: {' '.join(messages)}", field=field) from exc


# --- entries -----------------------------------------------------------------------------


def entry_post(
    *,
    effective_date: date,
    memo: str,
    postings: Sequence[PostingInput | tuple[Any, Decimal, Decimal]],
    idempotency_key: str | None = None,
    kind: str = "manual",
    created_by: Any = None,
    approved_by: Any = None,
) -> JournalEntry:
    """Post one balanced entry. Replaying an idempotency key with the same payload returns
    the entry already posted; with a different payload it is refused."""
    entry, _created = entry_post_or_replay(
        effective_date=effective_date,
        memo=memo,
        postings=postings,
        idempotency_key=idempotency_key,
        kind=kind,
        created_by=created_by,
        approved_by=approved_by,
    )
    return entry


def entry_post_or_replay(
    *,
    effective_date: date,
    memo: str,
    postings: Sequence[PostingInput | tuple[Any, Decimal, Decimal]],
    idempotency_key: str | None = None,
    kind: str = "manual",
    created_by: Any = None,
    approved_by: Any = None,
) -> tuple[JournalEntry, bool]:
    """As entry_post, and whether this call created the entry (False: a replay)."""
    entry = EntryInput(
        effective_date=effective_date,
        memo=memo,
        postings=postings,
        idempotency_key=idempotency_key,
        kind=kind,
    )
    ((posted, created),) = post([entry], created_by=created_by, approved_by=approved_by)
    return posted, created


def entries_post(
    *,
    entries: Sequence[EntryInput],
    created_by: Any = None,
    approved_by: Any = None,
) -> list[JournalEntry]:
    """Post many entries in one transaction (the import path): all or nothing."""
    return [entry for entry, _ in post(entries, created_by=created_by, approved_by=approved_by)]


# --- manual journals (maker-checker) ------------------------------------------------------

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
    return checked


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


# --- periods -----------------------------------------------------------------------------


def period_close(*, through: date, by: Any) -> PeriodClose:
    """Close the books through a date: no entry may be dated on or before it."""
    if not has_any_role(by, APPROVE_ROLES):
        raise PeriodError("only a finance approver can close a period", field="by")
    if through > dates.today():
        raise PeriodError(
            f"through {through.isoformat()} is after today ({dates.today().isoformat()}, UTC): "
            "a period is closed only through a day that has begun",
            field="through",
        )
    with transaction.atomic():
        # Wait for postings in flight and hold new ones until the close is committed.
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE ledger_journalentry IN SHARE ROW EXCLUSIVE MODE")
        current = closed_through()
        if current is not None and through <= current:
            raise PeriodError(f"the books are already closed through {current}", field="through")
        return PeriodClose.objects.create(through=through, closed_by=by)


def period_reopen(*, through: date, by: Any, reason: str) -> PeriodClose:
    """Reopen the latest close; the earlier closes stay in force."""
    if not has_any_role(by, APPROVE_ROLES):
        raise PeriodError("only a finance approver can reopen a period", field="by")
    if not reason or not reason.strip():
        raise PeriodError("reopening a period needs a reason", field="reason")
    with transaction.atomic():
        close = (
            PeriodClose.objects.select_for_update()
            .filter(through=through, reopened_at__isnull=True)
            .first()
        )
        if close is None:
            raise PeriodError(f"the books are not closed through {through}", field="through")
        latest = closed_through()
        if latest is not None and latest > through:
            raise PeriodError(f"reopen the later close through {latest} first", field="through")
        close.reopened_by = by
        close.reopened_at = timezone.now()
        close.reopen_reason = reason.strip()
        close.save(update_fields=["reopened_by", "reopened_at", "reopen_reason"])
        return close


# --- chart of accounts -------------------------------------------------------------------

CHART_COLUMNS = ("code", "name", "type", "commodity", "parent", "must_not_go_negative")


def chart_load(*, rows: Sequence[dict[str, str]], source: str = "chart") -> list[Account]:
    """Create the accounts a chart lists that do not exist yet; existing ones must agree.

    All or nothing: a bad row names its line and nothing is created.
    """
    created: list[Account] = []
    with transaction.atomic():
        for line, row in enumerate(rows, start=2):
            missing = [column for column in CHART_COLUMNS if column not in row]
            if missing:
                raise InvalidAccount(
                    f"{source} line {line}: missing column(s) {', '.join(missing)}"
                )
            flag = (row["must_not_go_negative"] or "false").strip().lower()
            if flag not in {"true", "false"}:
                raise InvalidAccount(
                    f"{source} line {line}: must_not_go_negative must be true or false",
                    field="must_not_go_negative",
                )
            code = row["code"].strip()
            existing = Account.objects.filter(code=code).first()
            if existing is not None:
                if (
                    existing.commodity_id != row["commodity"].strip()
                    or existing.type != row["type"].strip()
                ):
                    raise InvalidAccount(
                        f"{source} line {line}: account {code} exists as a {existing.type} "
                        f"account in {existing.commodity_id}",
                        field="code",
                    )
                continue
            try:
                created.append(
                    account_create(
                        code=code,
                        name=row["name"].strip(),
                        type=row["type"].strip(),
                        commodity=row["commodity"].strip(),
                        parent=(row["parent"] or "").strip() or None,
                        must_not_go_negative=flag == "true",
                    )
                )
            except InvalidAccount as exc:
                raise InvalidAccount(
                    f"{source} line {line}: {exc.message}", field=exc.field
                ) from exc
    return created
