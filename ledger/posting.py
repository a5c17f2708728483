"""The write path of the journal: validate, then post in one statement.

The chart (accounts, commodities, closed periods) is kept in memory, keyed by the database's
chart version; every posting statement proves the copy is current (it inserts nothing when
the version differs, and the copy is reloaded). A single entry outside a transaction is one
round trip: its entry, postings and every check happen in one INSERT statement, committed by
PostgreSQL on its own. The database checks every rule again (ledger/migrations/); the checks here
give the caller a clear error, naming the field, before anything is written.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, Inexact, localcontext
from json.encoder import encode_basestring_ascii as _json_text
from typing import Any

from django.db import IntegrityError, connection, transaction

from ledger.dates import posting_date_problem, posting_window
from ledger.errors import (
    AlreadyReversed,
    ClosedPeriod,
    Forbidden,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidEntry,
    LedgerError,
    UnknownAccount,
)
from ledger.models import Account, JournalEntry
from ledger.models.accounts import QUANTITY_WHOLE_DIGITS, VALUE_WHOLE_DIGITS
from ledger.money import EXACT, FUNCTIONAL_CURRENCY, VALUE_PLACES, exceeds_scale, format_amount
from ledger.posting_writes import entries_write
from ledger.posting_writes import prepared_cursor as _cursor
from ledger.text import text_problem

KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_KEY_LENGTH = 200
STALE_CHART_RETRIES = 3


@dataclass(frozen=True)
class PostingInput:
    account: Account | str | int
    quantity: Decimal
    value: Decimal


# The kind of an entry a caller of the ledger's own API posts without naming one.
GENERAL_KIND = "general"


@dataclass(frozen=True)
class EntryInput:
    effective_date: date
    memo: str
    postings: Sequence[PostingInput | tuple[Any, Decimal, Decimal]]
    idempotency_key: str | None = None
    # A caller's own entry, no document's: a person's entry is a manual journal's
    # (ledger.services.manual_journals), which names its kind.
    kind: str = GENERAL_KIND


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


# --- the chart in memory -----------------------------------------------------------------


@dataclass(frozen=True)
class _Chart:
    database: str
    version: int
    accounts: dict[Any, _AccountInfo]  # by id and by code
    closed_through: date | None


_chart: _Chart | None = None
_chart_lock = threading.Lock()


def _current_chart(*, reload: bool = False) -> _Chart:
    global _chart
    database = connection.settings_dict["NAME"]
    chart = _chart
    if chart is not None and chart.database == database and not reload:
        return chart
    with _cursor() as cursor:
        cursor.execute(
            """
            SELECT v.version,
                   (SELECT max(through) FROM ledger_periodclose WHERE reopened_at IS NULL),
                   a.id, a.code, a.commodity_id, c.decimal_places, a.must_not_go_negative,
                   a.is_active
              FROM ledger_chart_version v
              LEFT JOIN ledger_account a ON true
              LEFT JOIN ledger_commodity c ON c.code = a.commodity_id
            """
        )
        rows = cursor.fetchall()
    accounts: dict[Any, _AccountInfo] = {}
    for row in rows:
        if row[2] is not None:
            info = _AccountInfo(*row[2:])
            accounts[info.id] = info
            accounts[info.code] = info
    chart = _Chart(
        database=database, version=rows[0][0], accounts=accounts, closed_through=rows[0][1]
    )
    with _chart_lock:
        _chart = chart
    return chart


# --- posting -----------------------------------------------------------------------------


def post(
    entries: Sequence[EntryInput],
    *,
    created_by: Any = None,
    approved_by: Any = None,
    reversal_of: JournalEntry | None = None,
) -> list[tuple[JournalEntry, bool]]:
    """Post entries, all or nothing; each comes back with whether it was created (False: an
    idempotency key replayed with the same payload)."""
    if not entries:
        raise InvalidEntry("no entries to post", field="entries")
    created_by_id = getattr(created_by, "pk", created_by)
    if created_by_id is not None and created_by_id == getattr(approved_by, "pk", approved_by):
        raise Forbidden("nobody approves their own entry", field="approved_by")
    chart, fresh = _current_chart(), False
    for _attempt in range(STALE_CHART_RETRIES):
        try:
            prepared = _prepare(entries, chart)
        except LedgerError:
            if fresh:
                raise
            # The copy may predate a new account, a reopened period...: judge on a fresh one.
            chart, fresh = _current_chart(reload=True), True
            prepared = _prepare(entries, chart)
        if reversal_of is not None:
            prepared[0].reversal_of_id = reversal_of.pk
        with _database_errors_as_ledger_errors(reversal_of):
            if len(prepared) == 1 and not connection.in_atomic_block:
                # One statement, committed by PostgreSQL on its own: one round trip.
                results = _write(prepared, chart, created_by, approved_by)
            else:
                with transaction.atomic():
                    results = _write(prepared, chart, created_by, approved_by)
        if results is not None:
            return results
        chart, fresh = _current_chart(reload=True), True
    raise LedgerError("the chart of accounts kept changing; try again", code="chart_changing")


@dataclass(frozen=True)
class CheckedEntry:
    """An entry post() would accept: its lines by account id, amounts as Decimals."""

    payload_hash: str
    lines: list[tuple[int, Decimal, Decimal]]


def check(entries: Sequence[EntryInput]) -> list[CheckedEntry]:
    """What post() would say to these entries, writing nothing: the same errors, naming the
    same fields, including an account flagged must-not-go-negative that would go below
    zero on some day as the books stand now."""
    if not entries:
        raise InvalidEntry("no entries to post", field="entries")
    chart = _current_chart()
    # Nothing is written to prove the copy current, so it is compared with the database's.
    with _cursor() as cursor:
        cursor.execute("SELECT version FROM ledger_chart_version")
        (version,) = cursor.fetchone()
    if version != chart.version:
        chart = _current_chart(reload=True)
    prepared = _prepare(entries, chart)
    _check_guarded_accounts(prepared)
    return [
        CheckedEntry(
            payload_hash=_payload_hash(item.source, item.lines),
            lines=[(info.id, quantity, value) for info, quantity, value in item.lines],
        )
        for item in prepared
    ]


_LOWEST_FROM = """
    WITH r AS (
        SELECT day, sum(quantity) OVER (ORDER BY day) AS running
          FROM ledger_dailybalance WHERE account_id = %(account)s
    )
    SELECT coalesce((SELECT running FROM r WHERE day <= %(day)s ORDER BY day DESC LIMIT 1), 0),
           (SELECT running FROM r WHERE day > %(day)s ORDER BY running, day LIMIT 1),
           (SELECT day FROM r WHERE day > %(day)s ORDER BY running, day LIMIT 1)
"""


def _check_guarded_accounts(prepared: list[_PreparedEntry]) -> None:
    drawn: dict[tuple[int, date], Decimal] = defaultdict(Decimal)
    accounts: dict[int, _AccountInfo] = {}
    for item in prepared:
        for info, quantity, _value in item.lines:
            if info.must_not_go_negative:
                drawn[info.id, item.source.effective_date] += quantity
                accounts[info.id] = info
    for (account_id, day), change in sorted(drawn.items()):
        if change >= 0:
            continue
        # Only this day's change is counted: several days drawing on one account are rare
        # enough in a manual journal that the posting itself is left to judge them.
        with _cursor() as cursor:
            cursor.execute(_LOWEST_FROM, {"account": account_id, "day": day}, prepare=False)
            on_day, lowest_after, lowest_day = cursor.fetchone()
        info = accounts[account_id]
        dip, when = on_day + change, day
        if lowest_after is not None and lowest_after + change < dip:
            dip, when = lowest_after + change, lowest_day
        if dip < 0:
            raise InsufficientBalance(
                f"account {info.code} must not go negative: this would take it to "
                f"{format_amount(dip, info.scale)} {info.commodity} on {when}",
                field="postings",
            )


def _write(
    prepared: list[_PreparedEntry], chart: _Chart, created_by: Any, approved_by: Any
) -> list[tuple[JournalEntry, bool]] | None:
    written = _insert(prepared, chart, created_by, approved_by)
    return None if written is None else _with_replays(prepared, written)


def _prepare(entries: Sequence[EntryInput], chart: _Chart) -> list[_PreparedEntry]:
    with localcontext(EXACT):
        try:
            return _prepare_exactly(entries, chart)
        except Inexact as exc:
            raise InvalidEntry(
                "an amount has more digits than the ledger computes with (60)", field="postings"
            ) from exc


def _prepare_exactly(entries: Sequence[EntryInput], chart: _Chart) -> list[_PreparedEntry]:
    batch = len(entries) > 1
    prepared = [
        _prepare_one(i, entry, chart.accounts, batch=batch) for i, entry in enumerate(entries)
    ]
    window = posting_window()
    for item in prepared:
        problem = posting_date_problem(item.source.effective_date, window)
        if problem is not None:
            raise InvalidEntry(
                f"effective date {problem}", field=_field(batch, item.index, "effective_date")
            )
    if chart.closed_through is not None:
        for item in prepared:
            if item.source.effective_date <= chart.closed_through:
                raise ClosedPeriod(
                    f"effective date {item.source.effective_date} is inside the period closed "
                    f"through {chart.closed_through}",
                    field=_field(batch, item.index, "effective_date"),
                )
    seen: dict[str, str] = {}
    for item in prepared:
        key = item.source.idempotency_key
        if key is not None:
            if key in seen and seen[key] != item.payload_hash:
                raise IdempotencyConflict(
                    f"idempotency key {key!r} appears twice with different content",
                    field=_field(batch, item.index, "idempotency_key"),
                )
            seen[key] = item.payload_hash
    return prepared


def _field(batch: bool, index: int, name: str) -> str:
    return f"entries[{index}].{name}" if batch else name


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
    unprintable = text_problem(entry.memo, multiline=True)
    if unprintable is not None:
        raise InvalidEntry(f"memo {unprintable}", field=where("memo"))
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
        # Where the posting is, for an error message: built only when one is raised.
        def at(n: int = n) -> str:
            return where(f"postings[{n}]")

        line = raw if type(raw) is PostingInput else _as_posting(raw, at())
        account = line.account
        info = accounts.get(account.pk if isinstance(account, Account) else account)
        if info is None:
            raise UnknownAccount(f"no account {line.account!r}", field=f"{at()}.account")
        if not info.is_active:
            raise InvalidEntry(f"account {info.code} is inactive", field=f"{at()}.account")
        quantity, value = line.quantity, line.value
        if not (type(quantity) is Decimal and quantity.is_finite()):
            quantity = _decimal(quantity, f"{at()}.quantity")
        if not (type(value) is Decimal and value.is_finite()):
            value = _decimal(value, f"{at()}.value")
        if quantity and quantity.adjusted() >= QUANTITY_WHOLE_DIGITS:
            raise InvalidEntry(
                f"quantity {quantity} has more than {QUANTITY_WHOLE_DIGITS} digits before the "
                "decimal point",
                field=f"{at()}.quantity",
            )
        if value and value.adjusted() >= VALUE_WHOLE_DIGITS:
            raise InvalidEntry(
                f"value {value} has more than {VALUE_WHOLE_DIGITS} digits before the decimal point",
                field=f"{at()}.value",
            )
        if exceeds_scale(quantity, info.scale):
            raise InvalidEntry(
                f"quantity {quantity} has more than {info.scale} decimal places, the scale of "
                f"{info.commodity} (account {info.code})",
                field=f"{at()}.quantity",
            )
        if exceeds_scale(value, VALUE_PLACES):
            raise InvalidEntry(
                f"value {value} has more than {VALUE_PLACES} decimal places", field=f"{at()}.value"
            )
        if quantity == 0 and value == 0:
            raise InvalidEntry("quantity and value are both zero", field=f"{at()}.quantity")
        if (quantity > 0 > value) or (quantity < 0 < value):
            raise InvalidEntry(
                "quantity and value must have the same sign (debit positive, credit negative)",
                field=f"{at()}.value",
            )
        if info.commodity == FUNCTIONAL_CURRENCY and quantity != value:
            raise InvalidEntry(
                f"a posting to {FUNCTIONAL_CURRENCY} account {info.code} must have quantity "
                f"equal to value ({quantity} != {value})",
                field=f"{at()}.value",
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
        index=index,
        source=entry,
        lines=lines,
        # What a replay of the key is compared with; an entry without a key has none.
        payload_hash=_payload_hash(entry, lines) if key is not None else "",
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
    """SHA-256 of the entry's canonical JSON: exactly json.dumps(payload, sort_keys=True,
    separators=(",", ":")) of {effective_date, kind, memo, postings} (what earlier replays
    were hashed with), written out directly, an import hashing thousands of entries."""
    postings = sorted(
        [info.code, _canonical(quantity), _canonical(value)] for info, quantity, value in lines
    )
    encoded = (
        f'{{"effective_date":"{entry.effective_date.isoformat()}",'
        f'"kind":{_json_text(entry.kind)},"memo":{_json_text(entry.memo)},"postings":['
        + ",".join(f'[{_json_text(code)},"{q}","{v}"]' for code, q, v in postings)
        + "]}"
    ).encode()
    return hashlib.sha256(encoded).hexdigest()


def _insert(
    prepared: list[_PreparedEntry], chart: _Chart, created_by: Any, approved_by: Any
) -> dict[int, JournalEntry] | None:
    """Write the entries (the first per idempotency key); None if the chart was stale."""
    return entries_write(
        _first_per_key(prepared),
        version=chart.version,
        created_by_id=getattr(created_by, "pk", created_by),
        approved_by_id=getattr(approved_by, "pk", approved_by),
    )


def _with_replays(
    prepared: list[_PreparedEntry], written: dict[int, JournalEntry]
) -> list[tuple[JournalEntry, bool]]:
    existing = _existing_for_replays(_first_per_key(prepared), written)
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
                f"idempotency key {key!r} was already used by entry #{entry.sequence} with "
                "different content",
                field="idempotency_key",
            )
    return {key: found[key] for key in replayed}


@contextmanager
def _database_errors_as_ledger_errors(reversal_of: JournalEntry | None = None) -> Iterator[None]:
    """A rule the database refuses (after our own checks) still reaches the caller clearly."""
    try:
        yield
    except IntegrityError as exc:
        diag = getattr(exc.__cause__, "diag", None)
        constraint = getattr(diag, "constraint_name", None) or ""
        message = getattr(diag, "message_primary", None) or str(exc)
        if reversal_of is not None and "reversal_of_id" in message + constraint:
            raise AlreadyReversed(
                f"entry #{reversal_of.sequence} was already reversed", field="entry"
            ) from exc
        if constraint == "ledger_entry_period_open":
            raise ClosedPeriod(message, field="effective_date") from exc
        if constraint == "ledger_account_not_negative":
            raise InsufficientBalance(message.split(": ", 1)[-1], field="postings") from exc
        raise LedgerError(message, code=constraint or "integrity_error") from exc
