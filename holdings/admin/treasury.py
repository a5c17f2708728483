"""Sales, transfers and disposals in the admin. Finance staff and approvers record a sale
(previewed first: the lots it relieves and its figures) or a transfer through
holdings.services.treasury; the disposals they made are shown, read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.safestring import SafeString

from holdings.admin.base import EvidenceAdmin, RecordAdmin, link, units, usd
from holdings.admin.forms.treasury import SaleRecordForm, TransferRecordForm
from holdings.models import Disposal, Sale, Transfer
from holdings.services import treasury
from ledger.admin import allowed, entry_link, utc_time
from ledger.errors import LedgerError
from ledger.forms import add_service_error
from ledger.models import Commodity
from ledger.roles import READ_ROLES


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
                "acquired_at": utc_time(relief.acquired_at),
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

    @admin.display(description="acquired")
    def acquired_display(self, obj: Disposal) -> str:
        return utc_time(obj.lot.acquired_at)

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
        written); Confirm records it through holdings.services.treasury.sale_record."""
        if not self.has_add_permission(request):
            raise self.add_refusal(request)
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
        """Record a transfer through holdings.services.treasury.transfer_record."""
        if not self.has_add_permission(request):
            raise self.add_refusal(request)
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
