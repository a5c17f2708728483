"""API tokens in the admin: whose, since when, until when; never the token or its digest.
A token is revoked here by deleting it; it is created by its user (README: API tokens)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from knox.models import AuthToken
from rest_framework.authtoken.models import TokenProxy

for model in (AuthToken, TokenProxy):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(AuthToken)
class AuthTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "created", "expiry")
    list_display_links = None
    list_filter = ("created", "expiry")
    search_fields = ("user__username",)
    fields = ("user", "created", "expiry")
    readonly_fields = fields
    ordering = ("-created",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
