"""The admin's answer to a refused page or action: a page of the admin's look saying why (the
PermissionDenied's message: the role it needs, or the rule that refuses it) and who the user
is, with their roles. The URLconf's handler403 sends the admin's paths here; the API keeps
its JSON errors (ledger.api.errors)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ledger.roles import ALL_ROLES, user_roles

GENERIC_REASON = (
    "Your roles do not allow this page. Every role reads; finance staff and finance "
    "approvers record and draft; finance approvers approve, decide cancellations and close "
    "periods."
)


def who(user: Any) -> str:
    """The user and their roles, in words."""
    if not getattr(user, "is_authenticated", False):
        return "You are not logged in."
    roles = [role.lower() for role in ALL_ROLES if role in user_roles(user)]
    if getattr(user, "is_superuser", False):
        roles.insert(0, "superuser")
    held = (
        f"with the role{'s' if len(roles) > 1 else ''} {', '.join(roles)}"
        if roles
        else ("with no role")
    )
    return f"You are logged in as {user.get_username()}, {held}."


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    reason = str(exception) if exception is not None and exception.args else GENERIC_REASON
    context = {
        **admin.site.each_context(request),
        "title": "Not allowed",
        "reason": reason,
        "who": who(request.user),
    }
    return render(request, "admin/403.html", context, status=403)
