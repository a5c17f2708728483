"""The only code that writes to the ledger.

Every function is atomic. Accounts that must not go negative are locked (by primary key
order) before postings are written, so concurrent entries are checked one after another.
PostgreSQL enforces the journal's invariants again underneath (ledger/sql/); the checks here
exist to give the caller a clear error before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, Inexact, localcontext
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ledger.errors import (
    AlreadyReversed,
    ClosedPeriod,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidAccount,
    InvalidCommodity,
    InvalidEntry,
    LedgerError,
    PeriodError,
    UnknownAccount,
)
from ledger.models import Account, AccountType, Commodity, JournalEntry, PeriodClose
from ledger.money import (
    EXACT,
    FUNCTIONAL_CURRENCY,
    VALUE_PLACES,
    decimal_places,
    ensure_currency,
    format_amount,
)
from ledger.roles import APPROVE_ROLES, has_any_role
from ledger.selectors import account_first_day_below_zero, closed_through

KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class PostingInput:
    account: Account | str | int
    quantity: Decimal
    value: Decimal


@dataclass(frozen=True)
class EntryInput:
    effective_date: date
    memo: str
    postings: Sequence[PostingInput | tuple[Any, Decimal, Decimal]]
    idempotency_key: str | None = None
    kind: str = "manual"


@dataclass(frozen=True)
class _AccountInfo:
    id: int
    code: str
    commodity: str
    scale: int
    must_not_go_negative: bool
    is_active: bool


@dataclass
class _PreparedEntry:
    index: int
    source: EntryInput
    lines: list[tuple[_AccountInfo, Decimal, Decimal]]
    payload_hash: str
    reversal_of_id: int | None = None


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
    if Account.objects.filter(code=code).exists():
        raise InvalidAccount(f"code: account {code} already exists", field="code")
    with transaction.atomic():
        account.save()
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
    if Commodity.objects.filter(code=code).exists():
        raise InvalidCommodity(f"commodity {code} already exists", field="code")
    with transaction.atomic():
        commodity.save(force_insert=True)
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


def _full_clean(instance: Any, error: type[LedgerError], exclude: list[str] | None = None) -> None:
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
    with _integrity_errors_as_ledger_errors():
        prepared = _prepare([entry])
        with transaction.atomic():
            ((posted, created),) = _write(prepared, created_by=created_by, approved_by=approved_by)
    return posted, created


def entries_post(
    *,
    entries: Sequence[EntryInput],
    created_by: Any = None,
    approved_by: Any = None,
) -> list[JournalEntry]:
    """Post many entries in one transaction (the import path): all or nothing."""
    with _integrity_errors_as_ledger_errors():
        prepared = _prepare(entries)
        with transaction.atomic():
            written = _write(prepared, created_by=created_by, approved_by=approved_by)
    return [entry for entry, _created in written]


def entry_reverse(
    *,
    entry: JournalEntry | int,
    effective_date: date | None = None,
    memo: str = "",
    created_by: Any = None,
) -> JournalEntry:
    """Post the mirror image of an entry, linked to it. An entry is reversed at most once."""
    original = JournalEntry.objects.filter(
        pk=entry.pk if isinstance(entry, JournalEntry) else entry
    ).first()
    if original is None:
        raise InvalidEntry(f"journal entry {entry} does not exist", field="entry")
    existing = JournalEntry.objects.filter(reversal_of=original).first()
    if existing is not None:
        raise AlreadyReversed(
            f"entry #{original.sequence} was already reversed by entry #{existing.sequence}",
            field="entry",
        )
    lines = [
        PostingInput(
            account=p.account_id, quantity=p.quantity.copy_negate(), value=p.value.copy_negate()
        )
        for p in original.postings.all().order_by("id")
    ]
    source = EntryInput(
        effective_date=effective_date or original.effective_date,
        memo=memo or f"Reversal of entry #{original.sequence}: {original.memo}"[:1000],
        postings=lines,
        kind="reversal",
    )
    with _integrity_errors_as_ledger_errors(reversed_entry=original):
        (prepared,) = _prepare([source])
        prepared.reversal_of_id = original.pk
        with transaction.atomic():
            return _write([prepared], created_by=created_by, approved_by=None)[0][0]


def _prepare(entries: Sequence[EntryInput]) -> list[_PreparedEntry]:
    with localcontext(EXACT):
        try:
            return _prepare_exactly(entries)
        except Inexact as exc:
            raise InvalidEntry(
                "an amount has more digits than the ledger computes with (60)", field="postings"
            ) from exc


def _prepare_exactly(entries: Sequence[EntryInput]) -> list[_PreparedEntry]:
    if not entries:
        raise InvalidEntry("no entries to post", field="entries")
    accounts, locked_through = _accounts_for(entries)
    batch = len(entries) > 1
    prepared = [_prepare_one(i, entry, accounts, batch=batch) for i, entry in enumerate(entries)]
    if locked_through is not None:
        for item in prepared:
            if item.source.effective_date <= locked_through:
                raise ClosedPeriod(
                    f"effective date {item.source.effective_date} is inside the period closed "
                    f"through {locked_through}",
                    field=_field(len(entries), item.index, "effective_date"),
                )
    seen: dict[str, str] = {}
    for item in prepared:
        key = item.source.idempotency_key
        if key is not None:
            if key in seen and seen[key] != item.payload_hash:
                raise IdempotencyConflict(
                    f"idempotency key {key!r} appears twice with different content",
                    field=_field(len(entries), item.index, "idempotency_key"),
                )
            seen[key] = item.payload_hash
    return prepared


def _field(count: int, index: int, name: str) -> str:
    return name if count == 1 else f"entries[{index}].{name}"


def _accounts_for(
    entries: Sequence[EntryInput],
) -> tuple[dict[Any, _AccountInfo], date | None]:
    """The accounts the entries name (by code, id or instance) and the closed-through date."""
    codes: set[str] = set()
    ids: set[int] = set()
    for entry in entries:
        for line in entry.postings:
            account = line.account if isinstance(line, PostingInput) else line[0]
            if isinstance(account, Account):
                ids.add(account.pk)
            elif isinstance(account, bool):
                continue
            elif isinstance(account, int):
                ids.add(account)
            elif isinstance(account, str):
                codes.add(account)
    with _cursor() as cursor:
        cursor.execute(
            """
            SELECT a.id, a.code, a.commodity_id, c.decimal_places, a.must_not_go_negative,
                   a.is_active,
                   (SELECT max(through) FROM ledger_periodclose WHERE reopened_at IS NULL)
              FROM ledger_account a JOIN ledger_commodity c ON c.code = a.commodity_id
             WHERE a.code = ANY(%s) OR a.id = ANY(%s)
            UNION ALL
            SELECT NULL, NULL, NULL, NULL, NULL, NULL,
                   (SELECT max(through) FROM ledger_periodclose WHERE reopened_at IS NULL)
            """,
            [list(codes), list(ids)],
        )
        found: dict[Any, _AccountInfo] = {}
        locked_through = None
        for row in cursor.fetchall():
            locked_through = row[6]
            if row[0] is not None:
                info = _AccountInfo(*row[:6])
                found[info.id] = info
                found[info.code] = info
    return found, locked_through


@contextmanager
def _cursor() -> Iterator[Any]:
    """A psycopg cursor with server-side binding on Django's connection (same transaction).

    The posting path runs the same few statements all day; binding parameters on the server
    lets psycopg prepare them once per connection instead of PostgreSQL parsing each call.
    """
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        yield cursor


def _prepare_one(
    index: int, entry: EntryInput, accounts: dict[Any, _AccountInfo], *, batch: bool
) -> _PreparedEntry:
    def where(name: str) -> str:
        # Field names carry the entry's position only when several entries are posted.
        return f"entries[{index}].{name}" if batch else name

    if not isinstance(entry.effective_date, date) or isinstance(entry.effective_date, datetime):
        raise InvalidEntry(
            "effective_date must be a date (YYYY-MM-DD)", field=where("effective_date")
        )
    if not isinstance(entry.memo, str):
        raise InvalidEntry("memo must be text", field=where("memo"))
    if not isinstance(entry.kind, str) or not KIND_PATTERN.fullmatch(entry.kind):
        raise InvalidEntry(
            "kind must be lower-case letters, digits and underscores (at most 32)",
            field=where("kind"),
        )
    key = entry.idempotency_key
    if key is not None and (not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH):
        raise InvalidEntry(
            f"idempotency key must be 1 to {MAX_KEY_LENGTH} characters",
            field=where("idempotency_key"),
        )
    if len(entry.postings) < 2:
        raise InvalidEntry("an entry needs at least two postings", field=where("postings"))

    lines: list[tuple[_AccountInfo, Decimal, Decimal]] = []
    for n, raw in enumerate(entry.postings):
        line = raw if isinstance(raw, PostingInput) else _as_posting(raw, where(f"postings[{n}]"))
        at = where(f"postings[{n}]")
        account_key = line.account.pk if isinstance(line.account, Account) else line.account
        info = accounts.get(account_key)
        if info is None:
            raise UnknownAccount(f"no account {line.account!r}", field=f"{at}.account")
        if not info.is_active:
            raise InvalidEntry(f"account {info.code} is inactive", field=f"{at}.account")
        quantity = _decimal(line.quantity, f"{at}.quantity")
        value = _decimal(line.value, f"{at}.value")
        if decimal_places(quantity) > info.scale:
            raise InvalidEntry(
                f"quantity {quantity} has more than {info.scale} decimal places, the scale of "
                f"{info.commodity} (account {info.code})",
                field=f"{at}.quantity",
            )
        if decimal_places(value) > VALUE_PLACES:
            raise InvalidEntry(
                f"value {value} has more than {VALUE_PLACES} decimal places", field=f"{at}.value"
            )
        if quantity == 0 and value == 0:
            raise InvalidEntry("quantity and value are both zero", field=f"{at}.quantity")
        if (quantity > 0 > value) or (quantity < 0 < value):
            raise InvalidEntry(
                "quantity and value must have the same sign (debit positive, credit negative)",
                field=f"{at}.value",
            )
        if info.commodity == FUNCTIONAL_CURRENCY and quantity != value:
            raise InvalidEntry(
                f"a posting to {FUNCTIONAL_CURRENCY} account {info.code} must have quantity "
                f"equal to value ({quantity} != {value})",
                field=f"{at}.value",
            )
        lines.append((info, quantity, value))

    total = sum((value for _, _, value in lines), Decimal(0))
    if total != 0:
        raise InvalidEntry(
            f"the entry does not balance: its values sum to {total} {FUNCTIONAL_CURRENCY}",
            field=where("postings"),
        )
    commodities = {info.commodity for info, _, _ in lines}
    if len(commodities) == 1 and FUNCTIONAL_CURRENCY not in commodities:
        (only,) = commodities
        moved = sum((quantity for _, quantity, _ in lines), Decimal(0))
        if moved != 0:
            raise InvalidEntry(
                f"a transfer of {only} must conserve quantity: its quantities sum to {moved}",
                field=where("postings"),
            )
    return _PreparedEntry(
        index=index, source=entry, lines=lines, payload_hash=_payload_hash(entry, lines)
    )


def _as_posting(raw: Any, at: str) -> PostingInput:
    try:
        account, quantity, value = raw
    except (TypeError, ValueError) as exc:
        raise InvalidEntry("a posting is (account, quantity, value)", field=at) from exc
    return PostingInput(account=account, quantity=quantity, value=value)


def _decimal(amount: Any, at: str) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise InvalidEntry(
            f"{at.rsplit('.', 1)[-1]} must be a Decimal, not {type(amount).__name__}", field=at
        )
    amount = Decimal(amount)
    if not amount.is_finite():
        raise InvalidEntry(f"{at.rsplit('.', 1)[-1]} must be a finite number", field=at)
    return amount


def _canonical(amount: Decimal) -> str:
    return f"{amount.normalize():f}"


def _payload_hash(entry: EntryInput, lines: list[tuple[_AccountInfo, Decimal, Decimal]]) -> str:
    payload = {
        "effective_date": entry.effective_date.isoformat(),
        "memo": entry.memo,
        "kind": entry.kind,
        "postings": sorted(
            [info.code, _canonical(quantity), _canonical(value)] for info, quantity, value in lines
        ),
    }
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def _write(
    prepared: list[_PreparedEntry], *, created_by: Any, approved_by: Any
) -> list[tuple[JournalEntry, bool]]:
    """Write the entries; each comes back with whether it was created (False: replayed)."""
    decreases: dict[int, date] = {}
    for item in prepared:
        for info, quantity, _ in item.lines:
            if info.must_not_go_negative and quantity < 0:
                when = item.source.effective_date
                decreases[info.id] = min(when, decreases.get(info.id, when))
    unique = _first_per_key(prepared)
    with _cursor() as cursor:
        if decreases:
            cursor.execute(
                "SELECT id FROM ledger_account WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE",
                [sorted(decreases)],
            )
        written = _insert(cursor, unique, created_by=created_by, approved_by=approved_by)
        if decreases and written:
            _check_not_negative(cursor, decreases)
    existing = _existing_for_replays(unique, written)
    results: list[tuple[JournalEntry, bool]] = []
    for item in prepared:
        key = item.source.idempotency_key
        if id(item) in written:
            results.append((written[id(item)], True))
        elif key is not None and key in existing:
            results.append((existing[key], False))
        else:  # the same key earlier in this batch
            results.append((next(e for e, _ in results if e.idempotency_key == key), False))
    return results


_ENTRY_COLUMNS = """
    effective_date, memo, kind, status, idempotency_key, payload_hash, reversal_of_id,
    created_by_id, approved_by_id, created_at
"""
_POSTING_COLUMNS = "entry_id, account_id, commodity_id, scale, effective_date, quantity, value"

# One entry: the entry and its postings in one statement (one round trip). A replayed
# idempotency key inserts nothing and returns no row.
_INSERT_ONE = f"""
    WITH e AS (
        INSERT INTO ledger_journalentry ({_ENTRY_COLUMNS})
        VALUES (%(date)s, %(memo)s, %(kind)s, 'posted', %(key)s, %(hash)s, %(reversal_of)s,
                %(created_by)s, %(approved_by)s, %(now)s)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING id, sequence
    ), p AS (
        INSERT INTO ledger_posting ({_POSTING_COLUMNS})
        SELECT e.id, u.account, u.commodity, u.scale, %(date)s, u.quantity, u.value
          FROM e, unnest(%(accounts)s::bigint[], %(commodities)s::text[], %(scales)s::smallint[],
                         %(quantities)s::numeric[], %(values)s::numeric[])
                  AS u(account, commodity, scale, quantity, value)
    )
    SELECT id, sequence FROM e
"""

# Many entries: ids are drawn first so postings can name their entry; the postings of
# entries whose key was already posted are dropped by the join.
_INSERT_MANY = f"""
    WITH e AS (
        INSERT INTO ledger_journalentry (id, {_ENTRY_COLUMNS})
        SELECT u.id, u.effective_date, u.memo, u.kind, 'posted', u.key, u.hash, u.reversal_of,
               %(created_by)s, %(approved_by)s, %(now)s
          FROM unnest(%(ids)s::bigint[], %(dates)s::date[], %(memos)s::text[], %(kinds)s::text[],
                      %(keys)s::text[], %(hashes)s::text[], %(reversals)s::bigint[])
               AS u(id, effective_date, memo, kind, key, hash, reversal_of)
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING id, sequence
    ), p AS (
        INSERT INTO ledger_posting ({_POSTING_COLUMNS})
        SELECT u.entry, u.account, u.commodity, u.scale, u.effective_date, u.quantity, u.value
          FROM unnest(%(p_entries)s::bigint[], %(p_accounts)s::bigint[], %(p_commodities)s::text[],
                      %(p_scales)s::smallint[], %(p_dates)s::date[], %(p_quantities)s::numeric[],
                      %(p_values)s::numeric[])
               AS u(entry, account, commodity, scale, effective_date, quantity, value)
          JOIN e ON e.id = u.entry
    )
    SELECT id, sequence FROM e
"""


def _insert(
    cursor: Any, unique: list[_PreparedEntry], *, created_by: Any, approved_by: Any
) -> dict[int, JournalEntry]:
    """Insert entries and postings; returns the entries written, by id() of their input."""
    now = timezone.now()
    created_by_id = getattr(created_by, "pk", created_by)
    approved_by_id = getattr(approved_by, "pk", approved_by)
    common = {"created_by": created_by_id, "approved_by": approved_by_id, "now": now}
    if len(unique) == 1:
        (item,) = unique
        cursor.execute(
            _INSERT_ONE,
            {
                **common,
                "date": item.source.effective_date,
                "memo": item.source.memo,
                "kind": item.source.kind,
                "key": item.source.idempotency_key,
                "hash": item.payload_hash,
                "reversal_of": item.reversal_of_id,
                "accounts": [info.id for info, _, _ in item.lines],
                "commodities": [info.commodity for info, _, _ in item.lines],
                "scales": [info.scale for info, _, _ in item.lines],
                "quantities": [quantity for _, quantity, _ in item.lines],
                "values": [value for _, _, value in item.lines],
            },
        )
        rows = cursor.fetchall()
        ids = [row[0] for row in rows]
    else:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id')) "
            "FROM generate_series(1, %s)",
            [len(unique)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        postings: dict[str, list[Any]] = defaultdict(list)
        for entry_id, item in zip(ids, unique, strict=True):
            for info, quantity, value in item.lines:
                postings["p_entries"].append(entry_id)
                postings["p_accounts"].append(info.id)
                postings["p_commodities"].append(info.commodity)
                postings["p_scales"].append(info.scale)
                postings["p_dates"].append(item.source.effective_date)
                postings["p_quantities"].append(quantity)
                postings["p_values"].append(value)
        cursor.execute(
            _INSERT_MANY,
            {
                **common,
                **postings,
                "ids": ids,
                "dates": [item.source.effective_date for item in unique],
                "memos": [item.source.memo for item in unique],
                "kinds": [item.source.kind for item in unique],
                "keys": [item.source.idempotency_key for item in unique],
                "hashes": [item.payload_hash for item in unique],
                "reversals": [item.reversal_of_id for item in unique],
            },
        )
        rows = cursor.fetchall()
    sequences = dict(rows)
    written: dict[int, JournalEntry] = {}
    for entry_id, item in zip(ids, unique, strict=False):
        if entry_id not in sequences:
            continue
        entry = JournalEntry(
            id=entry_id,
            sequence=sequences[entry_id],
            effective_date=item.source.effective_date,
            memo=item.source.memo,
            kind=item.source.kind,
            status="posted",
            idempotency_key=item.source.idempotency_key,
            payload_hash=item.payload_hash,
            reversal_of_id=item.reversal_of_id,
            created_by_id=created_by_id,
            approved_by_id=approved_by_id,
            created_at=now,
        )
        entry._state.adding = False
        entry._state.db = "default"
        written[id(item)] = entry
    return written


def _first_per_key(prepared: list[_PreparedEntry]) -> list[_PreparedEntry]:
    seen: set[str] = set()
    unique = []
    for item in prepared:
        key = item.source.idempotency_key
        if key is None or key not in seen:
            unique.append(item)
            if key is not None:
                seen.add(key)
    return unique


def _existing_for_replays(
    unique: list[_PreparedEntry], written: dict[int, JournalEntry]
) -> dict[str, JournalEntry]:
    """Entries already posted under the keys that inserted nothing; same payload or refused."""
    replayed = {
        item.source.idempotency_key: item
        for item in unique
        if id(item) not in written and item.source.idempotency_key is not None
    }
    if not replayed:
        return {}
    found = {
        e.idempotency_key: e for e in JournalEntry.objects.filter(idempotency_key__in=replayed)
    }
    for key, item in replayed.items():
        entry = found.get(key)
        if entry is None:  # pragma: no cover - a conflicting row cannot vanish
            raise IdempotencyConflict(f"idempotency key {key!r} could not be resolved")
        if entry.payload_hash != item.payload_hash:
            raise IdempotencyConflict(
                f"idempotency key {key!r} was already used by entry {entry.pk} with different "
                "content",
                field="idempotency_key",
            )
    return {key: found[key] for key in replayed}


def _check_not_negative(cursor: Any, since: dict[int, date]) -> None:
    """Refuse if a locked account would be below zero on any day from its earliest change."""
    cursor.execute(
        """
        SELECT a.code, d.day, d.running, c.decimal_places
          FROM unnest(%s::bigint[], %s::date[]) AS s(account_id, since)
          JOIN ledger_account a ON a.id = s.account_id
          JOIN ledger_commodity c ON c.code = a.commodity_id
          CROSS JOIN LATERAL (
              SELECT day, opening.q + sum(quantity) OVER (ORDER BY day) AS running
                FROM ledger_dailybalance,
                     (SELECT coalesce(sum(quantity), 0) q FROM ledger_monthlybalance
                       WHERE account_id = s.account_id
                         AND month < date_trunc('month', s.since)::date) opening
               WHERE account_id = s.account_id AND day >= date_trunc('month', s.since)::date
          ) d
         WHERE d.day >= s.since AND d.running < 0
         ORDER BY d.day, a.code
         LIMIT 1
        """,
        [list(since), list(since.values())],
    )
    row = cursor.fetchone()
    if row is not None:
        code, day, running, places = row
        raise InsufficientBalance(
            f"account {code} must not go negative: this entry would take it to "
            f"{format_amount(running, places)} on {day}",
            field="postings",
        )


@contextmanager
def _integrity_errors_as_ledger_errors(
    reversed_entry: JournalEntry | None = None,
) -> Iterator[None]:
    """A rule the database refuses (after our own checks) still reaches the caller clearly."""
    try:
        yield
    except IntegrityError as exc:
        cause = exc.__cause__
        diag = getattr(cause, "diag", None)
        constraint = getattr(diag, "constraint_name", None) or ""
        message = getattr(diag, "message_primary", None) or str(exc)
        if reversed_entry is not None and "reversal_of_id" in message + constraint:
            raise AlreadyReversed(
                f"entry #{reversed_entry.sequence} was already reversed", field="entry"
            ) from exc
        if constraint == "ledger_entry_period_open":
            raise ClosedPeriod(message, field="effective_date") from exc
        raise LedgerError(message, code=constraint or "integrity_error") from exc


# --- periods -----------------------------------------------------------------------------


def period_close(*, through: date, by: Any) -> PeriodClose:
    """Close the books through a date: no entry may be dated on or before it."""
    if not has_any_role(by, APPROVE_ROLES):
        raise PeriodError("only a finance approver can close a period", field="by")
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
