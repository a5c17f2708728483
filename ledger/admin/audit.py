"""The audit log, read-only: what PostgreSQL recorded of every change to audited tables."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from ledger import audit
from ledger.admin.base import RoleAdmin, audit_tables
from ledger.models import AuditAction, AuditLog


class AuditedTableFilter(admin.SimpleListFilter):
    title = "table"
    parameter_name = "table_name"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(table, audit.model_label(table) or table) for table in sorted(audit_tables())]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        value = self.value()
        return queryset.filter(table_name=value) if value else queryset


def _pretty(values: Any) -> str:
    if values is None:
        return "-"
    text = json.dumps(values, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    return format_html('<pre style="margin: 0; white-space: pre-wrap">{}</pre>', text)


@admin.register(AuditLog)
class AuditLogAdmin(RoleAdmin):
    """Read-only, for every role: written by PostgreSQL triggers, never changed or deleted."""

    list_display = ("at", "actor", "action", "table", "record", "changes", "context")
    list_filter = (AuditedTableFilter, "action", ("at", admin.DateFieldListFilter))
    search_fields = ("=record_id", "actor", "context")
    search_help_text = "Record id (exact), actor (user:alice, task:…, command:…) or context."
    show_full_result_count = False
    list_per_page = 100
    sortable_by = ()
    fields = (
        "at",
        "transaction_id",
        "actor",
        "actor_user_id",
        "context",
        "table",
        "record",
        "action",
        "old_values",
        "new_values",
    )
    readonly_fields = fields

    def lookup_allowed(self, lookup: str, value: str, request: Any = None) -> bool:
        # The History link of every audited record's page filters by these.
        if lookup in {"table_name", "record_id", "actor", "transaction_id", "actor_user_id"}:
            return True
        return super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="table")
    def table(self, obj: AuditLog) -> str:
        return audit.model_label(obj.table_name) or obj.table_name

    # Tables logged under another key than their primary key (a token's is its secret).
    NOT_BY_PRIMARY_KEY = frozenset({"authtoken_token", "knox_authtoken"})

    @admin.display(description="record")
    def record(self, obj: AuditLog) -> str:
        model = audit.models_by_table().get(obj.table_name)
        if (
            model is None
            or not obj.record_id
            or obj.table_name in self.NOT_BY_PRIMARY_KEY
            or model not in self.admin_site._registry
        ):
            return obj.record_id or "-"
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.record_id])
        return format_html('<a href="{}">{}</a>', url, obj.record_id)

    @admin.display(description="what changed")
    def changes(self, obj: AuditLog) -> str:
        if obj.action == AuditAction.UPDATE and obj.new:
            return Truncator(", ".join(sorted(obj.new))).chars(80)
        return obj.get_action_display()

    @admin.display(description="before")
    def old_values(self, obj: AuditLog) -> str:
        return _pretty(obj.old)

    @admin.display(description="after")
    def new_values(self, obj: AuditLog) -> str:
        return _pretty(obj.new)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        raise Http404("the audit log has no history of its own: it never changes")
