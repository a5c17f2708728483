"""What the ledger's admins share: role checks, amounts and entry links, and RoleAdmin, the
base of every admin of the ledger and of the holdings (holdings/admin.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString

from ledger import audit
from ledger.errors import LedgerError
from ledger.models import JournalEntry, ManualJournal
from ledger.money import format_amount, to_scale
from ledger.roles import READ_ROLES, has_any_role

NOTHING: frozenset[str] = frozenset()

T = TypeVar("T")


def utc_today() -> date:
    return timezone.now().date()  # USE_TZ: now() is aware UTC


def allowed(user: Any, roles: frozenset[str]) -> bool:
    """Role check; an empty set of roles allows nobody, not even a superuser."""
    return bool(roles) and has_any_role(user, roles)


def amount(quantity: Decimal, places: int, unit: str = "") -> str:
    """An amount with its scale's decimals and thousands separators, Dr or Cr for its sign."""
    scaled = to_scale(quantity, places)
    side = " Dr" if scaled > 0 else " Cr" if scaled < 0 else ""
    text = f"{abs(scaled):,f}"
    return f"{text} {unit}{side}" if unit else f"{text}{side}"


def figure(quantity: Decimal, places: int) -> str:
    """An amount with its scale's decimals and thousands separators, its sign kept."""
    return f"{Decimal(format_amount(quantity, places)):,f}"


def entry_label(entry: JournalEntry) -> str:
    return f"#{entry.sequence or entry.pk}"


def entry_link(entry: JournalEntry) -> SafeString:
    url = reverse("admin:ledger_journalentry_change", args=[entry.pk])
    return format_html('<a href="{}">{}</a>', url, entry_label(entry))


def journal_label(journal: ManualJournal) -> str:
    return f"MJ-{journal.pk}"


def username(user: Any) -> str:
    return user.get_username() if user is not None else "-"


@functools.cache
def audit_tables() -> frozenset[str]:
    """The audited tables (read once per process: they change only with a migration)."""
    return frozenset(audit.audited_tables())


def adopt(target: models.Model, created: models.Model) -> None:
    """Make the admin's unsaved instance the row a service created (for logs, redirects)."""
    for field in created._meta.concrete_fields:
        setattr(target, field.attname, getattr(created, field.attname))
    target._state.adding = False
    target._state.db = created._state.db


class ServiceRefused(Exception):
    """A service refused in save_model (input accepted moments before: a race)."""


class RoleAdmin(admin.ModelAdmin):
    """Permissions from role membership; an empty set of roles means nobody."""

    view_roles: frozenset[str] = READ_ROLES
    add_roles: frozenset[str] = NOTHING
    change_roles: frozenset[str] = NOTHING

    def has_module_permission(self, request: HttpRequest) -> bool:
        return allowed(request.user, READ_ROLES)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, self.view_roles)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return allowed(request.user, self.add_roles)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, self.change_roles)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # nothing in the ledger is deleted

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The History link of a change page: the record's rows in the audit log (what the
        database recorded, whoever changed it), or Django's own history if not audited."""
        table = self.opts.db_table
        if table in audit_tables() and self.get_object(request, unquote(object_id)) is not None:
            url = reverse("admin:ledger_auditlog_changelist")
            return HttpResponseRedirect(
                f"{url}?{urlencode({'table_name': table, 'record_id': unquote(object_id)})}"
            )
        return super().history_view(request, object_id, extra_context)

    def call_service(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except LedgerError as exc:
            raise ServiceRefused(exc.message) from exc

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as exc:  # the view's transaction is rolled back: nothing written
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def confirm_page(
        self,
        request: HttpRequest,
        *,
        original: models.Model,
        form: Any,
        title: str,
        intro: str,
        submit_label: str,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": original,
            "form": form,
            "title": title,
            "intro": intro,
            "submit_label": submit_label,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/ledger/confirm_form.html", context)
