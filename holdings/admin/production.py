"""What the pools sent, in the admin: import batches, production records and payouts, all
evidence. A pool file uploaded here becomes a batch that the Celery task
`holdings.import_batch` imports once the batch is committed; a failed batch is imported
again the same way."""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db import models, transaction
from django.db.models import F, Func, IntegerField
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from holdings import tasks
from holdings.admin.base import (
    REFRESH_SECONDS,
    EvidenceAdmin,
    EvidenceUploadAdmin,
    link,
    price_text,
    raw_json,
    units,
    usd,
)
from holdings.admin.base import hashrate as hashrate_text
from holdings.admin.forms.production import PoolFileUploadForm
from holdings.models import BatchStatus, ImportBatch, Payout, ProductionRecord
from holdings.services import production
from ledger.admin import allowed, entry_link, refusal
from ledger.errors import LedgerError
from ledger.forms import add_service_error
from ledger.roles import OPERATE_ROLES

BATCH_ERRORS_SHOWN = 50


def enqueue_import(batch_id: int) -> None:
    """Queue the batch's import once the transaction that wrote it commits."""
    transaction.on_commit(partial(tasks.import_batch.delay, batch_id))


@admin.register(ImportBatch)
class ImportBatchAdmin(EvidenceUploadAdmin):
    retry_roles = OPERATE_ROLES
    list_display = (
        "batch_label",
        "status",
        "source",
        "pool_account",
        "file_name",
        "records_total",
        "records_created",
        "records_skipped",
        "created_by_name",
        "created_at",
    )
    list_display_links = ("batch_label",)
    list_filter = ("status", "source", ("pool_account", admin.RelatedOnlyFieldListFilter))
    search_fields = ("file_name", "file_sha256", "pool_account__code")
    search_help_text = "File name, its SHA-256 or the pool account code."
    date_hierarchy = "created_at"
    list_select_related = ("pool_account", "created_by")
    actions = ("import_again",)
    fields = (
        "batch_label",
        "status",
        "source",
        "pool_account",
        "file_name",
        "file_sha256",
        "file_size",
        "records_total",
        "records_created",
        "records_skipped",
        "attempts",
        "created_by_name",
        "created_at",
        "started_at",
        "finished_at",
        "content_dropped_at",
        "errors_table",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[ImportBatch]:
        # The file itself stays in the database: pages show its name, size and hash.
        return (
            super()
            .get_queryset(request)
            .defer("content")
            .annotate(
                content_size=Func(
                    F("content"), function="octet_length", output_field=IntegerField()
                )
            )
        )

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return allowed(request.user, self.retry_roles)

    @admin.display(description="batch", ordering="id")
    def batch_label(self, obj: ImportBatch) -> str:
        return f"#{obj.pk}"

    @admin.display(description="size")
    def file_size(self, obj: ImportBatch) -> str:
        if obj.content_dropped_at is not None:
            return f"dropped on {obj.content_dropped_at:%Y-%m-%d} (FAILED_CONTENT_KEEP_DAYS)"
        size = getattr(obj, "content_size", None)
        return "-" if size is None else f"{size:,} bytes"

    @admin.display(description="created by")
    def created_by_name(self, obj: ImportBatch) -> str:
        return obj.created_by.get_username() if obj.created_by else "-"

    @admin.display(description="errors")
    def errors_table(self, obj: ImportBatch) -> SafeString | str:
        if not obj.errors:
            return "None"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    error.get("file") or "-",
                    "-" if error.get("row") is None else error["row"],
                    error.get("field") or "-",
                    error.get("message") or "",
                )
                for error in obj.errors[:BATCH_ERRORS_SHOWN]
            ),
        )
        return format_html(
            '<table class="import-errors"><thead><tr><th>File</th><th>Row</th><th>Field</th>'
            "<th>Message</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def get_urls(self) -> list[Any]:
        upload = self.admin_site.admin_view(self.upload_view)
        retry = self.admin_site.admin_view(self.retry_view)
        return [
            path("upload/", upload, name="holdings_importbatch_upload"),
            path("<path:object_id>/retry/", retry, name="holdings_importbatch_retry"),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        batch = self.get_object(request, unquote(object_id))
        extra_context = {
            **(extra_context or {}),
            "can_retry": batch is not None
            and batch.status == BatchStatus.FAILED
            and batch.content_dropped_at is None
            and self.has_retry_permission(request),
            "refresh_seconds": REFRESH_SECONDS
            if batch is not None and batch.status in (BatchStatus.PENDING, BatchStatus.RUNNING)
            else None,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def upload_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_upload_permission(request):
            raise refusal("Uploading a pool file", self.upload_roles)
        post = request.method == "POST"
        form = PoolFileUploadForm(request.POST if post else None, request.FILES if post else None)
        if post and form.is_valid():
            data = form.cleaned_data
            upload = data["file"]
            try:
                with transaction.atomic():
                    batch = production.import_batch_create(
                        source=data["source"],
                        file_name=upload.name,
                        content=upload.read(),
                        pool_account=data.get("pool_account"),
                        created_by=request.user,
                    )
                    enqueue_import(batch.pk)
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                self.log_addition(request, batch, f"Uploaded {batch.file_name}")
                self.message_user(
                    request,
                    f"{batch.file_name} is queued for import as batch #{batch.pk}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:holdings_importbatch_change", args=[batch.pk])
                )
        return self.upload_page(
            request,
            form=form,
            title="Upload a pool file",
            intro="The file is imported in the background, all or nothing: records already "
            "imported are skipped, and the batch's page shows what it did or why it failed.",
            submit_label="Upload and import",
        )

    def _retry(self, request: HttpRequest, batch: ImportBatch) -> bool:
        if batch.status != BatchStatus.FAILED:
            self.message_user(
                request,
                f"Batch #{batch.pk} is {batch.get_status_display().lower()}: only failed "
                "batches are imported again.",
                messages.WARNING,
            )
            return False
        try:
            with transaction.atomic():
                retried = production.import_batch_retry(batch=batch.pk)
                enqueue_import(retried.pk)
        except LedgerError as exc:
            self.message_user(request, f"Batch #{batch.pk}: {exc.message}", messages.ERROR)
            return False
        self.log_change(request, retried, "Queued for import again")
        return True

    @admin.action(description="Import again (failed batches)", permissions=["retry"])
    def import_again(self, request: HttpRequest, queryset: models.QuerySet[ImportBatch]) -> None:
        queued = [f"#{b.pk}" for b in queryset.order_by("pk") if self._retry(request, b)]
        if queued:
            self.message_user(
                request, f"Queued for import again: {', '.join(queued)}.", messages.SUCCESS
            )

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_retry_permission(request):
            raise refusal("Importing a batch again", self.retry_roles)
        batch = self.get_object(request, unquote(object_id))
        if batch is None:
            raise Http404(f"no import batch {object_id}")
        detail = reverse("admin:holdings_importbatch_change", args=[batch.pk])
        if request.method == "POST":
            if self._retry(request, batch):
                self.message_user(
                    request, f"Batch #{batch.pk} is queued for import again.", messages.SUCCESS
                )
            return HttpResponseRedirect(detail)
        return self.confirm_page(
            request,
            original=batch,
            form=forms.Form(),
            title=f"Import batch #{batch.pk} again",
            intro=f"{batch.file_name} failed; importing it again runs the whole file once "
            "more (after the missing prices or wallet addresses were added, say). Records "
            "already imported by other batches are skipped.",
            submit_label="Import again",
        )


@admin.register(ProductionRecord)
class ProductionRecordAdmin(EvidenceAdmin):
    list_display = (
        "day",
        "pool_account",
        "net_display",
        "fee_display",
        "hashrate",
        "price_display",
        "value_display",
        "entry_display",
        "batch_display",
    )
    list_filter = ("pool_account__pool", "pool_account__commodity", "pool_account")
    date_hierarchy = "day"
    search_fields = ("pool_account__code", "external_id")
    search_help_text = "Pool account code or the pool's record id."
    list_select_related = ("pool_account__commodity", "price", "entry", "batch")
    fields = (
        "pool_account",
        "day",
        "external_id",
        "gross_display",
        "fee_display",
        "net_display",
        "hashrate",
        "price_display",
        "value_display",
        "entry_display",
        "batch_display",
        "raw_display",
        "created_at",
    )
    readonly_fields = fields

    def _places(self, obj: ProductionRecord) -> int:
        return obj.pool_account.commodity.decimal_places

    @admin.display(description="gross")
    def gross_display(self, obj: ProductionRecord) -> str:
        return units(obj.gross, self._places(obj))

    @admin.display(description="fee")
    def fee_display(self, obj: ProductionRecord) -> str:
        return units(obj.fee, self._places(obj))

    @admin.display(description="net", ordering="net")
    def net_display(self, obj: ProductionRecord) -> str:
        return units(obj.net, self._places(obj), obj.pool_account.commodity_id)

    @admin.display(description="hashrate", ordering="hashrate_hs")
    def hashrate(self, obj: ProductionRecord) -> str:
        return hashrate_text(obj.hashrate_hs, obj.pool_account.commodity_id)

    @admin.display(description="price")
    def price_display(self, obj: ProductionRecord) -> SafeString | str:
        return price_text(obj.price)

    @admin.display(description="USD value", ordering="value")
    def value_display(self, obj: ProductionRecord) -> str:
        return usd(obj.value)

    @admin.display(description="entry")
    def entry_display(self, obj: ProductionRecord) -> SafeString | str:
        return entry_link(obj.entry) if obj.entry else "-"

    @admin.display(description="batch")
    def batch_display(self, obj: ProductionRecord) -> SafeString | str:
        return link(obj.batch, f"#{obj.batch_id}")

    @admin.display(description="as the pool sent it")
    def raw_display(self, obj: ProductionRecord) -> SafeString:
        return raw_json(obj.raw)


@admin.register(Payout)
class PayoutAdmin(EvidenceAdmin):
    list_display = (
        "paid_at",
        "pool_account",
        "amount_display",
        "wallet",
        "address",
        "txid_short",
        "entry_display",
        "batch_display",
    )
    list_filter = ("pool_account__pool", "wallet", "pool_account")
    date_hierarchy = "paid_at"
    search_fields = ("txid", "address", "external_id", "pool_account__code")
    search_help_text = "Transaction id, address, the pool's payout id or pool account code."
    list_select_related = ("pool_account__commodity", "wallet", "entry", "batch")
    fields = (
        "pool_account",
        "external_id",
        "paid_at",
        "amount_display",
        "wallet",
        "address",
        "txid",
        "entry_display",
        "batch_display",
        "raw_display",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, obj: Payout) -> str:
        commodity = obj.pool_account.commodity
        return units(obj.amount, commodity.decimal_places, commodity.code)

    @admin.display(description="transaction")
    def txid_short(self, obj: Payout) -> str:
        return f"{obj.txid[:16]}…"

    @admin.display(description="entry")
    def entry_display(self, obj: Payout) -> SafeString | str:
        return entry_link(obj.entry)

    @admin.display(description="batch")
    def batch_display(self, obj: Payout) -> SafeString | str:
        return link(obj.batch, f"#{obj.batch_id}")

    @admin.display(description="as the pool sent it")
    def raw_display(self, obj: Payout) -> SafeString:
        return raw_json(obj.raw)
