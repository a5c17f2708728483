"""Writing entries the posting path has validated: one INSERT statement, or COPY for a
batch. ledger.posting validates and chooses nothing here; this module only writes.

One entry, or a few: entries and their postings in one INSERT statement (one round trip;
outside a transaction PostgreSQL commits it on its own). A batch inside a transaction (the
import path): COPY of the entries, then COPY of their postings. PostgreSQL checks every rule
either way (ledger/migrations/0018_set_based_writes.sql): the postings' rules once over each
statement of postings, and that every entry has its postings once, at commit. For COPY, ids
come from the entries' sequence first, so the postings name their entries; the global
sequence numbers are PostgreSQL's, read back after.

An idempotency key already posted is not written (ledger.posting returns the entry posted
with it). A key that another transaction posts while a COPY writes fails the COPY on the
key's unique index: the batch is undone to before it and goes by the INSERT statement,
which waits for that transaction and skips its entries.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from django.db import IntegrityError, connection, transaction
from django.db.models.base import ModelState
from django.utils import timezone

from ledger.models import JournalEntry


class _PreparedCursor(psycopg.Cursor):
    """Server-side binding, every statement prepared once per connection (unless
    DATABASE_PREPARED_STATEMENTS is off: psycopg then sends each one whole)."""

    def execute(  # type: ignore[override]
        self, query: Any, params: Any = None, *, prepare: bool | None = None, **kw: Any
    ) -> Any:
        return super().execute(query, params, prepare=True if prepare is None else prepare, **kw)


@contextmanager
def prepared_cursor() -> Iterator[Any]:
    """A prepared-statement cursor on Django's connection (so in its transaction)."""
    connection.ensure_connection()
    # Errors reach callers as Django's (IntegrityError...), as from any Django cursor.
    with connection.wrap_database_errors, _PreparedCursor(connection.connection) as cursor:
        yield cursor


# Fewer entries than this go in one INSERT statement: its single round trip costs less.
COPY_MIN_ENTRIES = 64

KEY_CONSTRAINT = "ledger_entry_idempotency_key"

_ENTRY_COLUMNS = """
    effective_date, memo, kind, status, idempotency_key, payload_hash, reversal_of_id,
    created_by_id, approved_by_id, created_at
"""
_POSTING_COLUMNS = "entry_id, account_id, commodity_id, scale, effective_date, quantity, value"

# Entries and their postings in one statement. The entries are written only if the chart
# version is the one the caller validated against; an idempotency key already posted
# inserts nothing (and that entry's postings are dropped by the join). The result always has
# one row carrying the version seen, then one row per entry written (its position counted
# from 1). Postings take their ids in the order given. Entries and postings travel as two
# JSON arrays of arrays: one parameter each, dumped by the json module rather than a dozen
# typed arrays dumped value by value; amounts are JSON strings, read back as numeric exactly.
_INSERT = f"""
    WITH v AS (
        SELECT version FROM ledger_chart_version
    ), u AS MATERIALIZED (
        SELECT nextval((SELECT pg_get_serial_sequence('ledger_journalentry', 'id')::regclass))
                   AS id, j.position,
               (j.e->>0)::date AS effective_date, j.e->>1 AS memo, j.e->>2 AS kind,
               j.e->>3 AS key, j.e->>4 AS hash, (j.e->>5)::bigint AS reversal_of
          FROM jsonb_array_elements(%(entries)s::jsonb) WITH ORDINALITY AS j(e, position)
         WHERE (SELECT version FROM v) = %(version)s
    ), e AS (
        INSERT INTO ledger_journalentry (id, {_ENTRY_COLUMNS})
        SELECT u.id, u.effective_date, u.memo, u.kind, 'posted', u.key, u.hash, u.reversal_of,
               %(created_by)s, %(approved_by)s, %(now)s
          FROM u ORDER BY u.position
        ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING id, sequence
    ), ep AS (
        SELECT u.position, u.effective_date, e.id, e.sequence FROM u JOIN e ON e.id = u.id
    ), p AS (
        INSERT INTO ledger_posting ({_POSTING_COLUMNS})
        SELECT ep.id, (l.p->>1)::bigint, l.p->>2, (l.p->>3)::smallint, ep.effective_date,
               (l.p->>4)::numeric, (l.p->>5)::numeric
          FROM jsonb_array_elements(%(postings)s::jsonb) WITH ORDINALITY AS l(p, n)
          JOIN ep ON ep.position = (l.p->>0)::bigint
         ORDER BY l.n
    )
    SELECT v.version, NULL::bigint, NULL::bigint, NULL::bigint FROM v
    UNION ALL
    SELECT NULL, position, id, sequence FROM ep
"""


def entries_write(
    unique: Sequence[Any], *, version: int, created_by_id: Any, approved_by_id: Any
) -> dict[int, JournalEntry] | None:
    """Write prepared entries (ledger.posting's, one per idempotency key) whose key is not
    posted yet: the entries written, by id() of their item; None if the chart's version is no
    longer `version` (nothing written)."""
    now = timezone.now()
    ids = (created_by_id, approved_by_id)
    rows: list[tuple[Any, int, int]] | None = None
    if len(unique) >= COPY_MIN_ENTRIES and connection.in_atomic_block:
        try:
            rows = _copy_entries(
                unique, version=version, created_by_id=ids[0], approved_by_id=ids[1], now=now
            )
        except KeyTakenMeanwhile:
            rows = None
        else:
            if rows is None:
                return None
    if rows is None:
        rows = _insert_statement(unique, version, ids, now)
    if rows is None:
        return None
    written: dict[int, JournalEntry] = {}
    common = {
        "status": "posted",
        "created_by_id": ids[0],
        "approved_by_id": ids[1],
        "created_at": now,
    }
    for item, entry_id, sequence in rows:
        source = item.source
        written[id(item)] = _entry_as_written(
            {
                **common,
                "id": entry_id,
                "sequence": sequence,
                "effective_date": source.effective_date,
                "memo": source.memo,
                "kind": source.kind,
                "idempotency_key": source.idempotency_key,
                "payload_hash": item.payload_hash,
                "reversal_of_id": item.reversal_of_id,
            }
        )
    return written


def _entry_as_written(values: dict[str, Any]) -> JournalEntry:
    """The row as written, as Model.from_db would build it read back, without the per-field
    work of Model.__init__ (a thousand entries a batch): the model has no signal handlers or
    field that needs it, only plain columns (tests/ledger/test_posting_writes.py)."""
    entry = JournalEntry.__new__(JournalEntry)
    entry.__dict__.update(values)
    state = ModelState()
    state.adding = False
    state.db = "default"
    entry._state = state
    return entry


def _insert_statement(
    unique: Sequence[Any], version: int, ids: tuple[Any, Any], now: datetime
) -> list[tuple[Any, int, int]] | None:
    """The entries and their postings in one INSERT statement: each written with its id and
    sequence; None if the chart was stale."""
    created_by_id, approved_by_id = ids
    entries = []
    postings = []
    for position, item in enumerate(unique, start=1):
        source = item.source
        entries.append(
            (
                source.effective_date.isoformat(),
                source.memo,
                source.kind,
                source.idempotency_key,
                item.payload_hash,
                item.reversal_of_id,
            )
        )
        for info, quantity, value in item.lines:
            postings.append(
                (position, info.id, info.commodity, info.scale, str(quantity), str(value))
            )
    with prepared_cursor() as cursor:
        cursor.execute(
            _INSERT,
            {
                "entries": json.dumps(entries),
                "postings": json.dumps(postings),
                "version": version,
                "created_by": created_by_id,
                "approved_by": approved_by_id,
                "now": now,
            },
        )
        rows = cursor.fetchall()
    if rows[0][0] != version:
        return None
    return [
        (unique[position - 1], entry_id, sequence) for _v, position, entry_id, sequence in rows[1:]
    ]


# The sequence is looked up once, in a subquery: pg_get_serial_sequence row by row searches
# the catalog for every id, seven times the cost of the nextval itself.
_PREPARE = """
    SELECT (SELECT version FROM ledger_chart_version),
           ARRAY(SELECT nextval((SELECT pg_get_serial_sequence('ledger_journalentry', 'id')
                                        ::regclass))
                   FROM generate_series(1, %(count)s)),
           ARRAY(SELECT idempotency_key FROM ledger_journalentry
                  WHERE idempotency_key = ANY(%(keys)s::text[]))
"""


class KeyTakenMeanwhile(Exception):
    """Another transaction posted one of the batch's idempotency keys during the COPY."""


def _copy_entries(
    items: Sequence[Any],
    *,
    version: int,
    created_by_id: int | None,
    approved_by_id: int | None,
    now: datetime,
) -> list[tuple[Any, int, int]] | None:
    """Write the prepared entries `items` (ledger.posting's, one per idempotency key) whose
    key is not posted yet: each written one with its id and sequence, in order. None when the
    chart's version is no longer `version` (nothing written)."""
    keys = [item.source.idempotency_key for item in items if item.source.idempotency_key]
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        # The entries' check for postings waits for the commit even where a caller asked
        # for checks at once: the postings follow the entries.
        cursor.execute("SET CONSTRAINTS ledger_entries_have_postings DEFERRED")
        cursor.execute(_PREPARE, {"count": len(items), "keys": keys})
        row = cursor.fetchone()
        assert row is not None
        current, ids, taken = row
    if current != version:
        return None
    posted = set(taken)
    fresh = [item for item in items if item.source.idempotency_key not in posted]
    if not fresh:
        return []
    ids = ids[: len(fresh)]
    if keys:
        # A key posted meanwhile fails the COPY: undone to here, then posted another way.
        try:
            with transaction.atomic():
                sequences = _copy(fresh, ids, created_by_id, approved_by_id, now)
        except IntegrityError as exc:
            diag = getattr(exc.__cause__, "diag", None)
            if getattr(diag, "constraint_name", None) == KEY_CONSTRAINT:
                raise KeyTakenMeanwhile from exc
            raise
    else:
        sequences = _copy(fresh, ids, created_by_id, approved_by_id, now)
    return [
        (item, entry_id, sequences[entry_id]) for item, entry_id in zip(fresh, ids, strict=True)
    ]


def _copy(
    fresh: Sequence[Any],
    ids: Sequence[int],
    created_by_id: int | None,
    approved_by_id: int | None,
    now: datetime,
) -> dict[int, int]:
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        with cursor.copy(f"COPY ledger_journalentry (id, {_ENTRY_COLUMNS}) FROM STDIN") as copy:
            for item, entry_id in zip(fresh, ids, strict=True):
                source = item.source
                copy.write_row(
                    (
                        entry_id,
                        source.effective_date,
                        source.memo,
                        source.kind,
                        "posted",
                        source.idempotency_key,
                        item.payload_hash,
                        item.reversal_of_id,
                        created_by_id,
                        approved_by_id,
                        now,
                    )
                )
        with cursor.copy(f"COPY ledger_posting ({_POSTING_COLUMNS}) FROM STDIN") as copy:
            for item, entry_id in zip(fresh, ids, strict=True):
                day = item.source.effective_date
                for info, quantity, value in item.lines:
                    copy.write_row(
                        (entry_id, info.id, info.commodity, info.scale, day, quantity, value)
                    )
        # The ids came from one call of the sequence, so they lie close together: one scan of
        # the key's range finds them, where a look-up per id costs about three times as much.
        # Entries of other transactions that drew ids meanwhile come too, and are not asked for.
        cursor.execute(
            "SELECT id, sequence FROM ledger_journalentry WHERE id BETWEEN %s AND %s",
            [min(ids), max(ids)],
        )
        return dict(cursor.fetchall())
