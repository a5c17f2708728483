"""Writing thousands of rows at once with COPY.

Django's bulk_create prepares every field of every row in Python, which costs more than the
database's work on the import path; psycopg's COPY formats rows in C. Ids are taken from
the table's sequence first, so rows that refer to each other (a lot to its record, a
movement to its lot) are written knowing their ids. COPY fires the tables' triggers and
checks their keys like any INSERT.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import connection


def next_ids(table: str, count: int) -> list[int]:
    if count == 0:
        return []
    with connection.cursor() as cursor:
        # One row holding them all: thousands of rows would each be fetched and converted.
        # The sequence is looked up once (a subquery): pg_get_serial_sequence searches the
        # catalog's dependencies, which row by row cost seven times the nextval itself.
        cursor.execute(
            "SELECT ARRAY(SELECT nextval((SELECT pg_get_serial_sequence(%s, 'id')::regclass)) "
            "FROM generate_series(1, %s))",
            [table, count],
        )
        (ids,) = cursor.fetchone()
        return list(ids)


def insert(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """COPY `rows` (values in the order of `columns`) into `table`, in the transaction of
    Django's connection; errors reach callers as Django's, as from any Django cursor."""
    if not rows:
        return
    connection.ensure_connection()
    with (
        connection.wrap_database_errors,
        psycopg.Cursor(connection.connection) as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def update_lots(lots: Sequence[Any]) -> None:
    """Set the quantity, cost and adjustment of many lots in one statement. Django's
    bulk_update writes a CASE per column with a branch per row, which grows with the square
    of the rows a remeasurement touches; arrays joined on the id do not."""
    if not lots:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE holdings_lot AS lot
               SET quantity = changed.quantity,
                   cost = changed.cost,
                   fair_value_adjustment = changed.adjustment
              FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[])
                   AS changed (id, quantity, cost, adjustment)
             WHERE lot.id = changed.id
            """,
            [
                [lot.pk for lot in lots],
                [lot.quantity for lot in lots],
                [lot.cost for lot in lots],
                [lot.fair_value_adjustment for lot in lots],
            ],
        )
