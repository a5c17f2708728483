"""What the ledger's admins share: role checks, amounts and entry links, autocomplete fields
that take any value posted (CheckedAutocompleteFields), and RoleAdmin, the base of every
admin of the ledger and of the holdings (holdings/admin.py)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.contrib.admin.options import BaseModelAdmin, IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import (
    AutocompleteMixin,
    AutocompleteSelect,
    AutocompleteSelectMultiple,
)
from django.core.exceptions import PermissionDenied, ValidationError
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
from ledger.roles import ALL_ROLES, READ_ROLES, has_any_role

NOTHING: frozenset[str] = frozenset()

T = TypeVar("T")


def utc_today() -> date:
    return timezone.now().date()  # USE_TZ: now() is aware UTC


def utc_time(moment: datetime | None) -> str:
    """A moment as the admin writes one (settings.DATETIME_FORMAT): 2026-01-31 08:00 UTC."""
    if moment is None:
        return "-"
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def allowed(user: Any, roles: frozenset[str]) -> bool:
    """Role check; an empty set of roles allows nobody, not even a superuser."""
    return bool(roles) and has_any_role(user, roles)


def roles_needed(roles: frozenset[str]) -> str:
    """The roles a refusal names, in words: "the finance approver role", "the finance staff
    or finance approver role", "a role (finance staff, finance approver or auditor)"."""
    names = [role.lower() for role in ALL_ROLES if role in roles]
    if not names:
        return "a role nobody has"
    if roles >= READ_ROLES:
        return f"a role ({', '.join(names[:-1])} or {names[-1]})"
    return f"the {' or '.join(names)} role"


def refusal(doing: str, roles: frozenset[str]) -> PermissionDenied:
    """Why an action is refused, for the admin's 403 page: "Approving a manual journal needs
    the finance approver role." Raise it."""
    return PermissionDenied(f"{doing} needs {roles_needed(roles)}.")


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


class WaitingFilter(admin.SimpleListFilter):
    """What waits for the person looking at the list (`?waiting=approval`), as the
    dashboard's "Waiting for you" counts it (ledger.selectors.worklist)."""

    title = "waiting for me"
    parameter_name = "waiting"
    options: tuple[tuple[str, str], ...] = ()

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(self.options)

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        value = self.value()
        if not value:
            return queryset
        if value not in dict(self.options):
            raise IncorrectLookupParameters(f"{value!r} is not something that waits here")
        return self.waiting(request, queryset, value)

    def waiting(
        self, request: HttpRequest, queryset: models.QuerySet, value: str
    ) -> models.QuerySet:
        raise NotImplementedError


class CheckedAutocompleteMixin(AutocompleteMixin):
    """An autocomplete field that shows a form posted with a value that is no id (`abc`,
    `1%00` for an account) again, with the error on the field: Django's widget looks the
    value up to show it selected, and fails on what is no id. Only the values the target
    field takes are looked up; the form's field has already said the rest is no choice."""

    def optgroups(self, name: str, value: Sequence[str], attr: Any = None) -> Any:
        return super().optgroups(name, self.looked_up(value), attr)

    def looked_up(self, value: Sequence[str]) -> list[str]:
        remote = self.field.remote_field
        opts = remote.model._meta
        target = opts.get_field(getattr(remote, "field_name", None) or opts.pk.attname)
        kept = []
        for choice in value:
            if "\x00" in choice:  # PostgreSQL text cannot hold it
                continue
            try:
                target.to_python(choice)
            except (ValidationError, ValueError, TypeError):
                continue
            kept.append(choice)
        return kept


class CheckedAutocompleteSelect(CheckedAutocompleteMixin, AutocompleteSelect):
    pass


class CheckedAutocompleteSelectMultiple(CheckedAutocompleteMixin, AutocompleteSelectMultiple):
    pass


class CheckedAutocompleteFields(BaseModelAdmin):
    """An admin, or an inline, whose autocomplete fields are the checked ones (above). The
    base of RoleAdmin; an inline with `autocomplete_fields` has it first among its bases."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = CheckedAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = CheckedAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class RoleAdmin(CheckedAutocompleteFields, admin.ModelAdmin):
    """Permissions from role membership; an empty set of roles means nobody.

    A page refused says why (the admin's 403 page shows it): the role it needs, or that
    nothing here is added, changed or deleted by hand."""

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

    # --- refusals in words

    def _names(self) -> tuple[str, str]:
        return str(self.opts.verbose_name), str(self.opts.verbose_name_plural)

    def view_refusal(self) -> PermissionDenied:
        return refusal(f"Seeing the {self._names()[1]}", self.view_roles)

    def add_refusal(self, request: HttpRequest) -> PermissionDenied:
        name = self._names()[0]
        if not self.add_roles:
            return PermissionDenied(f"Nobody adds a {name} here: they are recorded as they come.")
        return refusal(f"Adding a {name}", self.add_roles)

    def change_refusal(self, request: HttpRequest, obj: Any) -> PermissionDenied:
        name = self._names()[0]
        if not self.change_roles:
            return PermissionDenied(f"Nobody changes a {name} here: it is kept as recorded.")
        return refusal(f"Changing a {name}", self.change_roles)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> Any:
        if not self.has_view_or_change_permission(request):
            raise self.view_refusal()
        return super().changelist_view(request, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> Any:
        if not self.has_delete_permission(request):
            raise PermissionDenied(
                f"Nothing here is deleted: a {self._names()[0]} stays as recorded, and a "
                "document's entries are undone only by its cancellation, approved by a "
                "second person."
            )
        return super().delete_view(request, object_id, extra_context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The History link of a change page: the record's rows in the audit log (what the
        database recorded, whoever changed it), or Django's own history if not audited."""
        if not self.has_view_or_change_permission(request):
            raise self.view_refusal()
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
        if object_id is None and not self.has_add_permission(request):
            raise self.add_refusal(request)
        if object_id is not None and not self.has_view_or_change_permission(request):
            raise self.view_refusal()
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except PermissionDenied as exc:
            if exc.args:
                raise
            # Django's own refusal of a change posted to a page only shown: say why.
            obj = self.get_object(request, unquote(object_id)) if object_id else None
            raise self.change_refusal(request, obj) from exc
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
