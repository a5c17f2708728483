"""Fair value remeasurements in the admin, read-only: each with the price, the carrying
value before, the fair value and the adjustment posted, and whether it stands (a day is
remeasured again, as its next attempt, once its remeasurement is cancelled)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from holdings.admin.base import EvidenceAdmin, price_text, units, usd
from holdings.models import Remeasurement
from ledger.admin import entry_link
from ledger.models import CancellationStatus


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
        "attempt",
        "standing_display",
        "entry_display",
    )
    list_filter = ("commodity",)
    ordering = ("-as_of", "commodity", "-attempt")  # a day's newest attempt first
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
        "attempt",
        "standing_display",
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[Remeasurement]:
        return super().get_queryset(request).prefetch_related("entry__cancellations")

    @admin.display(description="standing")
    def standing_display(self, obj: Remeasurement) -> str:
        if obj.entry is None:
            return "stands (posted nothing)"
        for cancellation in obj.entry.cancellations.all():
            if cancellation.status == CancellationStatus.APPROVED:
                return f"cancelled on {cancellation.effective_date}"
        return "stands"

    @admin.display(description="entry")
    def entry_display(self, obj: Remeasurement) -> SafeString | str:
        return entry_link(obj.entry) if obj.entry else "-"

    @admin.display(description="created by")
    def created_by_name(self, obj: Remeasurement) -> str:
        return obj.created_by.get_username() if obj.created_by else "-"
