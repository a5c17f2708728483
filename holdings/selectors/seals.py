"""The subledgers sealed with the journal, and every lot checked against its movements.

The journal's seals (ledger.sealing) cover the entries and their postings. The records the
holdings keep beside them are sealed the same way, entry by entry: for every sealed entry,
in sequence order, one subledger seal over the rows tied to it

    lots           opened_by_entry_id    (the lot's opening fields, see below)
    lot movements  entry_id
    disposals      entry_id
    loan events    entry_id              (an event without an entry, a tier crossing, is
                                          not tied to the journal and is not sealed)
    site costs     entry_id              (invoices and accruals, once posted)
    vendor deposits entry_id
    fixed assets   receipt_entry_id      (the receipt; where and how long the asset is in
                                          service, and its disposal, are its events')
    asset events   entry_id              (depreciation, impairments, disposals)
    HPC revenue    entry_id

A kind added after entries were sealed is sealed from the first entry sealed after it was
added: `holdings_subledgercoverage` keeps, per kind, the last sequence sealed before (null:
from the start), written once by the migration that added it and kept as written, so the
seals written before stay true. Meter readings are tied to no entry: the nightly internal
check (holdings.selectors.integrity) holds them against their files and the HPC revenue
that used them.

Each row's canonical content is a compact JSON document (keys sorted, no spaces, UTF-8) of
every column of its table, read from the database's own description of the table (so a
column added later, and every kind of row, is sealed too), with null columns left out (so
a nullable column added later does not change what was sealed before it), and so a column
added later with the value every earlier row took, at that value (a loan event's attempt
at 1; seals written while it was hashed are verified with it too). Numbers are
written without trailing zeros, times in UTC. A lot's quantity, cost and fair value
adjustment change with every movement: they are not hashed but checked against the sum of
the lot's movements (lot_breaks); everything else of a lot (account, commodity,
acquisition, origin, parent, opening entry, original units and cost) is.

    row_hash     = sha256({"kind": <kind>, "row": {<column>: <value>, ...}})
    row_hashes   = {"<kind>:<id>": row_hash, ...}
    rows_hash    = sha256("<key>=<row_hash>\n..." over the keys in byte order)
    content_hash = sha256("<sequence>:<entry_id>:<rows_hash>:<row_count>")
    seal_hash    = sha256("<previous_hash>:<content_hash>")

(hex digests; the first seal's previous hash is 64 zeros). PostgreSQL recomputes the last
three from each seal's row and keeps the seals insert-only, one per sealed entry, in
sequence (holdings/migrations/0013_subledger_seals.sql); the row hashes name the row that changed.

The seals are written by the journal's sealing job, right after the journal's seals, in
its transaction and under its lock (ledger.sealing.journal_seal(chains=True)), and verified
with the journal (ledger.selectors.journal_verify(chains=True)): the ledger finds this
module by its name and never imports the holdings.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from holdings.selectors.seal_kinds import BY_RECORD, ORDER, SUBLEDGERS
from holdings.selectors.seal_kinds import REASONS as REASONS  # the chain's, for its callers
from holdings.selectors.seal_kinds import Subledger as Subledger
from ledger.sealing import (
    GENESIS_HASH,
    ChainVerification,
    JournalBreak,
    link_hash,
)

CHAIN = "subledgers"


BATCH = 2000


_BEFORE_ANY = -(2**63)


_HEAD = "SELECT sequence, seal_hash FROM holdings_subledgerseal ORDER BY sequence DESC LIMIT 1"


def chain_head() -> tuple[int | None, str]:
    """The last subledger seal's sequence and hash (None and the genesis value before)."""
    with connection.cursor() as cursor:
        cursor.execute(_HEAD)
        row = cursor.fetchone()
    return (row[0], row[1]) if row else (None, GENESIS_HASH)


def _number(value: Decimal) -> str:
    if value.is_finite() and value == 0:
        return "0"
    return f"{value.normalize():f}" if value.is_finite() else str(value)


def _canonical(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return f"{aware.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


# PostgreSQL's json and jsonb types: their values are read as documents, however the
# connection hands them over (Django's reads them as text).
_JSON_TYPES = frozenset({114, 3802})


def _json_value(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value, parse_float=Decimal)
    return value


def canonical_row(
    record: str,
    columns: Sequence[str],
    row: Sequence[Any],
    json_columns: frozenset[str] = frozenset(),
    *,
    as_added: bool = True,
) -> bytes:
    """A row's canonical document: its columns but the mutable ones, nulls left out, and
    (unless not `as_added`) a column added later left out at the value every earlier row
    took; a JSON column as the document it holds."""
    subledger = BY_RECORD[record]
    left_out = dict(subledger.added_with) if as_added else {}
    document = {
        "kind": record,
        "row": {
            column: _canonical(_json_value(value) if column in json_columns else value)
            for column, value in zip(columns, row, strict=True)
            if value is not None
            and column not in subledger.mutable
            and not (column in left_out and value == left_out[column])
        },
    }
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _sha256(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def rows_hash(row_hashes: Mapping[str, str]) -> str:
    return _sha256("\n".join(f"{key}={row_hashes[key]}" for key in sorted(row_hashes)).encode())


def content_hash(*, sequence: int, entry_id: int, rows_hash: str, row_count: int) -> str:
    return _sha256(f"{sequence}:{entry_id}:{rows_hash}:{row_count}".encode())


def _key_order(key: str) -> tuple[int, int]:
    record, _, row_id = key.partition(":")
    return ORDER.get(record, len(ORDER)), int(row_id) if row_id.isdigit() else 0


def entry_rows(entry_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """The row hashes of the subledger rows tied to each of `entry_ids`: one query per
    subledger, whatever the number of entries."""
    return _entry_rows(entry_ids)[0]


def _entry_rows(entry_ids: Sequence[int]) -> tuple[dict[int, dict[str, str]], dict[str, str]]:
    """entry_rows, and by key the hash of each row that has a column left out at the value
    it was added with, with that column in: how seals written between the column's
    migration (holdings 0034 for a loan event's attempt) and its leaving out hashed it."""
    found: dict[int, dict[str, str]] = defaultdict(dict)
    with_added: dict[str, str] = {}
    if not entry_ids:
        return found, with_added
    with connection.cursor() as cursor:
        for subledger in SUBLEDGERS:
            cursor.execute(
                f"SELECT * FROM {subledger.table} WHERE {subledger.entry_column} = ANY(%s)",
                [list(entry_ids)],
            )
            columns = [column.name for column in cursor.description]
            json_columns = frozenset(
                column.name for column in cursor.description if column.type_code in _JSON_TYPES
            )
            at_entry, at_id = columns.index(subledger.entry_column), columns.index("id")
            for row in cursor.fetchall():
                key = f"{subledger.record}:{row[at_id]}"
                document = canonical_row(subledger.record, columns, row, json_columns)
                found[row[at_entry]][key] = _sha256(document)
                if subledger.added_with:
                    whole = canonical_row(
                        subledger.record, columns, row, json_columns, as_added=False
                    )
                    if whole != document:
                        with_added[key] = _sha256(whole)
    return found, with_added


@dataclass(frozen=True, slots=True)
class _Seal:
    sequence: int
    entry_id: int
    previous_hash: str
    row_count: int
    row_hashes: dict[str, str]
    rows_hash: str
    content_hash: str
    seal_hash: str


@contextmanager
def _one_snapshot() -> Iterator[None]:
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def subledgers_verify() -> ChainVerification:
    """Walk the subledger seals in sequence order, hashing the rows of every sealed entry
    again, and report the first break: a seal rewritten or out of the chain, a row altered,
    removed or added, a sealed entry without a subledger seal, a row tied to no entry."""
    with _one_snapshot():
        head_sequence, head_hash = chain_head()
        checked, found = (0, None) if head_sequence is None else _walk()
        through = _BEFORE_ANY if head_sequence is None else head_sequence
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM ledger_journalentry WHERE sequence > %s", [through]
            )
            (unsealed,) = cursor.fetchone()
        others = [_unsealed_entry(through), _orphan_row()]
        candidates = [b for b in (found, *others) if b is not None]
        first = (
            min(candidates, key=lambda b: (b.sequence is None, b.sequence or 0))
            if candidates
            else None
        )
    return ChainVerification(
        chain=CHAIN,
        entries_checked=checked,
        sealed_through=head_sequence,
        head_hash=head_hash,
        unsealed_entries=unsealed,
        first_break=first,
    )


def _seal_batches() -> Iterator[list[_Seal]]:
    after = _BEFORE_ANY
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT sequence, entry_id, previous_hash, row_count, row_hashes, rows_hash,
                       content_hash, seal_hash
                  FROM holdings_subledgerseal
                 WHERE sequence > %s ORDER BY sequence LIMIT %s
                """,
                [after, BATCH],
            )
            rows = cursor.fetchall()
        if rows:
            yield [
                _Seal(row[0], row[1], row[2], row[3], _row_hashes(row[4]), row[5], row[6], row[7])
                for row in rows
            ]
        if len(rows) < BATCH:
            return
        after = rows[-1][0]


def _row_hashes(value: Any) -> dict[str, str]:
    """A seal's row hashes as stored; anything but an object of strings (only a seal
    rewritten past its checks) reads as {} and fails its rows hash."""
    try:
        document = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        return {}
    if not isinstance(document, dict):
        return {}
    return {str(key): str(item) for key, item in document.items()}


def coverage() -> dict[str, int]:
    """Per kind added after entries were sealed, the last sequence sealed before it: its
    rows are not in the seals up to that sequence."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT record, after_sequence FROM holdings_subledgercoverage "
            "WHERE after_sequence IS NOT NULL"
        )
        return {record: after for record, after in cursor.fetchall()}


def _covered(seal: _Seal, now: dict[str, str], since: Mapping[str, int]) -> dict[str, str]:
    """The rows the seal covers: those of kinds sealed by its time."""
    if not since:
        return now
    return {
        key: digest
        for key, digest in now.items()
        if seal.sequence > since.get(key.partition(":")[0], _BEFORE_ANY)
    }


def _walk() -> tuple[int, JournalBreak | None]:
    previous, checked = GENESIS_HASH, 0
    since = coverage()
    for batch in _seal_batches():
        rows, with_added = _entry_rows([seal.entry_id for seal in batch])
        for seal in batch:
            now = _covered(seal, rows.get(seal.entry_id, {}), since)
            found = _check_seal(seal, previous) or _check_rows(seal, now, with_added)
            if found is not None:
                return checked, found
            previous, checked = seal.seal_hash, checked + 1
    return checked, None


def _break(
    seal: _Seal, reason: str, detail: str, record: str | None = None, row_id: int | None = None
) -> JournalBreak:
    return JournalBreak(
        seal.sequence, seal.entry_id, reason, detail, chain=CHAIN, record=record, record_id=row_id
    )


def _check_seal(seal: _Seal, previous: str) -> JournalBreak | None:
    hashes = seal.row_hashes
    recomputed = content_hash(
        sequence=seal.sequence,
        entry_id=seal.entry_id,
        rows_hash=seal.rows_hash,
        row_count=seal.row_count,
    )
    if (
        seal.row_count != len(hashes)
        or rows_hash(hashes) != seal.rows_hash
        or recomputed != seal.content_hash
        or seal.seal_hash != link_hash(previous_hash=seal.previous_hash, content_hash=recomputed)
    ):
        return _break(
            seal,
            "seal_altered",
            f"the subledger seal of sequence {seal.sequence} was altered: its hashes do not "
            "follow from its own columns",
        )
    if seal.previous_hash != previous:
        return _break(
            seal,
            "chain_broken",
            f"the subledger seal of sequence {seal.sequence} carries previous hash "
            f"{seal.previous_hash[:16]}..., not {previous[:16]}..., the hash of the seal "
            "before it: one of the two seals was removed or rewritten",
        )
    return None


def _check_rows(
    seal: _Seal, now: dict[str, str], with_added: Mapping[str, str]
) -> JournalBreak | None:
    if now == seal.row_hashes:
        return None
    where = f"entry {seal.entry_id} at sequence {seal.sequence}"
    for key in sorted(set(now) | set(seal.row_hashes), key=_key_order):
        sealed_hash, current = seal.row_hashes.get(key), now.get(key)
        if sealed_hash == current or (
            sealed_hash is not None and sealed_hash == with_added.get(key)
        ):
            continue
        record, _, raw_id = key.partition(":")
        subledger = BY_RECORD.get(record)
        label = subledger.label if subledger else record
        row_id = int(raw_id) if raw_id.isdigit() else None
        if sealed_hash is None:
            return _break(
                seal,
                "row_added",
                f"{label} {raw_id} is tied to {where} but was not sealed with it",
                record,
                row_id,
            )
        if current is None:
            return _break(
                seal,
                "row_removed",
                f"{label} {raw_id}, sealed with {where}, is gone or no longer tied to it",
                record,
                row_id,
            )
        reason = subledger.reason if subledger else "row_added"
        return _break(
            seal,
            reason,
            f"{label} {raw_id} of {where} differs from what was sealed",
            record,
            row_id,
        )
    return None


def _unsealed_entry(through: int) -> JournalBreak | None:
    """A journal entry inside the sealed range without a subledger seal (its seal removed,
    or the entry written past the ledger)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT e.sequence, e.id FROM ledger_journalentry e
             WHERE e.sequence <= %s
               AND NOT EXISTS (SELECT 1 FROM holdings_subledgerseal s WHERE s.sequence = e.sequence)
             ORDER BY e.sequence LIMIT 1
            """,
            [through],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return JournalBreak(
        row[0],
        row[1],
        "entry_unsealed",
        f"entry {row[1]} at sequence {row[0]} has no subledger seal, but later entries have "
        "one: its seal was removed, or the entry was written past the ledger",
        chain=CHAIN,
    )


def _orphan_row() -> JournalBreak | None:
    """A subledger row tied to an entry that does not exist."""
    with connection.cursor() as cursor:
        for subledger in SUBLEDGERS:
            cursor.execute(
                f"""
                SELECT t.id, t.{subledger.entry_column} FROM {subledger.table} t
                 WHERE t.{subledger.entry_column} IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM ledger_journalentry e
                                    WHERE e.id = t.{subledger.entry_column})
                 ORDER BY t.id LIMIT 1
                """
            )
            row = cursor.fetchone()
            if row is not None:
                return JournalBreak(
                    None,
                    row[1],
                    "row_added",
                    f"{subledger.label} {row[0]} is tied to entry {row[1]}, which does not exist",
                    chain=CHAIN,
                    record=subledger.record,
                    record_id=row[0],
                )
    return None


@dataclass(frozen=True)
class LotBreak:
    """A lot row that disagrees with its movements or with what opened it. `field` is the
    lot's column (or `opening`: no movement opened it); `found` what the row holds,
    `expected` what its movements or its opening say."""

    lot_id: int
    account: str
    commodity: str
    field: str
    found: str
    expected: str
    detail: str


_LOT_CHECK = """
WITH sums AS MATERIALIZED (
    SELECT lot_id, sum(quantity) AS q, sum(cost) AS c, sum(fair_value_adjustment) AS a
      FROM holdings_lotmovement GROUP BY lot_id
), openings AS MATERIALIZED (
    SELECT DISTINCT ON (lot_id) lot_id, id, entry_id, quantity, cost
      FROM holdings_lotmovement WHERE kind IN ('open', 'transfer_in')
     ORDER BY lot_id, id
), checked AS (
    SELECT l.id, coalesce(a.code, l.account_id::text) AS account, l.commodity_id,
           l.quantity, l.cost, l.fair_value_adjustment,
           coalesce(s.q, 0) AS q, coalesce(s.c, 0) AS c, coalesce(s.a, 0) AS adj,
           o.id AS opening_id, o.entry_id AS opening_entry, o.quantity AS opening_quantity,
           o.cost AS opening_cost, l.opened_by_entry_id, l.original_quantity, l.original_cost,
           a.id AS account_found, a.commodity_id AS account_commodity,
           EXISTS (SELECT 1 FROM ledger_posting p
                    WHERE p.entry_id = l.opened_by_entry_id AND p.account_id = l.account_id)
               AS opening_posted,
           l.parent_id, parent.id AS parent_found, parent.acquired_at AS parent_acquired_at,
           parent.commodity_id AS parent_commodity, l.acquired_at
      FROM holdings_lot l
      LEFT JOIN sums s ON s.lot_id = l.id
      LEFT JOIN openings o ON o.lot_id = l.id
      LEFT JOIN ledger_account a ON a.id = l.account_id
      LEFT JOIN holdings_lot parent ON parent.id = l.parent_id
)
SELECT * FROM checked
 WHERE quantity <> q OR cost <> c OR fair_value_adjustment <> adj
    OR opening_id IS NULL
    OR opening_entry IS DISTINCT FROM opened_by_entry_id
    OR opening_quantity IS DISTINCT FROM original_quantity
    OR opening_cost IS DISTINCT FROM original_cost
    OR account_found IS NULL OR NOT opening_posted
    OR account_commodity IS DISTINCT FROM commodity_id
    OR (parent_id IS NOT NULL AND (parent_found IS NULL
        OR parent_acquired_at IS DISTINCT FROM acquired_at
        OR parent_commodity IS DISTINCT FROM commodity_id))
 ORDER BY id
 LIMIT %s
"""


def lot_breaks(*, limit: int = 100) -> list[LotBreak]:
    """Every lot row (at most `limit`) whose units, cost or adjustment differ from the sum
    of its movements, or whose opening fields differ from what opened it: its opening
    movement (of its opening entry, with its original units and cost), its opening entry
    (which posts to the lot's account), its account (of the lot's commodity) and, for a lot
    moved from another, its parent (same acquisition and commodity). The first field that
    disagrees is named, one break per lot."""
    with connection.cursor() as cursor:
        cursor.execute(_LOT_CHECK, [limit])
        columns = [column.name for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return [_lot_break(row) for row in rows]


def _lot_break(row: dict[str, Any]) -> LotBreak:
    lot = f"lot {row['id']}"

    def made(field: str, found: Any, expected: Any, detail: str) -> LotBreak:
        return LotBreak(
            lot_id=row["id"],
            account=row["account"],
            commodity=row["commodity_id"],
            field=field,
            found=str(_canonical(found)),
            expected=str(_canonical(expected)),
            detail=f"{lot} in {row['account']}: {detail}",
        )

    for field, found, expected, words in (
        ("quantity", row["quantity"], row["q"], "units"),
        ("cost", row["cost"], row["c"], "cost"),
        ("fair_value_adjustment", row["fair_value_adjustment"], row["adj"], "adjustment"),
    ):
        if found != expected:
            return made(
                field,
                found,
                expected,
                f"holds {_canonical(found)} {words} but its movements sum to "
                f"{_canonical(expected)}",
            )
    if row["opening_id"] is None:
        return made("opening", "", "", "no movement opened it")
    if row["opening_entry"] != row["opened_by_entry_id"]:
        return made(
            "opened_by_entry",
            row["opened_by_entry_id"],
            row["opening_entry"],
            f"names entry {row['opened_by_entry_id']} as its opening but its opening "
            f"movement was posted by entry {row['opening_entry']}",
        )
    for field, found, expected, words in (
        ("original_quantity", row["original_quantity"], row["opening_quantity"], "units"),
        ("original_cost", row["original_cost"], row["opening_cost"], "cost"),
    ):
        if found != expected:
            return made(
                field,
                found,
                expected,
                f"says it opened with {_canonical(found)} {words} but its opening movement "
                f"says {_canonical(expected)}",
            )
    if row["account_found"] is None or not row["opening_posted"]:
        return made(
            "account",
            row["account"],
            "",
            f"sits in account {row['account']}, which its opening entry "
            f"{row['opened_by_entry_id']} does not post to",
        )
    if row["account_commodity"] != row["commodity_id"]:
        return made(
            "commodity",
            row["commodity_id"],
            row["account_commodity"],
            f"is of {row['commodity_id']} but its account holds {row['account_commodity']}",
        )
    if row["parent_found"] is None:
        return made(
            "parent",
            row["parent_id"],
            "",
            f"was moved from lot {row['parent_id']}, which does not exist",
        )
    if row["parent_acquired_at"] != row["acquired_at"]:
        return made(
            "acquired_at",
            row["acquired_at"],
            row["parent_acquired_at"],
            f"says it was acquired at {_canonical(row['acquired_at'])} but the lot it was "
            f"moved from, lot {row['parent_id']}, at {_canonical(row['parent_acquired_at'])}",
        )
    return made(
        "commodity",
        row["commodity_id"],
        row["parent_commodity"],
        f"is of {row['commodity_id']} but the lot it was moved from, lot {row['parent_id']}, "
        f"of {row['parent_commodity']}",
    )
