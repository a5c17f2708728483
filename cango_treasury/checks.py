"""Deployment checks (`manage.py check --deploy`): the database roles, the demonstration
logins."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections


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
def no_demonstration_login(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A demonstration login that still has the published password is anyone's login. Looked
    up on a connection of its own that gives up after a few seconds: a database that cannot
    be reached (or is not migrated yet) has no login to report."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import check_password

    from ledger.management.commands.demo_users import DEMO_USERS, KNOWN_PASSWORD

    names = [username for username, *_ in DEMO_USERS]
    connection = connections.create_connection(DEFAULT_DB_ALIAS)
    options = {**connection.settings_dict.get("OPTIONS", {}), "connect_timeout": 5}
    connection.settings_dict = {**connection.settings_dict, "OPTIONS": options}
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT username, password FROM {get_user_model()._meta.db_table} "
                "WHERE username = ANY(%s) AND is_active",
                [names],
            )
            users = cursor.fetchall()
    except DatabaseError:
        return []
    finally:
        connection.close()
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
