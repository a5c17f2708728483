"""Site costs (invoices, accruals, meter readings) and the cost to mine a bitcoin."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from holdings.api.serializers.common import (
    HOLDINGS_CODE_PATTERN,
    DecimalOut,
    UsdOut,
)
from holdings.importers.site_costs import HOSTING_BASES, INVOICE_HEADER, KINDS, METER_HEADER
from holdings.models import MeterReading, Site, SiteCost, SiteCostFile
from holdings.selectors.costs import GROUPS
from holdings.services.production import size_text, too_large
from ledger.api.report_serializers import check_range
from ledger.api.serializers import CodeField, StrictCharField, StrictSerializer, UTCDateField

KWH_SCHEMA = {"type": "string", "example": "1250000.000", "pattern": r"^[0-9]+\.[0-9]{3}$"}
NULLABLE_KWH_SCHEMA = {**KWH_SCHEMA, "nullable": True}
NULLABLE_FIGURE_SCHEMA = {
    "type": "string",
    "example": "0.0512",
    "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
    "nullable": True,
}


def _site_field(help_text: str, **kwargs: Any) -> CodeField:
    return CodeField(
        slug_field="code",
        queryset=Site.objects.all(),
        pattern=HOLDINGS_CODE_PATTERN,
        what="site",
        help_text=help_text,
        **kwargs,
    )


class SiteCostSerializer(serializers.ModelSerializer):
    """An invoice or a month-end accrual of a site's power, hosting or other direct cost."""

    site: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    kwh = DecimalOut(NULLABLE_KWH_SCHEMA, places=3, allow_null=True)
    energy = UsdOut()
    demand = UsdOut()
    taxes = UsdOut()
    credits = UsdOut()
    amount = UsdOut(help_text="What is owed: a power invoice's charges less its credits.")
    entry: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )
    reverses: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The accrual this invoice reversed."
    )
    file: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )

    class Meta:
        model = SiteCost
        fields = [
            "id",
            "site",
            "kind",
            "origin",
            "vendor",
            "reference",
            "period_start",
            "period_end",
            "kwh",
            "energy",
            "demand",
            "taxes",
            "credits",
            "amount",
            "hosting_basis",
            "description",
            "paid",
            "status",
            "entry",
            "reverses",
            "file",
            "row",
            "created_at",
        ]
        read_only_fields = fields


class MeterReadingSerializer(serializers.ModelSerializer):
    site: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    kwh = DecimalOut(KWH_SCHEMA, places=3)
    hpc_kwh = DecimalOut(KWH_SCHEMA, places=3)
    file: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )

    class Meta:
        model = MeterReading
        fields = ["id", "site", "period_start", "period_end", "kwh", "hpc_kwh", "file", "row"]
        read_only_fields = fields


class SiteCostFileSerializer(serializers.ModelSerializer):
    """A file imported: its rows, and the records it made."""

    class Meta:
        model = SiteCostFile
        fields = ["id", "kind", "file_name", "file_sha256", "rows", "created_at"]
        read_only_fields = fields


def _upload_field(header: str) -> serializers.FileField:
    return serializers.FileField(
        max_length=255,
        allow_empty_file=False,
        help_text=f"The CSV, with the header `{header}` (see the README), at most "
        f"STATEMENT_UPLOAD_MAX_BYTES ({size_text(settings.STATEMENT_UPLOAD_MAX_BYTES)} unless "
        "configured).",
    )


class _UploadSerializer(StrictSerializer):
    def validate_file(self, upload: Any) -> Any:
        refused = too_large(upload.name, upload.size, settings.STATEMENT_UPLOAD_MAX_BYTES)
        if refused:
            raise serializers.ValidationError(refused, code="too_large")
        return upload


class InvoiceFileSerializer(_UploadSerializer):
    file = _upload_field(INVOICE_HEADER)


class MeterFileSerializer(_UploadSerializer):
    file = _upload_field(METER_HEADER)


class SiteCostQuerySerializer(serializers.Serializer):
    site = _site_field("Only this site's (its code).", required=False)
    start = UTCDateField(required=False, help_text="Period ending on or after this date.")
    end = UTCDateField(required=False, help_text="Period ending on or before this date.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return check_range(attrs)


# --- the cost to mine --------------------------------------------------------------------


class CostToMineQuerySerializer(serializers.Serializer):
    start = UTCDateField(help_text="The first UTC date of the period (included).")
    end = UTCDateField(help_text="The last UTC date of the period (included).")
    site = _site_field("Only this site (its code); every site by default.", required=False)
    group_by = serializers.ChoiceField(
        choices=GROUPS,
        required=False,
        help_text="One row per month, quarter, year, site or pool, and the total; the total "
        "alone by default. By pool, each site's costs go to the pools in proportion to the BTC "
        "its pool accounts mined there in the period; what no pool can take is Unattributed.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return check_range(attrs)


class ExtraItemSerializer(serializers.Serializer):
    name = serializers.CharField()
    amount = UsdOut()


def _figure(places: int | None = None, help_text: str = "") -> DecimalOut:
    return DecimalOut(NULLABLE_FIGURE_SCHEMA, places=places, allow_null=True, help_text=help_text)


class CostToMineRowSerializer(serializers.Serializer):
    label = serializers.CharField(  # type: ignore[assignment]  # a field, not Field.label
        help_text="YYYY-MM, YYYY-Qn, YYYY, a site's code, a pool's code, Unattributed, or Total."
    )
    start = serializers.DateField()
    end = serializers.DateField()
    site = serializers.CharField(allow_null=True)
    pool = serializers.CharField(allow_null=True, help_text="The pool's code, by pool.")
    days = serializers.IntegerField()
    btc_mined = DecimalOut(
        {"type": "string", "example": "650.50000000", "pattern": r"^[0-9]+\.[0-9]{8}$"},
        places=8,
        help_text="Net production of the pools.",
    )
    power = UsdOut(help_text="5000: energy, demand charges and taxes.")
    power_credits = UsdOut(help_text="5010: curtailment and demand-response credits.")
    power_to_hpc = UsdOut(
        help_text="Power net of credits that HPC took at shared sites (by metered kWh, else "
        "by contracted MW): not mining's cost."
    )
    hosting = UsdOut(help_text="5020.")
    other_direct = UsdOut(help_text="5030.")
    cash_cost = UsdOut(help_text="power - power_credits - power_to_hpc + hosting + other_direct.")
    depreciation = UsdOut(help_text="Depreciation of mining machines.")
    extras = ExtraItemSerializer(many=True, help_text="Other items in the all-in cost.")
    all_in_cost = UsdOut(help_text="cash_cost + depreciation + extras.")
    cash_cost_per_btc = UsdOut(allow_null=True, help_text="cash_cost / btc_mined, to the cent.")
    all_in_cost_per_btc = UsdOut(allow_null=True, help_text="all_in_cost / btc_mined.")
    mining_revenue = UsdOut()
    average_hashrate_phs = _figure(3, "Average operating hashrate (PH/s) the pools reported.")
    hashprice = UsdOut(allow_null=True, help_text="Mining revenue per PH/s per day.")
    hashcost = UsdOut(allow_null=True, help_text="Cash cost per PH/s per day.")
    all_in_hashcost = UsdOut(allow_null=True, help_text="All-in cost per PH/s per day.")
    kwh = DecimalOut(NULLABLE_KWH_SCHEMA, places=3, allow_null=True, help_text="Mining's energy.")
    power_cost_per_kwh = _figure(4, "(power - power_credits) / kwh.")
    joules_per_th = _figure(2, "Energy per terahash: the fleet's efficiency.")


BY_POOL = (
    "a pool's BTC mined is its own production; each site's costs go to the pools in "
    "proportion to the BTC that site's pool accounts mined in the period; the costs of a "
    "site that mined nothing, or booked to no site, are Unattributed"
)


class CostToMineReportSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    site = serializers.CharField(allow_null=True)
    group_by = serializers.CharField(allow_null=True)
    definitions = serializers.SerializerMethodField()
    results = CostToMineRowSerializer(many=True, source="rows")
    total = CostToMineRowSerializer()

    def get_definitions(self, report: Any) -> dict[str, str]:
        extras = ", ".join(report.extra_names) or "none configured"
        return {
            "cash_cost_per_btc": "(power - power credits - power HPC took + hosting + other "
            "direct site costs) / BTC mined",
            "all_in_cost_per_btc": "(cash cost + depreciation of mining machines + other "
            f"items included: {extras}) / BTC mined",
            "hashprice": "mining revenue / average PH/s / days",
            "hashcost": "cash cost / average PH/s / days",
            **({"pool": BY_POOL} if report.group_by == "pool" else {}),
        }


# --- fixed assets ------------------------------------------------------------------------


class FixedAssetsQuerySerializer(serializers.Serializer):
    start = UTCDateField(help_text="The first UTC date of the period; opening is the day before.")
    end = UTCDateField(help_text="The last UTC date; the register and closing are at its end.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return check_range(attrs)


class RegisterRowSerializer(serializers.Serializer):
    """An asset held at the end of the period."""

    code = serializers.CharField(source="asset.code")
    asset_class = serializers.CharField(source="asset.asset_class.code")
    site = serializers.CharField(source="asset.site.code", allow_null=True, default=None)
    units = serializers.IntegerField(source="asset.units")
    in_service_on = serializers.DateField(source="asset.in_service_on", allow_null=True)
    life_end = serializers.DateField(allow_null=True, help_text="First day after the life.")
    cost = UsdOut(help_text="The cost basis (the fair value after an impairment).")
    accumulated = UsdOut(help_text="Accumulated depreciation since the basis was set.")
    net_book_value = UsdOut()


class AssetRollforwardSerializer(serializers.Serializer):
    """An asset class: opening + additions - impairments - disposals = closing (cost);
    opening + depreciation - closed out by impairments and disposals = closing
    (accumulated depreciation); the trial balance's figures beside them."""

    asset_class = serializers.CharField(source="asset_class.code")
    opening_cost = UsdOut()
    additions = UsdOut()
    impairments = UsdOut(help_text="Cost written down: the loss and the depreciation closed out.")
    disposals_cost = UsdOut()
    closing_cost = UsdOut()
    opening_accumulated = UsdOut()
    depreciation = UsdOut()
    impairment_closed = UsdOut()
    disposals_accumulated = UsdOut()
    closing_accumulated = UsdOut()
    closing_net_book_value = UsdOut()
    ledger_cost = UsdOut(help_text="The balance of the class's cost account at the end.")
    ledger_accumulated = UsdOut(
        help_text="The balance of its accumulated depreciation account at the end, as a "
        "positive amount."
    )
    ties_to_trial_balance = serializers.BooleanField()


class FixedAssetsReportSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    register = RegisterRowSerializer(many=True)
    rollforward = AssetRollforwardSerializer(many=True)


# --- gross profit and segments -----------------------------------------------------------


class SegmentSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Mining or HPC.")
    revenue = UsdOut()
    cost_of_revenue = UsdOut(help_text="HPC: the power it took; mining: the rest.")
    gross_profit = UsdOut()


class GrossProfitSerializer(serializers.Serializer):
    """The income statement's gross profit lines, as presented (income and costs positive)."""

    start = serializers.DateField()
    end = serializers.DateField()
    revenue = UsdOut(help_text="Mining revenue (4000) and HPC revenue (4200).")
    cost_of_revenue = UsdOut(
        help_text="Power less credits, hosting and other direct site costs (5000-5030)."
    )
    gross_profit = UsdOut()
    depreciation = UsdOut(help_text="5400 and 5410.")
    segments = SegmentSerializer(many=True)


# --- an invoice typed by a person --------------------------------------------------------


def _text(help_text: str, max_length: int = 40) -> serializers.CharField:
    return StrictCharField(
        required=False, allow_blank=True, max_length=max_length, help_text=help_text
    )


class TypedInvoiceSerializer(StrictSerializer):
    """An invoice a person types: the columns of the invoice file (see the README), amounts
    as decimal strings; checked as a file's row is. It waits for a finance approver other
    than its author."""

    site = StrictCharField(max_length=27, help_text="The site's code.")
    kind = serializers.ChoiceField(choices=KINDS)
    reference = StrictCharField(max_length=100, help_text="The invoice number.")
    period_start = StrictCharField(max_length=10, help_text="YYYY-MM-DD (UTC).")
    period_end = StrictCharField(max_length=10, help_text="YYYY-MM-DD (UTC).")
    vendor = _text("The vendor.", 200)
    kwh = _text("Power: the energy billed (kWh, to 3 places).")
    energy = _text("Power: kWh x tariff (USD).")
    demand = _text("Power: demand charges (USD).")
    taxes = _text("Power: taxes (USD).")
    credits = _text("Power: curtailment and demand-response credits (USD).")
    amount = _text("Hosting and other costs: the amount (USD); power: optional, checked.")
    hosting_basis = serializers.ChoiceField(
        choices=["", *HOSTING_BASES], required=False, help_text="Hosting: its basis."
    )
    description = _text("Other costs: what it is.", 500)
    paid = serializers.BooleanField(required=False, default=False)


class InvoiceRejectSerializer(StrictSerializer):
    reason = StrictCharField(
        multiline=True, max_length=2000, help_text="Why the invoice is refused."
    )
