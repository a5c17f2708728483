"""Roles are Django groups, created by a migration."""

from __future__ import annotations

from typing import Any

FINANCE_STAFF = "Finance staff"
FINANCE_APPROVER = "Finance approver"
AUDITOR = "Auditor"
ALL_ROLES = (FINANCE_STAFF, FINANCE_APPROVER, AUDITOR)
READ_ROLES = frozenset(ALL_ROLES)
OPERATE_ROLES = frozenset({FINANCE_STAFF, FINANCE_APPROVER})
APPROVE_ROLES = frozenset({FINANCE_APPROVER})


def user_roles(user: Any) -> frozenset[str]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_treasury_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._treasury_roles = cached
    return cached


def has_any_role(user: Any, roles: frozenset[str]) -> bool:
    if getattr(user, "is_superuser", False) and user.is_active:
        return True
    return bool(user_roles(user) & roles)
