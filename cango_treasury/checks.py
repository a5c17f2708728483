"""Deployment checks (`manage.py check --deploy`) for the database roles."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


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
