from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission

from ledger.roles import OPERATE_ROLES, READ_ROLES, has_any_role


class RolePermission(BasePermission):
    """Reads for every role; writes for the roles a view names (finance staff by default).

    Auditors read everything and write nothing. A user with no role gets nothing.
    """

    message = "Your role does not allow this."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if request.method in SAFE_METHODS:
            return has_any_role(user, READ_ROLES)
        return has_any_role(user, getattr(view, "write_roles", OPERATE_ROLES))
