"""`migrate`, connected as the tables' owner (DATABASE_OWNER_URL) while it runs."""

from __future__ import annotations

from typing import Any

from django.core.management.commands import migrate

from cango_treasury.database_roles import connected_as_owner


class Command(migrate.Command):
    help = migrate.Command.help + " Connects as the owner role (DATABASE_OWNER_URL) if one is set."

    def handle(self, *args: Any, **options: Any) -> None:
        with connected_as_owner(options["database"]):
            super().handle(*args, **options)
