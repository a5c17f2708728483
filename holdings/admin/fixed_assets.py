"""Fixed assets in the admin. Every role reads the assets, their events and the deposits to
vendors; finance staff and approvers record a deposit, machines received and an asset's
events (placed in service, a new useful life, a disposal); an impairment is booked by a
finance approver with its evidence. Depreciation runs at each month end (`manage.py
close_site_costs`). Nothing is changed or deleted here: an entry is undone by its
document's cancellation, the asset's latest first."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.safestring import SafeString

from holdings.admin.base import RecordAdmin, link, usd
from holdings.admin.forms.fixed_assets import AssetEventForm, AssetReceiptForm, VendorDepositForm
from holdings.models import AssetEvent, FixedAsset, VendorDeposit
from holdings.selectors.fixed_assets import asset_state
from holdings.services import fixed_assets
from ledger.admin import allowed, refusal
from ledger.errors import LedgerError
from ledger.forms import add_service_error
from ledger.roles import OPERATE_ROLES


class AssetEventInline(admin.TabularInline):
    model = AssetEvent
    extra = 0
    can_delete = False
    fields = ("effective_date", "kind", "month", "amount", "accumulated", "evidence", "entry")
    readonly_fields = fields

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _page(admin_page: RecordAdmin, request: HttpRequest, form: Any, **labels: str) -> Any:
    context = {
        **admin_page.admin_site.each_context(request),
        "opts": admin_page.opts,
        "form": form,
        "plan": None,
        "media": admin_page.media + form.media,
        **labels,
    }
    request.current_app = admin_page.admin_site.name
    return TemplateResponse(request, "admin/holdings/record_form.html", context)


@admin.register(VendorDeposit)
class VendorDepositAdmin(RecordAdmin):
    list_display = ("paid_on", "reference", "vendor", "amount_display", "entry")
    search_fields = ("reference", "vendor")
    fields = ("vendor", "reference", "amount", "paid_on", "entry", "created_by", "created_at")
    readonly_fields = fields

    @admin.display(description="amount (USD)", ordering="amount")
    def amount_display(self, obj: VendorDeposit) -> str:
        return usd(obj.amount)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise self.add_refusal(request)
        form = VendorDepositForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    deposit = fixed_assets.vendor_deposit_record(
                        **form.cleaned_data, by=request.user
                    )
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                self.log_addition(request, deposit, f"Recorded deposit {deposit.reference}")
                self.message_user(
                    request, f"Deposit {deposit.reference} is posted.", messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:holdings_vendordeposit_changelist"))
        return _page(
            self,
            request,
            form,
            title="Record a deposit to a vendor",
            intro="Paid in cash: Dr 1500 deposits and prepayments / Cr 1000.",
            submit_label="Record",
        )


@admin.register(FixedAsset)
class FixedAssetAdmin(RecordAdmin):
    list_display = (
        "code",
        "asset_class",
        "site",
        "units",
        "cost_display",
        "in_service_on",
        "useful_life_months",
        "net_book_value",
        "disposed_on",
    )
    list_filter = ("asset_class", "site")
    search_fields = ("code", "description", "vendor")
    inlines = [AssetEventInline]
    fields = (
        "code",
        "asset_class",
        "description",
        "vendor",
        "units",
        "hashrate_ths",
        "power_kw",
        "cost",
        "received_on",
        "deposit",
        "deposit_applied",
        "paid",
        "receipt",
        "site",
        "in_service_on",
        "useful_life_months",
        "salvage_value",
        "disposed_on",
    )
    readonly_fields = fields

    @admin.display(description="cost (USD)", ordering="cost")
    def cost_display(self, obj: FixedAsset) -> str:
        return usd(obj.cost)

    @admin.display(description="net book value (USD)")
    def net_book_value(self, obj: FixedAsset) -> str:
        return usd(asset_state(obj).net_book_value)

    @admin.display(description="receipt")
    def receipt(self, obj: FixedAsset) -> SafeString | str:
        return link(obj.receipt_entry)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        extra = {**(extra_context or {}), "can_record": allowed(request.user, OPERATE_ROLES)}
        return super().change_view(request, object_id, form_url, extra)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        """Machines received, at cost: Dr 1600 / Cr 1500 the deposit applied / Cr 2210 or
        1000 the rest."""
        if not self.has_add_permission(request):
            raise self.add_refusal(request)
        form = AssetReceiptForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    asset = fixed_assets.asset_receive(**form.service_arguments(), by=request.user)
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                self.log_addition(request, asset, f"Received {asset.code}")
                self.message_user(request, f"Asset {asset.code} is received.", messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:holdings_fixedasset_change", args=[asset.pk])
                )
        return _page(
            self,
            request,
            form,
            title="Receive machines",
            intro="A batch of machines received at cost, the deposit named applied first and "
            "the rest owed to the vendor (or paid in cash).",
            submit_label="Receive",
        )

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view(self.event_view)
        return [
            path("<int:pk>/event/", view, name="holdings_fixedasset_event"),
            *super().get_urls(),
        ]

    def event_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """An event of the asset, through the service that checks and posts it."""
        if not allowed(request.user, OPERATE_ROLES):
            raise refusal("Recording an asset's event", OPERATE_ROLES)
        asset = get_object_or_404(FixedAsset, pk=pk)
        form = AssetEventForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    _record(asset, data, request.user)
            except LedgerError as exc:
                add_service_error(form, exc)
            else:
                self.log_change(request, asset, f"Recorded {data['kind']}")
                self.message_user(
                    request,
                    f"{asset.code}: {data['kind'].replace('_', ' ')} recorded.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:holdings_fixedasset_change", args=[asset.pk])
                )
        return _page(
            self,
            request,
            form,
            title=f"Record an event of {asset.code}",
            intro="Placed in service at a site (its useful life the class's unless given), a "
            "new useful life from a month on, an impairment at a month end (finance approvers, "
            "with the evidence) or a disposal (the month's depreciation to the day first).",
            submit_label="Record",
        )


def _record(asset: FixedAsset, data: dict[str, Any], by: Any) -> None:
    kind, on = data["kind"], data["on"]
    if kind == "in_service":
        fixed_assets.asset_place_in_service(
            asset=asset,
            site=data["site"],
            on=on,
            useful_life_months=data.get("useful_life_months"),
            salvage_value=data.get("salvage_value") or Decimal("0.00"),
            by=by,
        )
    elif kind == "life_change":
        fixed_assets.asset_change_life(
            asset=asset, from_month=on, useful_life_months=data["useful_life_months"], by=by
        )
    elif kind == "impairment":
        fixed_assets.asset_impair(
            asset=asset, on=on, fair_value=data["fair_value"], evidence=data["evidence"], by=by
        )
    else:
        fixed_assets.asset_dispose(asset=asset, on=on, proceeds=data["proceeds"], by=by)
