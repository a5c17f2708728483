"""The reconciliation pages of the admin: runs with their items (breaks first), statements
and their uploads, and two forms for finance staff: upload a statement (read by the worker;
the upload's page follows it), reconcile a day now. Runs, items, statements and uploads are
evidence: shown, never changed."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db import transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from holdings import tasks
from holdings.admin.base import REFRESH_SECONDS, EvidenceUploadAdmin, link
from holdings.admin.forms.reconciliation import ReconcileForm, StatementUploadForm
from holdings.admin.production import ImportBatchAdmin
from holdings.models import (
    BalanceStatementLine,
    BatchStatus,
    ItemStatus,
    LoanStatementLine,
    ReconciliationItem,
    ReconciliationRun,
    ReconciliationStatus,
    Statement,
    StatementKind,
    StatementUpload,
)
from holdings.services import reconciliation, statement_uploads
from ledger.admin import refusal
from ledger.errors import LedgerError
from ledger.forms import add_service_error

STATUS_COLOURS: dict[str, str] = {
    ReconciliationStatus.BREAKS: "#c62828",
    ReconciliationStatus.INCOMPLETE: "#ef6c00",
    ItemStatus.MATCHED: "#2e7d32",  # also a run's "matched"
    ItemStatus.UNMATCHED: "#c62828",
    ItemStatus.UNEXPLAINED: "#c62828",
    ItemStatus.UNREACHABLE: "#ef6c00",
    ItemStatus.NO_SOURCE: "#ef6c00",
    ItemStatus.NOT_ON_CHAIN: "#616161",
}
BREAKS_FIRST = Case(
    When(status=ItemStatus.UNMATCHED, then=Value(0)),
    When(status=ItemStatus.UNEXPLAINED, then=Value(1)),
    When(status=ItemStatus.UNREACHABLE, then=Value(2)),
    When(status=ItemStatus.NO_SOURCE, then=Value(3)),
    When(status=ItemStatus.NOT_ON_CHAIN, then=Value(4)),
    default=Value(9),
    output_field=IntegerField(),
)


def status_badge(status: str, label: str) -> str:
    return format_html(
        '<strong style="color: {}">{}</strong>', STATUS_COLOURS.get(status, "inherit"), label
    )


class ReadOnlyInline(admin.TabularInline):
    """Rows shown with their parent, as read-only as it."""

    extra = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReconciliationItemInline(ReadOnlyInline):
    model = ReconciliationItem
    # Every message names its subject (a pool account, txid, wallet, address or loan).
    fields = ("status_shown", "checked", "message", "amounts")
    readonly_fields = fields
    verbose_name_plural = "Items (breaks first)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReconciliationItem]:
        return super().get_queryset(request).order_by(BREAKS_FIRST, "id")

    @admin.display(description="status")
    def status_shown(self, obj: ReconciliationItem) -> str:
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="ledger / source / difference")
    def amounts(self, obj: ReconciliationItem) -> str:
        if obj.ledger_amount is None and obj.source_amount is None:
            return "-"
        shown = [
            f"{amount:f}" if amount is not None else "-"
            for amount in (obj.ledger_amount, obj.source_amount, obj.difference)
        ]
        return f"{' / '.join(shown)} {obj.commodity}".strip()


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(EvidenceUploadAdmin):
    list_display = (
        "as_of",
        "kind",
        "status_shown",
        "matched",
        "breaks",
        "unchecked",
        "sources_shown",
        "finished_at",
        "created_by",
    )
    list_filter = ("status", "kind", "as_of")
    date_hierarchy = "as_of"
    search_fields = ("items__subject", "items__message")
    search_help_text = "A subject (pool account, txid, wallet, address, loan) or message text."
    fields = (
        "kind",
        "as_of",
        "status_shown",
        "matched",
        "breaks",
        "unchecked",
        "sources_shown",
        "started_at",
        "finished_at",
        "created_by",
    )
    readonly_fields = fields
    inlines = [ReconciliationItemInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReconciliationRun]:
        return super().get_queryset(request).select_related("created_by").distinct()

    @admin.display(description="status", ordering="status")
    def status_shown(self, obj: ReconciliationRun) -> str:
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="sources")
    def sources_shown(self, obj: ReconciliationRun) -> str:
        return ", ".join(obj.sources) or "-"

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.run_view)
        return [path("run/", view, name="holdings_reconciliationrun_run"), *super().get_urls()]

    def run_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_upload_permission(request):
            raise refusal("Running a reconciliation", self.upload_roles)
        yesterday = timezone.now().date() - timedelta(days=1)
        form = ReconcileForm(
            request.POST if request.method == "POST" else None, initial={"as_of": yesterday}
        )
        if request.method == "POST" and form.is_valid():
            try:
                runs = reconciliation.reconcile(
                    as_of=form.cleaned_data["as_of"],
                    kinds=form.cleaned_data["kinds"] or None,
                    created_by=request.user,
                )
            except LedgerError as exc:
                form.add_error(None, exc.message)
            else:
                for run in runs:
                    level = (
                        messages.SUCCESS
                        if run.status == ReconciliationStatus.MATCHED
                        else messages.ERROR
                        if run.status == ReconciliationStatus.BREAKS
                        else messages.WARNING
                    )
                    self.message_user(
                        request,
                        f"{run.get_kind_display()} at the end of {run.as_of}: "
                        f"{run.get_status_display()} ({run.matched} matched, {run.breaks} "
                        f"breaks, {run.unchecked} not checked)",
                        level,
                    )
                url = reverse("admin:holdings_reconciliationrun_changelist")
                return HttpResponseRedirect(f"{url}?as_of={form.cleaned_data['as_of']}")
        return self.upload_page(
            request,
            form=form,
            title="Reconcile a day",
            intro=(
                "Compares the ledger at the end of the day with the pools' reports and "
                "statements, each coin's chain (ESPLORA_URL for BTC, CHAIN_EXPLORERS for the "
                "others; a coin with no explorer, BTC too, is shown as not checked on chain) for "
                "payouts, inflows and wallet addresses, the custodians' and lenders' "
                "statements, and itself. Each kind is kept as a run; breaks are mailed to the "
                "finance approvers."
            ),
            submit_label="Reconcile",
        )


class BalanceLineInline(ReadOnlyInline):
    model = BalanceStatementLine
    fields = ("on", "account", "commodity", "balance_shown")
    readonly_fields = fields

    @admin.display(description="balance")
    def balance_shown(self, obj: BalanceStatementLine) -> str:
        return f"{obj.balance:f}"


class LoanLineInline(ReadOnlyInline):
    model = LoanStatementLine
    fields = ("on", "loan", "commodity", "principal", "accrued_interest", "collateral_units")
    readonly_fields = fields


@admin.register(Statement)
class StatementAdmin(EvidenceUploadAdmin):
    list_display = ("id", "kind", "file_name", "lines_count", "created_by", "created_at")
    list_filter = ("kind",)
    date_hierarchy = "created_at"
    search_fields = ("file_name", "file_sha256")
    search_help_text = "File name or SHA-256."
    fields = ("kind", "file_name", "file_sha256", "lines_count", "created_by", "created_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Statement]:
        return super().get_queryset(request).defer("content").select_related("created_by")

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        if obj is None:
            return []
        return [LoanLineInline if obj.kind == StatementKind.LENDER else BalanceLineInline]

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="holdings_statement_import"), *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_upload_permission(request):
            raise refusal("Uploading a statement", self.upload_roles)
        form = StatementUploadForm(
            request.POST if request.method == "POST" else None,
            request.FILES if request.method == "POST" else None,
        )
        if request.method == "POST" and form.is_valid():
            file = form.cleaned_data["file"]
            try:
                with transaction.atomic():
                    upload, queued = statement_uploads.statement_upload_create(
                        kind=form.cleaned_data["kind"],
                        file_name=file.name,
                        content=file.read(),
                        created_by=request.user,
                    )
                    if queued:
                        transaction.on_commit(
                            partial(tasks.import_statement_upload.delay, upload.pk)
                        )
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                if queued:
                    self.log_addition(request, upload, f"Uploaded {upload.file_name}")
                    self.message_user(
                        request,
                        f"{upload.file_name} is queued as upload #{upload.pk}; its page shows "
                        "the statement kept or why the file was refused.",
                        messages.SUCCESS,
                    )
                else:
                    self.message_user(
                        request,
                        f"{file.name}: this file ({upload.get_kind_display().lower()}, same "
                        f"SHA-256) was uploaded already, as upload #{upload.pk}; nothing new "
                        "is stored.",
                        messages.WARNING,
                    )
                return HttpResponseRedirect(
                    reverse("admin:holdings_statementupload_change", args=[upload.pk])
                )
        return self.upload_page(
            request,
            form=form,
            title="Upload a statement (CSV)",
            intro=(
                "A custodian's, a pool's or a lender's statement, kept as received and "
                "compared with the ledger by the reconciliation of each day it covers. The "
                "file is read in the background, all or nothing: the upload's page shows the "
                "statement kept, or every row and field that refused it."
            ),
            submit_label="Upload the statement",
        )


@admin.register(StatementUpload)
class StatementUploadAdmin(EvidenceUploadAdmin):
    list_display = (
        "upload_label",
        "status",
        "kind",
        "file_name",
        "statement_link",
        "created_by",
        "created_at",
    )
    list_display_links = ("upload_label",)
    list_filter = ("status", "kind")
    search_fields = ("file_name", "file_sha256")
    search_help_text = "File name or SHA-256."
    date_hierarchy = "created_at"
    list_select_related = ("statement", "created_by")
    fields = (
        "upload_label",
        "status",
        "kind",
        "file_name",
        "file_sha256",
        "size_shown",
        "statement_link",
        "attempts",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "content_dropped_at",
        "errors_table",
    )
    readonly_fields = fields
    errors_table = ImportBatchAdmin.errors_table

    def get_queryset(self, request: HttpRequest) -> QuerySet[StatementUpload]:
        return super().get_queryset(request).defer("content")

    @admin.display(description="upload", ordering="id")
    def upload_label(self, obj: StatementUpload) -> str:
        return f"#{obj.pk}"

    @admin.display(description="size")
    def size_shown(self, obj: StatementUpload) -> str:
        return f"{obj.file_size:,} bytes"

    @admin.display(description="statement")
    def statement_link(self, obj: StatementUpload) -> str:
        return link(obj.statement, f"#{obj.statement_id}" if obj.statement_id else None)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        upload = self.get_object(request, unquote(object_id))
        waiting = upload is not None and upload.status in (
            BatchStatus.PENDING,
            BatchStatus.RUNNING,
        )
        extra_context = {
            **(extra_context or {}),
            "refresh_seconds": REFRESH_SECONDS if waiting else None,
        }
        return super().change_view(request, object_id, form_url, extra_context)
