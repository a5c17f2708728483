"""Writing thousands of rows in one statement each, from arrays sent in binary.

Django's bulk_create prepares every field of every row in Python, which costs more than the
database's work for the import path. Ids are taken from the table's sequence first, so rows
that refer to each other (a lot to its record, a movement to its lot) are written knowing
their ids, without relying on the order of RETURNING.
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
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def arrays(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows turned into one list per column."""
    return [list(column) for column in zip(*rows, strict=True)]


def execute(sql: str, params: Sequence[Any]) -> None:
    """A statement on Django's connection (so in its transaction) with server-side binding:
    arrays travel in binary, with no quoting; errors reach callers as Django's."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)


def insert(table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT INTO table (columns) SELECT FROM unnest(one array per column). `columns` pairs
    each column with its SQL type; a row gives the values in the same order."""
    if not rows:
        return
    names = ", ".join(name for name, _ in columns)
    placeholders = ", ".join(f"%b::{sql_type}[]" for _, sql_type in columns)
    execute(f"INSERT INTO {table} ({names}) SELECT * FROM unnest({placeholders})", arrays(rows))
