"""Lots in the admin, read-only: each with its movements, filtered by state, by where the
units are held (a wallet, a pool, pledged or lent) and by wallet."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.utils.safestring import SafeString

from holdings import chart
from holdings.admin.base import EvidenceAdmin, link, price_text, units, usd
from holdings.models import Lot, LotMovement, Wallet
from ledger import selectors as ledger_selectors
from ledger.admin import allowed, entry_link
from ledger.models import Account
from ledger.roles import READ_ROLES


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
            tuple(
                p
                for ps in chart.WALLET_PARENTS.values()
                for p in ps
                if p not in chart.PLEDGED_ACCOUNTS.values()
            ),
        ),
        "pool": ("At a pool (receivable)", tuple(chart.POOL_RECEIVABLES.values())),
        "pledged": (
            "Pledged, control retained (1230...)",
            tuple(chart.PLEDGED_ACCOUNTS.values()),
        ),
        "lent": (
            "Lent as collateral (1400...)",
            tuple(chart.COLLATERAL_RECEIVABLES.values()),
        ),
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
