"""Two queries over one snapshot, each a row a day of the journal's text, read side by side
and put in the journal's order (the beancount export's, holdings.selectors.exports).

A row: the day, its first problem, its entries' text in sequence order, each entry's
sequence (8 bytes) and text length (4 bytes) in network order, and what else the query
sends (Day). With a transaction of its own (own_snapshot), one query runs on a second
connection reading the same snapshot (`pg_export_snapshot`, `SET TRANSACTION SNAPSHOT`), so
that PostgreSQL works on both at once; its COPY is read by a thread, since PostgreSQL
answers a COPY only with its first rows. In a caller's transaction, which a second
connection cannot see, both run on its connection as server-side cursors, one after the
other; and so when no second connection can be had.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from itertools import accumulate
from typing import Any, NamedTuple

import psycopg
from django.db import OperationalError, connection, connections, transaction
from psycopg import sql

logger = logging.getLogger(__name__)


@contextmanager
def own_snapshot() -> Iterator[str | None]:
    """The snapshot to read: the caller's transaction (None), or a read-only transaction of
    one's own, whose snapshot another connection can read too (its id)."""
    if connection.in_atomic_block:
        yield None
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
        yield snapshot


# Queries that read every row: not compiled (JIT), their sorts and hashes in memory, and
# tables read in order rather than through their indexes (the pages cheap to fetch out
# of order that the reports are planned with would have the postings read account by
# account, at random).
QUERY_SETTINGS = "SET LOCAL jit = off; SET LOCAL work_mem = '256MB'; SET LOCAL random_page_cost = 4"
DAY_TYPES = ["date", "text", "text", "bytea", "bytea", "int8[]"]
# Days a fetch, when the two queries share the caller's connection.
FETCH_DAYS = 16


class Day(NamedTuple):
    """A row of one of the two queries: one day."""

    day: date
    error: str | None
    text: str
    sequences: bytes  # each entry's, in order, 8 bytes in network order
    lengths: bytes  # each entry's text's, 4 bytes in network order
    # The second query's (holdings.selectors.exports): the accounts in a commodity other
    # than USD with a posting, among the entries exported, that the movements of their lots
    # do not explain (entry by entry, in quantity and value; an account without lots and
    # with postings is one of them). None in the first's.
    booked_none: list[int] | None


def in_journal_order(
    first: Iterator[Day], second: Iterator[Day]
) -> Iterator[tuple[str | None, str]]:
    """The two queries' days as one journal, (the day's first problem, its text) a day:
    day by day, and within a day the entries by sequence."""
    a, b = next(first, None), next(second, None)
    while a is not None or b is not None:
        if a is not None and (b is None or a.day < b.day):
            error, text = a.error, a.text
            a = next(first, None)
        elif b is not None and (a is None or b.day < a.day):
            error, text = b.error, b.text
            b = next(second, None)
        else:  # the same day in both
            assert a is not None and b is not None
            error, text = a.error or b.error, _interleaved(a, b)
            a, b = next(first, None), next(second, None)
        yield error, text


class _Entries(NamedTuple):
    """A day's text and, for each of its entries, its sequence and where its text ends."""

    text: str
    sequences: array
    ends: array

    @classmethod
    def of(cls, day: Day) -> _Entries:
        ends = array("q", accumulate(_numbers("i", day.lengths)))
        return cls(day.text, _numbers("q", day.sequences), ends)

    def start(self, entry: int) -> int:
        """Where the text of the entry at `entry` (counted from 0) starts."""
        return self.ends[entry - 1] if entry else 0


def _numbers(typecode: str, data: bytes) -> array:
    numbers = array(typecode, data)
    if sys.byteorder == "little":  # PostgreSQL sends them in network order
        numbers.byteswap()
    return numbers


def _interleaved(a_day: Day, b_day: Day) -> str:
    """One day's entries of both queries by sequence, a run of one query's at a time."""
    a, b = _Entries.of(a_day), _Entries.of(b_day)
    days, taken = (a, b), [0, 0]
    pieces = []
    while taken[0] < len(a.sequences) and taken[1] < len(b.sequences):
        n = 0 if a.sequences[taken[0]] < b.sequences[taken[1]] else 1
        this, other = days[n], days[1 - n]
        run_end = bisect_left(this.sequences, other.sequences[taken[1 - n]], taken[n])
        pieces.append(this.text[this.start(taken[n]) : this.ends[run_end - 1]])
        taken[n] = run_end
    pieces += [a.text[a.start(taken[0]) :], b.text[b.start(taken[1]) :]]
    return "".join(pieces)


@contextmanager
def days_side_by_side(
    own: str, aside: str, params: dict[str, Any], snapshot: str | None, own_settings: str = ""
) -> Iterator[tuple[Iterator[Day], Iterator[Day]]]:
    """The days of the queries `own` and `aside` (each a row a day, as Day), a pair of
    iterators. With a `snapshot` (own_snapshot's), `aside` runs on a second connection
    reading it, so that PostgreSQL works on both at once, and `own` on the caller's; with
    none, both on the caller's connection, one after the other. `own_settings` (SET LOCAL
    statements) are `own`'s alone, on top of QUERY_SETTINGS."""
    # A savepoint of its own, always rolled back (nothing is written): stopping early (a
    # problem found, the reader gone) cancels a COPY, which fails what it runs in, and the
    # settings end with it rather than with the caller's transaction.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(QUERY_SETTINGS)
        with ExitStack() as stack:
            other = stack.enter_context(_snapshot_reader(snapshot)) if snapshot else None
            # The query aside starts first (COPY streams the rows as they are made), then
            # `own`, planned with its settings (a cursor's plan is made when it is opened).
            if other is not None:
                second = stack.enter_context(_copied_aside(other, aside, params))
                own_days = _copied_days(cursor.cursor, own, params)
            else:
                second = stack.enter_context(_fetched_days(aside, params, "aside"))
                own_days = _fetched_days(own, params, "own")
            if own_settings:
                cursor.execute(own_settings)
            first = stack.enter_context(own_days)
            yield first, second
        transaction.set_rollback(True)


@contextmanager
def _snapshot_reader(snapshot: str) -> Iterator[Any | None]:
    """A cursor on a second connection, in a read-only transaction on `snapshot`; None
    when no second connection can be had (the server's connections all taken)."""
    wrapper = connections[connection.alias]
    reader = type(wrapper)(wrapper.settings_dict, wrapper.alias)
    try:
        try:
            reader.ensure_connection()
        except OperationalError:
            logger.warning("beancount export: no second connection, one query after the other")
            yield None
            return
        with reader.wrap_database_errors, reader.connection.cursor() as cursor:
            cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(snapshot))
            cursor.execute(QUERY_SETTINGS)
            yield cursor
    finally:
        reader.close()


@contextmanager
def _copied_days(cursor: Any, query: str, params: dict[str, Any]) -> Iterator[Iterator[Day]]:
    with cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)", params) as copy:
        copy.set_types(DAY_TYPES)
        yield (Day(*row) for row in copy.rows())


@contextmanager
def _copied_aside(cursor: Any, query: str, params: dict[str, Any]) -> Iterator[Iterator[Day]]:
    """_copied_days on another connection's cursor, read by a thread of its own: PostgreSQL
    answers a COPY only with its first rows, and this query is to run while the export's
    own connection waits for the other's. A few days are held, at most, between them."""
    days: queue.Queue[Day | BaseException | None] = queue.Queue(maxsize=4)
    stop = threading.Event()

    def hand_over(item: Day | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                days.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            with _copied_days(cursor, query, params) as rows:
                for day in rows:
                    if not hand_over(day):
                        return  # the export stopped: leaving the COPY cancels it
            hand_over(None)
        except BaseException as error:  # raised again in the export's thread
            hand_over(error)

    def taken() -> Iterator[Day]:
        while (item := days.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    reader = threading.Thread(target=read, name="beancount-export", daemon=True)
    reader.start()
    try:
        yield taken()
    finally:
        stop.set()
        if reader.is_alive():  # stopped early: waiting for the server, if not for a day taken
            cursor.connection.cancel_safe()
        reader.join()


@contextmanager
def _fetched_days(query: str, params: dict[str, Any], name: str) -> Iterator[Iterator[Day]]:
    with (
        connection.wrap_database_errors,
        psycopg.ServerCursor(connection.connection, f"beancount_{name}") as cursor,
    ):
        cursor.execute(query, params)

        def days() -> Iterator[Day]:
            while rows := cursor.fetchmany(FETCH_DAYS):
                yield from (Day(*row) for row in rows)

        yield days()
