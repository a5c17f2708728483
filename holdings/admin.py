"""The admin of the miner's world, for finance staff's daily work.

Roles as in the ledger's admin (ledger.admin.RoleAdmin): every role reads; finance staff and
approvers keep the set-up (sites, pools, pool accounts, wallets), upload pool files and
prices, and import failed batches again; auditors read and write nothing. What the pools and
the price sources sent, and what importing it did, is evidence: shown, never added, changed
or deleted here.

Every write of consequence goes through holdings.services or holdings.production: a pool
account or wallet is created with its ledger account, an address is added by the service
that refuses one already owned, a pool file becomes a batch that the Celery task
`holdings.import_batch` imports once the batch is committed.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import partial
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.db.models import F, Func, IntegerField
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from holdings import chart, tasks
from holdings.errors import HoldingsError
from holdings.forms import (
    LoanEventRecordForm,
    PoolAccountAddForm,
    PoolAccountChangeForm,
    PoolFileUploadForm,
    PriceUploadForm,
    SaleRecordForm,
    TransferRecordForm,
    WalletAddForm,
    WalletAddressForm,
    WalletChangeForm,
)
from holdings.importers.prices import PRICE_HEADER, parse_prices
from holdings.importers.records import ImportFileError
from holdings.models import (
    BatchStatus,
    Disposal,
    ImportBatch,
    Loan,
    LoanEvent,
    LoanEventKind,
    Lot,
    LotMovement,
    Payout,
    Pool,
    PoolAccount,
    Price,
    ProductionRecord,
    Remeasurement,
    Sale,
    Site,
    Transfer,
    Wallet,
    WalletAddress,
)
from holdings.selectors import loans
from holdings.services import prices, production, setup, treasury
from ledger import selectors as ledger_selectors
from ledger.admin import RoleAdmin, adopt, allowed, entry_link
from ledger.errors import LedgerError
from ledger.forms import add_service_error
from ledger.models import Account, Commodity
from ledger.money import VALUE_PLACES, to_scale
from ledger.roles import OPERATE_ROLES, READ_ROLES

EXA = Decimal(10) ** 18
# A batch page refreshes itself this often (seconds) while the batch waits or runs.
REFRESH_SECONDS = 3
BATCH_ERRORS_SHOWN = 50


def units(quantity: Decimal | None, places: int, unit: str = "") -> str:
    """A quantity with its scale's decimals and thousands separators."""
    if quantity is None:
        return "-"
    text = f"{to_scale(quantity, places):,f}"
    return f"{text} {unit}" if unit else text


def usd(value: Decimal | None) -> str:
    return units(value, VALUE_PLACES)


def ehs(hashes_per_second: Decimal | None) -> str:
    if hashes_per_second is None:
        return "-"
    return f"{(hashes_per_second / EXA).quantize(Decimal('0.01')):,f} EH/s"


def link(obj: models.Model | None, label: Any = None) -> SafeString | str:
    """A link to the object's admin page, or "-"."""
    if obj is None:
        return "-"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, obj if label is None else label)


def price_text(price: Price | None) -> SafeString | str:
    if price is None:
        return "-"
    return format_html(
        '<a href="{}">{} {}</a> ({}, {})',
        reverse("admin:holdings_price_change", args=[price.pk]),
        f"{price.price:f}",
        price.quote_id,
        price.source,
        f"{price.timestamp:%Y-%m-%dT%H:%M:%SZ}",
    )


def raw_json(data: Any) -> SafeString:
    return format_html("<pre>{}</pre>", json.dumps(data, indent=2, sort_keys=True))


def enqueue_import(batch_id: int) -> None:
    """Queue the batch's import once the transaction that wrote it commits."""
    transaction.on_commit(partial(tasks.import_batch.delay, batch_id))


class EvidenceAdmin(RoleAdmin):
    """Read-only for everyone: the rows are evidence."""

    show_full_result_count = False


class EvidenceUploadAdmin(EvidenceAdmin):
    """Evidence that arrives as files: a one-form upload page on the changelist."""

    upload_roles: frozenset[str] = OPERATE_ROLES

    def has_upload_permission(self, request: HttpRequest) -> bool:
        return allowed(request.user, self.upload_roles)

    def upload_page(
        self,
        request: HttpRequest,
        *,
        form: forms.Form,
        title: str,
        intro: str,
        submit_label: str,
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "title": title,
            "intro": intro,
            "submit_label": submit_label,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/holdings/upload_form.html", context)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_upload": self.has_upload_permission(request)}
        return super().changelist_view(request, extra_context)


# --- set-up ------------------------------------------------------------------------------


@admin.register(Site)
class SiteAdmin(RoleAdmin):
    add_roles = OPERATE_ROLES
    change_roles = OPERATE_ROLES
    list_display = ("code", "name", "region", "deployed", "pool_account_count", "is_active")
    list_filter = ("region", "is_active")
    search_fields = ("code", "name", "region")

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Site]:
        return (
            super().get_queryset(request).annotate(pool_account_total=models.Count("pool_accounts"))
        )

    @admin.display(description="deployed hashrate", ordering="deployed_hashrate_hs")
    def deployed(self, obj: Site) -> str:
        return ehs(obj.deployed_hashrate_hs)

    @admin.display(description="pool accounts", ordering="pool_account_total")
    def pool_account_count(self, obj: Site) -> int:
        return getattr(obj, "pool_account_total", 0)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:  # a new site is active
            return ("code", "name", "region", "deployed_hashrate_hs")
        return ("code", "name", "region", "deployed_hashrate_hs", "is_active")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Site, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = self.call_service(
            lambda: setup.site_create(
                code=data["code"],
                name=data["name"],
                region=data["region"],
                deployed_hashrate_hs=data["deployed_hashrate_hs"],
            )
        )
        adopt(obj, created)


@admin.register(Pool)
class PoolAdmin(RoleAdmin):
    add_roles = OPERATE_ROLES
    change_roles = OPERATE_ROLES
    list_display = ("code", "name", "kind", "api_base_url")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    fields = ("code", "name", "kind", "api_base_url")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Pool, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = self.call_service(
            lambda: setup.pool_create(
                code=data["code"],
                name=data["name"],
                kind=data["kind"],
                api_base_url=data.get("api_base_url") or "",
            )
        )
        adopt(obj, created)


POOL_ACCOUNT_EDITABLE = PoolAccountChangeForm.Meta.fields


@admin.register(PoolAccount)
class PoolAccountAdmin(RoleAdmin):
    add_roles = OPERATE_ROLES
    change_roles = OPERATE_ROLES
    list_display = (
        "code",
        "name",
        "pool",
        "site",
        "commodity",
        "source",
        "receivable",
        "fetch_daily",
        "is_active",
    )
    list_filter = ("pool", "commodity", "source", "fetch_daily", "is_active")
    search_fields = ("code", "name", "site__code")
    list_select_related = ("pool", "site", "receivable_account")

    @admin.display(description="receivable account", ordering="receivable_account__code")
    def receivable(self, obj: PoolAccount) -> SafeString | str:
        account = obj.receivable_account
        return link(account, f"{account.code} {account.name}")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return PoolAccountAddForm.Meta.fields
        return ("code", "pool", "commodity", "source", "receivable", *POOL_ACCOUNT_EDITABLE)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("code", "pool", "commodity", "source", "receivable")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["form"] = PoolAccountChangeForm if obj is not None else PoolAccountAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request: HttpRequest, obj: PoolAccount, form: Any, change: bool) -> None:
        if change:
            changed = [name for name in POOL_ACCOUNT_EDITABLE if name in form.changed_data]
            if changed:
                obj.save(update_fields=changed)
            return
        created = self.call_service(lambda: setup.pool_account_create(**form.service_arguments()))
        adopt(obj, created)


class WalletAddressInline(admin.TabularInline):
    """Addresses are added (by the service), never changed or removed: payouts name them."""

    model = WalletAddress
    form = WalletAddressForm
    fields = ("address", "label")
    extra = 1
    can_delete = False

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return 1 if self.has_add_permission(request, obj) else 0

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, READ_ROLES)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, OPERATE_ROLES)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Wallet)
class WalletAdmin(RoleAdmin):
    add_roles = OPERATE_ROLES
    change_roles = OPERATE_ROLES
    list_display = (
        "code",
        "name",
        "custodian",
        "commodity",
        "ledger_account",
        "address_count",
        "is_active",
    )
    list_filter = ("commodity", "is_active")
    search_fields = ("code", "name", "custodian", "addresses__address")
    list_select_related = ("account",)
    inlines = (WalletAddressInline,)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Wallet]:
        return super().get_queryset(request).annotate(address_total=models.Count("addresses"))

    @admin.display(description="ledger account", ordering="account__code")
    def ledger_account(self, obj: Wallet) -> SafeString | str:
        return link(obj.account, f"{obj.account.code} {obj.account.name}")

    @admin.display(description="addresses", ordering="address_total")
    def address_count(self, obj: Wallet) -> int:
        return getattr(obj, "address_total", 0)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return WalletAddForm.Meta.fields
        return ("code", "commodity", "ledger_account", "name", "custodian", "is_active")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if obj is None else ("code", "commodity", "ledger_account")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["form"] = WalletChangeForm if obj is not None else WalletAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Wallet, form: Any, change: bool) -> None:
        if change:
            changed = [name for name in WalletChangeForm.Meta.fields if name in form.changed_data]
            if changed:
                obj.save(update_fields=changed)
            return
        created = self.call_service(lambda: setup.wallet_create(**form.service_arguments()))
        adopt(obj, created)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # Only new addresses arrive (existing ones are read-only); each goes through the
        # service, which refuses an address that another wallet already owns.
        added = []
        for address_form in formset.extra_forms:
            data = getattr(address_form, "cleaned_data", None)
            if not address_form.has_changed() or not data:
                continue
            added.append(
                self.call_service(
                    partial(
                        setup.wallet_address_add,
                        wallet=form.instance,
                        address=data["address"],
                        label=data.get("label") or "",
                    )
                )
            )
        # What the admin's change message reads from a saved formset.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = added, [], []


# --- prices ------------------------------------------------------------------------------


@admin.register(Price)
class PriceAdmin(EvidenceUploadAdmin):
    list_display = ("timestamp", "base", "quote", "price_exact", "source", "created_at")
    list_filter = ("base", "quote", "source")
    date_hierarchy = "timestamp"
    search_fields = ("source",)
    search_help_text = "The price's source."
    fields = ("base", "quote", "timestamp", "price_exact", "source", "created_at")
    readonly_fields = fields

    @admin.display(description="price", ordering="price")
    def price_exact(self, obj: Price) -> str:
        return f"{obj.price:f}"

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.import_view)
        return [path("import/", view, name="holdings_price_import"), *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_upload_permission(request):
            raise PermissionDenied
        form = PriceUploadForm(
            request.POST if request.method == "POST" else None,
            request.FILES if request.method == "POST" else None,
        )
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                quotes = parse_prices(upload.read(), file_name=upload.name)
                created, known = prices.prices_import(quotes=quotes, file_name=upload.name)
            except ImportFileError as exc:
                form.add_error("file", str(exc))
            except LedgerError as exc:
                form.add_error("file", exc.message)
            else:
                self.message_user(
                    request,
                    f"{upload.name}: {created} price(s) imported, {known} already recorded.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:holdings_price_changelist"))
        return self.upload_page(
            request,
            form=form,
            title="Import prices (CSV)",
            intro=f"A CSV file with the header {PRICE_HEADER}, one price per base, quote and "
            "timestamp. Prices already recorded with the same value are skipped.",
            submit_label="Import the prices",
        )


# --- import batches ----------------------------------------------------------------------


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
            raise PermissionDenied
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
            raise PermissionDenied
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


# --- production, payouts, lots, remeasurements -------------------------------------------


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
        return ehs(obj.hashrate_hs)

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


class LotMovementInline(admin.TabularInline):
    model = LotMovement
    fields = (
        "effective_date",
        "kind",
        "quantity_display",
        "cost_display",
        "adjustment_display",
        "entry_display",
    )
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[LotMovement]:
        return (
            super()
            .get_queryset(request)
            .select_related("entry", "lot__commodity")
            .order_by("effective_date", "id")
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, READ_ROLES)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="quantity")
    def quantity_display(self, obj: LotMovement) -> str:
        return units(obj.quantity, obj.lot.commodity.decimal_places)

    @admin.display(description="cost (USD)")
    def cost_display(self, obj: LotMovement) -> str:
        return usd(obj.cost)

    @admin.display(description="fair value adjustment (USD)")
    def adjustment_display(self, obj: LotMovement) -> str:
        return usd(obj.fair_value_adjustment)

    @admin.display(description="entry")
    def entry_display(self, obj: LotMovement) -> SafeString:
        return entry_link(obj.entry)


class LotStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open (holds units)"), ("closed", "Closed (emptied)")]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        if self.value() == "open":
            return queryset.filter(quantity__gt=0)
        if self.value() == "closed":
            return queryset.filter(quantity=0)
        return queryset


class LotPlaceFilter(admin.SimpleListFilter):
    """Where the units sit: in a wallet, at a pool, or restricted (pledged or lent)."""

    title = "held"
    parameter_name = "held"
    PLACES = {
        "wallet": (
            "In a wallet",
            tuple(p for ps in chart.WALLET_PARENTS.values() for p in ps if p != chart.PLEDGED),
        ),
        "pool": ("At a pool (receivable)", tuple(chart.POOL_RECEIVABLES.values())),
        "pledged": ("Pledged, control retained (1230)", (chart.PLEDGED,)),
        "lent": ("Lent as collateral (1400)", (chart.COLLATERAL_RECEIVABLE,)),
    }

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _roots) in self.PLACES.items()]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        place = self.PLACES.get(self.value() or "")
        if place is None:
            return queryset
        ids: set[int] = set()
        for root in Account.objects.filter(code__in=place[1]):
            ids.update(ledger_selectors.subtree_ids(root))
        return queryset.filter(account_id__in=ids)


class LotWalletFilter(admin.SimpleListFilter):
    title = "wallet"
    parameter_name = "wallet"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(w.code, f"{w.code} {w.name}") for w in Wallet.objects.order_by("code")]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        if not self.value():
            return queryset
        return queryset.filter(account__wallet__code=self.value())


@admin.register(Lot)
class LotAdmin(EvidenceAdmin):
    list_display = (
        "lot_label",
        "commodity",
        "account_display",
        "acquired_at",
        "origin",
        "quantity_display",
        "cost_display",
        "carrying_display",
        "original_display",
    )
    list_display_links = ("lot_label",)
    list_filter = (
        LotStateFilter,
        "commodity",
        "origin",
        LotPlaceFilter,
        LotWalletFilter,
        ("account", admin.RelatedOnlyFieldListFilter),
    )
    date_hierarchy = "acquired_at"
    search_fields = (
        "account__code",
        "account__wallet__code",
        "production_record__pool_account__code",
    )
    search_help_text = "Account code, wallet code or pool account code."
    list_select_related = ("commodity", "account")
    inlines = (LotMovementInline,)
    fields = (
        "lot_label",
        "commodity",
        "account_display",
        "acquired_at",
        "origin",
        "quantity_display",
        "cost_display",
        "adjustment_display",
        "carrying_display",
        "original_display",
        "original_cost_display",
        "parent_display",
        "production_display",
        "price_display",
        "opened_by",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Lot]:
        return (
            super()
            .get_queryset(request)
            .select_related("production_record__pool_account", "price", "opened_by_entry")
        )

    @admin.display(description="lot", ordering="id")
    def lot_label(self, obj: Lot) -> str:
        return f"#{obj.pk}"

    @admin.display(description="account", ordering="account__code")
    def account_display(self, obj: Lot) -> str:
        return f"{obj.account.code} {obj.account.name}"

    @admin.display(description="quantity", ordering="quantity")
    def quantity_display(self, obj: Lot) -> str:
        return units(obj.quantity, obj.commodity.decimal_places)

    @admin.display(description="cost (USD)", ordering="cost")
    def cost_display(self, obj: Lot) -> str:
        return usd(obj.cost)

    @admin.display(description="fair value adjustment (USD)")
    def adjustment_display(self, obj: Lot) -> str:
        return usd(obj.fair_value_adjustment)

    @admin.display(description="carrying value (USD)")
    def carrying_display(self, obj: Lot) -> str:
        return usd(obj.cost + obj.fair_value_adjustment)

    @admin.display(description="original quantity")
    def original_display(self, obj: Lot) -> str:
        return units(obj.original_quantity, obj.commodity.decimal_places)

    @admin.display(description="original cost (USD)")
    def original_cost_display(self, obj: Lot) -> str:
        return usd(obj.original_cost)

    @admin.display(description="transferred out of")
    def parent_display(self, obj: Lot) -> SafeString | str:
        return link(obj.parent, f"lot #{obj.parent_id}") if obj.parent_id else "-"

    @admin.display(description="production record")
    def production_display(self, obj: Lot) -> SafeString | str:
        record = obj.production_record
        if record is None:
            return "-"
        return link(record, f"{record.pool_account.code} {record.day}")

    @admin.display(description="price")
    def price_display(self, obj: Lot) -> SafeString | str:
        return price_text(obj.price)

    @admin.display(description="opened by entry")
    def opened_by(self, obj: Lot) -> SafeString:
        return entry_link(obj.opened_by_entry)


@admin.register(Remeasurement)
class RemeasurementAdmin(EvidenceAdmin):
    list_display = (
        "as_of",
        "commodity",
        "units_display",
        "price_display",
        "carrying_display",
        "fair_value_display",
        "adjustment_display",
        "lots",
        "entry_display",
    )
    list_filter = ("commodity",)
    date_hierarchy = "as_of"
    search_fields = ("commodity__code",)
    list_select_related = ("commodity", "price", "entry", "created_by")
    fields = (
        "commodity",
        "as_of",
        "units_display",
        "price_display",
        "carrying_display",
        "fair_value_display",
        "adjustment_display",
        "lots",
        "entry_display",
        "created_by_name",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="units")
    def units_display(self, obj: Remeasurement) -> str:
        return units(obj.units, obj.commodity.decimal_places, obj.commodity_id)

    @admin.display(description="price")
    def price_display(self, obj: Remeasurement) -> SafeString | str:
        return price_text(obj.price)

    @admin.display(description="carrying value before (USD)")
    def carrying_display(self, obj: Remeasurement) -> str:
        return usd(obj.carrying_value_before)

    @admin.display(description="fair value (USD)")
    def fair_value_display(self, obj: Remeasurement) -> str:
        return usd(obj.fair_value)

    @admin.display(description="adjustment (USD)")
    def adjustment_display(self, obj: Remeasurement) -> str:
        return usd(obj.adjustment)

    @admin.display(description="entry")
    def entry_display(self, obj: Remeasurement) -> SafeString | str:
        return entry_link(obj.entry) if obj.entry else "-"

    @admin.display(description="created by")
    def created_by_name(self, obj: Remeasurement) -> str:
        return obj.created_by.get_username() if obj.created_by else "-"


# --- sales and transfers -----------------------------------------------------------------


def _places(commodity_id: str) -> int:
    return Commodity.objects.get(code=commodity_id).decimal_places


def plan_display(plan: treasury.SalePlan) -> dict[str, Any]:
    """A sale's plan written out for the preview table: amounts at their scale."""
    places = plan.wallet.commodity.decimal_places
    proceeds_places = _places(plan.proceeds_commodity)
    return {
        "wallet": plan.wallet.code,
        "commodity": plan.wallet.commodity_id,
        "method": plan.method,
        "units": units(plan.units, places),
        "proceeds_commodity": plan.proceeds_commodity,
        "proceeds_account": plan.proceeds_account.code,
        "gross_proceeds": units(plan.gross_proceeds, proceeds_places),
        "fee": units(plan.fee, proceeds_places),
        "net_proceeds": units(plan.net_proceeds, proceeds_places),
        "proceeds_value": usd(plan.proceeds_value),
        "fee_value": usd(plan.fee_value),
        "cost": usd(plan.cost),
        "adjustment": usd(plan.adjustment),
        "carrying_value": usd(plan.carrying_value),
        "realized_gain": usd(plan.realized_gain),
        "gain_on_carrying_value": usd(plan.gain_on_carrying_value),
        "reliefs": [
            {
                "lot": relief.lot_id,
                "acquired_at": f"{relief.acquired_at:%Y-%m-%dT%H:%M:%SZ}",
                "days_held": relief.days_held,
                "units": units(relief.units, places),
                "cost": usd(relief.cost),
                "adjustment": usd(relief.adjustment),
                "carrying_value": usd(relief.carrying_value),
                "proceeds": usd(relief.proceeds),
                "realized_gain": usd(relief.realized_gain),
            }
            for relief in plan.reliefs
        ],
    }


class DisposalInline(admin.TabularInline):
    model = Disposal
    fields = (
        "lot_display",
        "acquired_display",
        "units_display",
        "cost_display",
        "carrying_display",
        "proceeds_display",
        "gain_display",
        "days_held",
        "method",
    )
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Disposal]:
        return super().get_queryset(request).select_related("lot__commodity").order_by("id")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, READ_ROLES)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="lot")
    def lot_display(self, obj: Disposal) -> SafeString | str:
        return link(obj.lot, f"#{obj.lot_id}")

    @admin.display(description="acquired (UTC)")
    def acquired_display(self, obj: Disposal) -> str:
        return f"{obj.lot.acquired_at:%Y-%m-%d %H:%M}"

    @admin.display(description="units")
    def units_display(self, obj: Disposal) -> str:
        return units(obj.units, obj.lot.commodity.decimal_places)

    @admin.display(description="cost (USD)")
    def cost_display(self, obj: Disposal) -> str:
        return usd(obj.cost)

    @admin.display(description="carrying value (USD)")
    def carrying_display(self, obj: Disposal) -> str:
        return usd(obj.carrying_value)

    @admin.display(description="proceeds (USD)")
    def proceeds_display(self, obj: Disposal) -> str:
        return usd(obj.proceeds)

    @admin.display(description="realized gain (USD)")
    def gain_display(self, obj: Disposal) -> str:
        return usd(obj.realized_gain)


class FeeDisposalInline(DisposalInline):
    fk_name = "transfer"
    verbose_name = "network fee disposal"
    verbose_name_plural = "network fee disposals"


class RecordAdmin(RoleAdmin):
    """Read-only rows that finance staff and approvers record through a service on the add
    page; auditors read them."""

    add_roles = OPERATE_ROLES
    show_full_result_count = False

    def record_page(
        self, request: HttpRequest, *, form: forms.Form, plan: Any = None, **labels: str
    ) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "form": form,
            "plan": plan,
            "media": self.media + form.media,
            **labels,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/holdings/record_form.html", context)


@admin.register(Sale)
class SaleAdmin(RecordAdmin):
    list_display = (
        "reference",
        "sold_at",
        "wallet",
        "units_display",
        "proceeds_display",
        "proceeds_value_display",
        "cost_display",
        "realized_gain_display",
        "method",
    )
    list_filter = (
        "method",
        "commodity",
        "proceeds_commodity",
        ("wallet", admin.RelatedOnlyFieldListFilter),
    )
    date_hierarchy = "sold_at"
    search_fields = ("reference",)
    search_help_text = "The trade's reference."
    list_select_related = ("wallet", "commodity", "proceeds_commodity")
    inlines = (DisposalInline,)
    fields = (
        "reference",
        "wallet",
        "units_display",
        "sold_at",
        "method",
        "proceeds_display",
        "fee_display",
        "proceeds_account",
        "proceeds_value_display",
        "fee_value_display",
        "cost_display",
        "carrying_display",
        "realized_gain_display",
        "gain_on_carrying_display",
        "entry_display",
        "created_by",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Sale]:
        return (
            super()
            .get_queryset(request)
            .select_related(
                "wallet", "commodity", "proceeds_commodity", "proceeds_account", "entry"
            )
        )

    @admin.display(description="units", ordering="units")
    def units_display(self, obj: Sale) -> str:
        return units(obj.units, obj.commodity.decimal_places, obj.commodity_id)

    @admin.display(description="gross proceeds")
    def proceeds_display(self, obj: Sale) -> str:
        return units(
            obj.gross_proceeds, obj.proceeds_commodity.decimal_places, obj.proceeds_commodity_id
        )

    @admin.display(description="fee")
    def fee_display(self, obj: Sale) -> str:
        return units(obj.fee, obj.proceeds_commodity.decimal_places, obj.proceeds_commodity_id)

    @admin.display(description="proceeds value (USD)", ordering="proceeds_value")
    def proceeds_value_display(self, obj: Sale) -> str:
        return usd(obj.proceeds_value)

    @admin.display(description="fee value (USD)")
    def fee_value_display(self, obj: Sale) -> str:
        return usd(obj.fee_value)

    @admin.display(description="cost (USD)", ordering="cost")
    def cost_display(self, obj: Sale) -> str:
        return usd(obj.cost)

    @admin.display(description="carrying value (USD)")
    def carrying_display(self, obj: Sale) -> str:
        return usd(obj.carrying_value)

    @admin.display(description="realized gain against cost (USD)", ordering="realized_gain")
    def realized_gain_display(self, obj: Sale) -> str:
        return usd(obj.realized_gain)

    @admin.display(description="gain on carrying value (USD)")
    def gain_on_carrying_display(self, obj: Sale) -> str:
        return usd(obj.gain_on_carrying_value)

    @admin.display(description="journal entry")
    def entry_display(self, obj: Sale) -> SafeString:
        return entry_link(obj.entry)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """Record a sale: Preview shows the lots it would relieve and its figures (nothing
        written); Confirm records it through holdings.treasury.sale_record."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        post = request.method == "POST"
        form = SaleRecordForm(request.POST if post else None)
        plan = None
        if post and form.is_valid():
            if "_confirm" in request.POST:
                try:
                    with transaction.atomic():
                        sale = treasury.sale_record(
                            reference=form.cleaned_data["reference"],
                            created_by=request.user,
                            **form.service_arguments(),
                        )
                except LedgerError as exc:
                    add_service_error(form, exc)
                else:
                    self.log_addition(request, sale, f"Recorded sale {sale.reference}")
                    self.message_user(
                        request,
                        f"Sale {sale.reference} is recorded: {sale.units} "
                        f"{sale.commodity_id}, realized gain {usd(sale.realized_gain)} USD.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:holdings_sale_change", args=[sale.pk])
                    )
            else:
                preview = form.preview()
                plan = None if preview is None else plan_display(preview)
        return self.record_page(
            request,
            form=form,
            plan=plan,
            title="Record a sale",
            intro="Preview the sale to see the lots it relieves (first in, first out, or the "
            "lots named) and its figures; nothing is recorded until you confirm.",
            preview_label="Preview",
            submit_label="Confirm",
        )


@admin.register(Transfer)
class TransferAdmin(RecordAdmin):
    list_display = (
        "txid_short",
        "sent_at",
        "from_wallet",
        "to_wallet",
        "units_display",
        "fee_display",
    )
    list_filter = (
        ("from_wallet", admin.RelatedOnlyFieldListFilter),
        ("to_wallet", admin.RelatedOnlyFieldListFilter),
    )
    date_hierarchy = "sent_at"
    search_fields = ("txid",)
    search_help_text = "Transaction id."
    list_select_related = ("from_wallet__commodity", "to_wallet")
    inlines = (FeeDisposalInline,)
    fields = (
        "txid",
        "from_wallet",
        "to_wallet",
        "units_display",
        "fee_display",
        "sent_at",
        "entry_display",
        "created_by",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Transfer]:
        return (
            super()
            .get_queryset(request)
            .select_related("from_wallet__commodity", "to_wallet", "entry")
        )

    @admin.display(description="txid", ordering="txid")
    def txid_short(self, obj: Transfer) -> str:
        return f"{obj.txid[:12]}…" if len(obj.txid) > 12 else obj.txid

    @admin.display(description="units", ordering="units")
    def units_display(self, obj: Transfer) -> str:
        commodity = obj.from_wallet.commodity
        return units(obj.units, commodity.decimal_places, commodity.code)

    @admin.display(description="network fee")
    def fee_display(self, obj: Transfer) -> str:
        commodity = obj.from_wallet.commodity
        return units(obj.fee_units, commodity.decimal_places, commodity.code)

    @admin.display(description="journal entry")
    def entry_display(self, obj: Transfer) -> SafeString:
        return entry_link(obj.entry)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """Record a transfer through holdings.treasury.transfer_record."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        post = request.method == "POST"
        form = TransferRecordForm(request.POST if post else None)
        if post and form.is_valid():
            try:
                with transaction.atomic():
                    record = treasury.transfer_record(
                        created_by=request.user, **form.service_arguments()
                    )
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                self.log_addition(request, record, f"Recorded transfer {record.txid}")
                self.message_user(
                    request,
                    f"Transfer {record.txid} is recorded: {record.units} "
                    f"{record.from_wallet.commodity_id} from {record.from_wallet.code} to "
                    f"{record.to_wallet.code}.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:holdings_transfer_change", args=[record.pk])
                )
        return self.record_page(
            request,
            form=form,
            title="Record a transfer",
            intro="Lots move first in, first out, keeping their acquisition date and cost; "
            "the network fee is a disposal of units, expensed at carrying value.",
            submit_label="Record the transfer",
        )


@admin.register(Disposal)
class DisposalAdmin(EvidenceAdmin):
    list_display = (
        "disposal_label",
        "disposed_on",
        "kind",
        "lot_display",
        "account_display",
        "units_display",
        "cost_display",
        "carrying_display",
        "proceeds_display",
        "gain_display",
        "days_held",
        "method",
    )
    list_filter = ("method", ("lot__commodity", admin.RelatedOnlyFieldListFilter))
    date_hierarchy = "disposed_on"
    search_fields = ("sale__reference", "transfer__txid")
    search_help_text = "Sale reference or transaction id."
    list_select_related = ("lot__commodity", "lot__account", "sale", "transfer")
    fields = (
        "disposal_label",
        "disposed_on",
        "kind",
        "lot_display",
        "account_display",
        "units_display",
        "cost_display",
        "carrying_display",
        "proceeds_display",
        "gain_display",
        "days_held",
        "method",
        "entry_display",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Disposal]:
        return (
            super()
            .get_queryset(request)
            .select_related("lot__commodity", "lot__account", "sale", "transfer", "entry")
        )

    @admin.display(description="disposal", ordering="id")
    def disposal_label(self, obj: Disposal) -> str:
        return f"#{obj.pk}"

    @admin.display(description="of")
    def kind(self, obj: Disposal) -> SafeString | str:
        if obj.sale is not None:
            return link(obj.sale, f"sale {obj.sale.reference}")
        return link(obj.transfer, "network fee")

    @admin.display(description="lot")
    def lot_display(self, obj: Disposal) -> SafeString | str:
        return link(obj.lot, f"#{obj.lot_id}")

    @admin.display(description="account")
    def account_display(self, obj: Disposal) -> str:
        return obj.lot.account.code

    @admin.display(description="units", ordering="units")
    def units_display(self, obj: Disposal) -> str:
        return units(obj.units, obj.lot.commodity.decimal_places, obj.lot.commodity_id)

    @admin.display(description="cost (USD)", ordering="cost")
    def cost_display(self, obj: Disposal) -> str:
        return usd(obj.cost)

    @admin.display(description="carrying value (USD)")
    def carrying_display(self, obj: Disposal) -> str:
        return usd(obj.carrying_value)

    @admin.display(description="proceeds (USD)")
    def proceeds_display(self, obj: Disposal) -> str:
        return usd(obj.proceeds)

    @admin.display(description="realized gain (USD)", ordering="realized_gain")
    def gain_display(self, obj: Disposal) -> str:
        return usd(obj.realized_gain)

    @admin.display(description="journal entry")
    def entry_display(self, obj: Disposal) -> SafeString:
        return entry_link(obj.entry)


# --- loans -------------------------------------------------------------------------------


def loan_event_kind(event: LoanEvent) -> SafeString | str:
    """The event's kind; an LTV tier crossing stands out, with the tiers it crossed."""
    if event.kind != LoanEventKind.TIER:
        return event.get_kind_display()
    details = event.details or {}
    return format_html(
        '<strong class="loan-tier-crossed" style="color: var(--error-fg, #ba2121)">'
        "&#9888; LTV tier crossed: {} &rarr; {} (LTV {})</strong>",
        details.get("previous", "-"),
        details.get("tier", "-"),
        details.get("ltv") or "-",
    )


def loan_event_details(event: LoanEvent) -> str:
    return ", ".join(f"{key}: {value}" for key, value in sorted((event.details or {}).items()))


class LoanEventInline(admin.TabularInline):
    model = LoanEvent
    fields = (
        "effective_date",
        "kind_display",
        "amount_display",
        "units_display",
        "details_display",
        "entry_display",
        "created_by",
    )
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[LoanEvent]:
        return (
            super()
            .get_queryset(request)
            .select_related(
                "loan__principal_commodity", "loan__collateral_commodity", "entry", "created_by"
            )
            .order_by("effective_date", "id")
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return allowed(request.user, READ_ROLES)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="kind")
    def kind_display(self, obj: LoanEvent) -> SafeString | str:
        return loan_event_kind(obj)

    @admin.display(description="amount")
    def amount_display(self, obj: LoanEvent) -> str:
        commodity = obj.loan.principal_commodity
        return units(obj.amount, commodity.decimal_places, commodity.code) if obj.amount else "-"

    @admin.display(description="units")
    def units_display(self, obj: LoanEvent) -> str:
        commodity = obj.loan.collateral_commodity
        return units(obj.units, commodity.decimal_places, commodity.code) if obj.units else "-"

    @admin.display(description="details")
    def details_display(self, obj: LoanEvent) -> str:
        return loan_event_details(obj)

    @admin.display(description="journal entry")
    def entry_display(self, obj: LoanEvent) -> SafeString | str:
        return entry_link(obj.entry) if obj.entry else "-"


@admin.register(Loan)
class LoanAdmin(EvidenceAdmin):
    """Loans, read-only: their terms, accounts, today's status and every event."""

    list_display = (
        "code",
        "lender",
        "principal_commodity",
        "rate_display",
        "day_count",
        "start_date",
        "maturity_date",
        "tiers_display",
        "tier_today",
    )
    list_filter = ("principal_commodity", "day_count")
    date_hierarchy = "start_date"
    search_fields = ("code", "lender")
    search_help_text = "Loan code or lender."
    list_select_related = (
        "principal_commodity",
        "collateral_commodity",
        "principal_account",
        "interest_account",
        "pledged_account",
        "lent_account",
    )
    inlines = (LoanEventInline,)
    fields = (
        "code",
        "lender",
        "principal_commodity",
        "collateral_commodity",
        "rate_display",
        "day_count",
        "start_date",
        "maturity_date",
        "tiers_display",
        "cure_hours",
        "principal_account",
        "interest_account",
        "pledged_account",
        "lent_account",
        "status_display",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Loan]:
        return super().get_queryset(request).select_related(*self.list_select_related)

    @staticmethod
    def _status(obj: Loan) -> loans.LoanStatus | str:
        try:
            return loans.loan_status(loan=obj, as_of=timezone.now().date())
        except HoldingsError as error:
            return error.message

    @admin.display(description="annual rate", ordering="annual_rate")
    def rate_display(self, obj: Loan) -> str:
        return f"{obj.annual_rate * 100:f}".rstrip("0").rstrip(".") + "%"

    @admin.display(description="LTV tiers (warning / margin call / liquidation)")
    def tiers_display(self, obj: Loan) -> str:
        return f"{obj.warning_ltv:f} / {obj.margin_call_ltv:f} / {obj.liquidation_ltv:f}"

    @admin.display(description="tier today (UTC)")
    def tier_today(self, obj: Loan) -> str:
        status = self._status(obj)
        return status.tier if isinstance(status, loans.LoanStatus) else "-"

    @admin.display(description="status today (UTC)")
    def status_display(self, obj: Loan) -> SafeString | str:
        status = self._status(obj)
        if not isinstance(status, loans.LoanStatus):
            return f"Not available: {status}"
        principal = obj.principal_commodity
        collateral = obj.collateral_commodity
        rows = [
            ("as of", str(status.as_of)),
            ("principal", units(status.principal, principal.decimal_places, principal.code)),
            ("interest", units(status.interest, principal.decimal_places, principal.code)),
            ("debt value (USD)", usd(status.debt_value)),
            (
                "collateral",
                units(status.collateral_units, collateral.decimal_places, collateral.code),
            ),
            (
                "price (USD)",
                "-" if status.collateral_price is None else f"{status.collateral_price:f}",
            ),
            ("collateral value (USD)", usd(status.collateral_value)),
            ("LTV", "-" if status.ltv is None else f"{status.ltv:f}"),
            ("tier", status.tier),
        ]
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )


class LoanEventKindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(LoanEventKind.choices)

    def queryset(self, request: HttpRequest, queryset: models.QuerySet) -> models.QuerySet:
        value = self.value()
        return queryset.filter(kind=value) if value else queryset


@admin.register(LoanEvent)
class LoanEventAdmin(RecordAdmin):
    """Every loan's events, read-only; finance staff and approvers record one on the add
    page through holdings.loans."""

    list_display = (
        "event_label",
        "effective_date",
        "loan",
        "kind_display",
        "amount_display",
        "units_display",
        "details_display",
        "entry_display",
    )
    list_filter = (LoanEventKindFilter, ("loan", admin.RelatedOnlyFieldListFilter))
    date_hierarchy = "effective_date"
    search_fields = ("loan__code", "loan__lender")
    search_help_text = "Loan code or lender."
    list_select_related = (
        "loan__principal_commodity",
        "loan__collateral_commodity",
        "entry",
        "created_by",
    )
    fields = (
        "loan",
        "kind_display",
        "effective_date",
        "amount_display",
        "units_display",
        "details_display",
        "entry_display",
        "created_by",
        "created_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[LoanEvent]:
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related)
            .order_by("-effective_date", "-id")
        )

    @admin.display(description="event", ordering="id")
    def event_label(self, obj: LoanEvent) -> str:
        return f"#{obj.pk}"

    @admin.display(description="kind", ordering="kind")
    def kind_display(self, obj: LoanEvent) -> SafeString | str:
        return loan_event_kind(obj)

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, obj: LoanEvent) -> str:
        commodity = obj.loan.principal_commodity
        return units(obj.amount, commodity.decimal_places, commodity.code) if obj.amount else "-"

    @admin.display(description="units", ordering="units")
    def units_display(self, obj: LoanEvent) -> str:
        commodity = obj.loan.collateral_commodity
        return units(obj.units, commodity.decimal_places, commodity.code) if obj.units else "-"

    @admin.display(description="details")
    def details_display(self, obj: LoanEvent) -> str:
        return loan_event_details(obj)

    @admin.display(description="journal entry")
    def entry_display(self, obj: LoanEvent) -> SafeString | str:
        return entry_link(obj.entry) if obj.entry else "-"

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """Record a loan event through holdings.loans."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        post = request.method == "POST"
        form = LoanEventRecordForm(request.POST if post else None)
        if post and form.is_valid():
            try:
                with transaction.atomic():
                    event = form.record(request.user)
            except LedgerError as exc:
                if exc.field in ("from_wallet", "to_wallet"):
                    form.add_error("wallet", exc.message)
                else:
                    add_service_error(form, exc)
            else:
                self.log_addition(request, event, f"Recorded {event.kind} of loan {event.loan_id}")
                self.message_user(
                    request,
                    f"Loan {event.loan.code}: {event.get_kind_display().lower()} on "
                    f"{event.effective_date} is recorded.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:holdings_loanevent_change", args=[event.pk])
                )
        return self.record_page(
            request,
            form=form,
            title="Record a loan event",
            intro="A draw, collateral pledged or released, a repayment (interest first), a "
            "liquidation by the lender, or a day's interest. Collateral moves first in, first "
            "out; the LTV tier is checked after every move of collateral or debt.",
            submit_label="Record the event",
        )


# The reconciliation pages and the nightly jobs' schedule live in their own modules,
# registered with the rest.
from holdings import admin_reconciliation, admin_schedule  # noqa: E402, F401
