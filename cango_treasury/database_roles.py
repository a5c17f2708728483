"""Two database roles: the tables' owner runs the migrations, the application does the rest.

The application's role (DATABASE_URL) owns nothing: it reads and writes rows, so the
triggers that keep the books are always on for it (disabling one, or switching the session
to replica mode, takes the table's owner or a superuser). Only `migrate` connects as the
owner (DATABASE_OWNER_URL, kept in settings.DATABASE_OWNER), and only while it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

_ABSENT = object()


@contextmanager
def connected_as_owner(alias: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Within the block the connection `alias` is the owner's; after it, the application's
    again. Nothing changes when no owner is configured or the connection is already his."""
    owner: dict[str, Any] = settings.DATABASE_OWNER if alias == DEFAULT_DB_ALIAS else {}
    connection = connections[alias]
    current = connection.settings_dict
    if not owner or all(current.get(key) == value for key, value in owner.items()):
        yield
        return
    if connection.in_atomic_block:
        raise RuntimeError("cannot change the database role inside a transaction")
    saved = {key: current.get(key, _ABSENT) for key in owner}
    connection.close()
    current.update(owner)
    try:
        yield
    finally:
        connection.close()
        for key, value in saved.items():
            if value is _ABSENT:
                current.pop(key, None)
            else:
                current[key] = value


def become_owner(alias: str = DEFAULT_DB_ALIAS) -> None:
    """From now on this process connects as the owner (the test suite: it creates its
    database and switches triggers off to empty it)."""
    owner: dict[str, Any] = settings.DATABASE_OWNER if alias == DEFAULT_DB_ALIAS else {}
    if owner:
        connections[alias].close()
        connections[alias].settings_dict.update(owner)
