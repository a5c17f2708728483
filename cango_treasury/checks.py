"""Deployment checks (`manage.py check --deploy`): the database roles, the demonstration
logins."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper


@register(Tags.security, deploy=True)
def application_owns_nothing(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.DATABASE_OWNER:
        return []
    return [
        Warning(
            "DATABASE_OWNER_URL is not set: the application connects as the owner of its "
            "tables, so it could disable their triggers.",
            hint="Run the application as a role that owns nothing (DATABASE_URL) and the "
            "migrations as the owner (DATABASE_OWNER_URL); README: Deployment.",
            id="cango_treasury.W001",
        )
    ]


@register(Tags.security, deploy=True)
def application_creates_nothing(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A role that may create temporary tables may put triggers of its own on them, whose
    statements pass the ledger's guards as nested trigger work (ledger migration 0025).
    Asked of the application's own connection; a database that cannot be reached is not
    reported here, nor an application that owns its tables (W001 says so)."""
    if not settings.DATABASE_OWNER:
        return []
    try:
        with _short_lived_connection() as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_user, has_database_privilege(current_database(), 'TEMPORARY')"
            )
            role, temporary = cursor.fetchone()
    except DatabaseError:
        return []
    if not temporary:
        return []
    return [
        Warning(
            f"The application's database role {role} may create temporary tables, and with "
            "them triggers of its own that pass the ledger's guards.",
            hint="As the database's owner: REVOKE TEMPORARY ON DATABASE <name> FROM PUBLIC, "
            f"{role}; `manage.py migrate` does it when it runs as that owner (README: "
            "Deployment).",
            id="cango_treasury.W002",
        )
    ]


@register(Tags.security, deploy=True)
def no_demonstration_login(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A demonstration login that still has the published password is anyone's login. Looked
    up on a connection of its own that gives up after a few seconds: a database that cannot
    be reached (or is not migrated yet) has no login to report."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import check_password

    from ledger.management.commands.demo_users import DEMO_USERS, KNOWN_PASSWORD

    names = [username for username, *_ in DEMO_USERS]
    try:
        with _short_lived_connection() as connection, connection.cursor() as cursor:
            cursor.execute(
                f"SELECT username, password FROM {get_user_model()._meta.db_table} "
                "WHERE username = ANY(%s) AND is_active",
                [names],
            )
            users = cursor.fetchall()
    except DatabaseError:
        return []
    known = [name for name, encoded in users if check_password(KNOWN_PASSWORD, encoded)]
    if not known:
        return []
    return [
        Error(
            f"Demonstration logins with the published password {KNOWN_PASSWORD!r}: "
            f"{', '.join(sorted(known))}.",
            hint="Delete them, or give each a password of its own (`manage.py changepassword "
            "USER`); create the administrator with `manage.py createsuperuser`.",
            id="cango_treasury.E001",
        )
    ]


@contextmanager
def _short_lived_connection() -> Iterator[BaseDatabaseWrapper]:
    """The application's connection settings on a connection of its own that gives up after
    a few seconds: a check must not hang on a database that cannot be reached."""
    connection = connections.create_connection(DEFAULT_DB_ALIAS)
    options = {**connection.settings_dict.get("OPTIONS", {}), "connect_timeout": 5}
    connection.settings_dict = {**connection.settings_dict, "OPTIONS": options}
    try:
        yield connection
    finally:
        connection.close()
