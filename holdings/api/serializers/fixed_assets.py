"""Fixed assets: vendor deposits, the assets with their state in the register, their events,
and the bodies of what is recorded through the API (receipts, placing in service, a change
of useful life, impairments, disposals, the depreciation run)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from drf_spectacular.drainage import set_override
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from holdings.api.serializers.common import HOLDINGS_CODE_PATTERN, DecimalOut, UsdOut
from holdings.api.serializers.documents import (
    CancellableSerializer,
    DocumentCancellationSerializer,
    document_cancellation,
)
from holdings.models import AssetClass, AssetEvent, FixedAsset, Site, VendorDeposit
from holdings.selectors.fixed_assets import asset_state, deposit_unapplied
from ledger.api.serializers import (
    CodeField,
    DecimalStringField,
    StrictCharField,
    StrictSerializer,
    UTCDateField,
    ValueField,
)

NULLABLE_RATING_SCHEMA = {
    "type": "string",
    "example": "200.000",
    "pattern": r"^[0-9]+\.[0-9]{3}$",
    "nullable": True,
}


class AssetQuerySerializer(serializers.Serializer):
    as_of = UTCDateField(
        required=False,
        help_text="Each asset's state at the end of this UTC date; every standing event by "
        "default.",
    )


class VendorDepositSerializer(CancellableSerializer, serializers.ModelSerializer):
    """A deposit or prepayment paid to a vendor (Dr 1500 / Cr 1000), applied to receipts."""

    amount = UsdOut()
    left = serializers.SerializerMethodField(
        help_text="What is not applied to a standing receipt yet (USD)."
    )
    entry = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[var-annotated]
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = VendorDeposit
        fields = [
            "id",
            "vendor",
            "reference",
            "amount",
            "left",
            "paid_on",
            "entry",
            "created_by",
            "created_at",
            "cancellation",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "example": "1000.00", "pattern": r"^[0-9]+\.[0-9]{2}$"})
    def get_left(self, deposit: VendorDeposit) -> str:
        return f"{deposit_unapplied(deposit):.2f}"


class AssetStateSerializer(serializers.Serializer):
    """The asset in the register at the date: its cost basis (the fair value after an
    impairment), the accumulated depreciation since, the net book value."""

    cost = UsdOut(source="basis")
    accumulated = UsdOut()
    net_book_value = UsdOut()
    depreciation_total = UsdOut(help_text="Every depreciation charge, impairments or not.")
    life_end = serializers.DateField(allow_null=True, help_text="First day after the life.")
    depreciated_through = serializers.DateField(
        allow_null=True, help_text="The first day of the last month depreciated."
    )
    disposed_on = serializers.DateField(allow_null=True)


class FixedAssetSerializer(serializers.ModelSerializer):
    """A batch of machines: what was received, where it is in service, its life; `state`
    at `as_of` (context), every standing event by default."""

    url = serializers.HyperlinkedIdentityField(view_name="fixed-asset-detail", lookup_field="code")
    events_url = serializers.HyperlinkedIdentityField(
        view_name="fixed-asset-event-list", lookup_field="code"
    )
    asset_class: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    site: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True
    )
    deposit: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="reference", read_only=True, allow_null=True
    )
    hashrate_ths = DecimalOut(NULLABLE_RATING_SCHEMA, places=3, allow_null=True)
    power_kw = DecimalOut(NULLABLE_RATING_SCHEMA, places=3, allow_null=True)
    cost = UsdOut(help_text="The cost at receipt.")
    deposit_applied = UsdOut()
    salvage_value = UsdOut()
    receipt_entry = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[var-annotated]
    receipt_cancellation = serializers.SerializerMethodField(
        help_text="The receipt's cancellation, asked for or approved (null: it stands)."
    )
    state = serializers.SerializerMethodField()

    class Meta:
        model = FixedAsset
        fields = [
            "code",
            "url",
            "events_url",
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
            "receipt_entry",
            "receipt_cancellation",
            "site",
            "in_service_on",
            "useful_life_months",
            "salvage_value",
            "disposed_on",
            "state",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(AssetStateSerializer)
    def get_state(self, asset: FixedAsset) -> dict[str, Any]:
        through: date | None = self.context.get("as_of")
        # A list reads every asset's events in one query beforehand (the view's context).
        events_by_asset = self.context.get("events")
        events = None if events_by_asset is None else events_by_asset.get(asset.pk, [])
        state = asset_state(asset, through=through, events=events)
        return dict(AssetStateSerializer(state).data)

    @extend_schema_field(DocumentCancellationSerializer(allow_null=True))
    def get_receipt_cancellation(self, asset: FixedAsset) -> dict[str, Any] | None:
        return document_cancellation(SimpleNamespace(entry=asset.receipt_entry))


class AssetEventSerializer(CancellableSerializer, serializers.ModelSerializer):
    """Something that happened to an asset after its receipt, with the entry it posted
    (none for placing in service or a change of useful life)."""

    asset: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    amount = UsdOut(
        help_text="A month's depreciation, an impairment's loss, a disposal's gain "
        "(negative: a loss)."
    )
    accumulated = UsdOut(help_text="Accumulated depreciation an impairment or disposal closed.")
    carrying_value = UsdOut(
        help_text="Impairment: the fair value, the new cost basis. Disposal: the net book "
        "value disposed of."
    )
    proceeds = UsdOut()
    entry = serializers.PrimaryKeyRelatedField(  # type: ignore[var-annotated]
        read_only=True, allow_null=True, help_text="The journal entry posted, if any."
    )
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = AssetEvent
        fields = [
            "id",
            "asset",
            "kind",
            "effective_date",
            "month",
            "amount",
            "accumulated",
            "carrying_value",
            "proceeds",
            "useful_life_months",
            "evidence",
            "entry",
            "created_by",
            "created_at",
            "cancellation",
        ]
        read_only_fields = fields


# --- the bodies --------------------------------------------------------------------------


def _code_field(model: Any, slug: str, what: str, help_text: str, **kwargs: Any) -> CodeField:
    return CodeField(
        slug_field=slug,
        queryset=model.objects.all(),
        pattern=HOLDINGS_CODE_PATTERN,
        what=what,
        help_text=help_text,
        **kwargs,
    )


class DecimalIn(DecimalStringField):
    """A decimal sent as a string with at most `places` decimals (`minimum`: not below it);
    the schema says so."""

    def __init__(
        self,
        *,
        places: int,
        whole: int,
        example: str,
        minimum: Decimal | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(max_places=places, max_whole_digits=whole, example=example, **kwargs)
        self.minimum = minimum
        pattern = rf"^-?[0-9]+(\.[0-9]{{1,{places}}})?$"
        set_override(self, "field", {"type": "string", "example": example, "pattern": pattern})

    def to_internal_value(self, data: Any) -> Decimal:
        value = super().to_internal_value(data)
        if self.minimum is not None and value < self.minimum:
            raise serializers.ValidationError(f"must be {self.minimum} or more.")
        return value


def _rating(help_text: str) -> DecimalIn:
    return DecimalIn(
        places=3,
        whole=21,
        example="3500.000",
        minimum=Decimal(0),
        required=False,
        allow_null=True,
        default=None,
        help_text=help_text,
    )


class _Body(StrictSerializer):
    def service_arguments(self) -> dict[str, Any]:
        return dict(self.validated_data)


class VendorDepositBodySerializer(_Body):
    vendor = StrictCharField(max_length=200, help_text="Who was paid.")
    reference = StrictCharField(max_length=100, help_text="The payment's reference.")
    amount = ValueField(help_text="USD paid, more than zero.")
    paid_on = UTCDateField(posting=True, help_text="The UTC date it was paid.")


class AssetReceiptBodySerializer(_Body):
    """A batch of machines received at cost: Dr the class's cost account / Cr the deposit
    applied, the rest to cash (paid) or owed to the vendor (2210)."""

    code = serializers.RegexField(
        "^" + HOLDINGS_CODE_PATTERN.pattern + "$",
        max_length=27,
        help_text="The asset's code: letters, digits, '.', '_' or '-', at most 27.",
    )
    asset_class = _code_field(AssetClass, "code", "asset class", "ASIC, GPU, ...")
    cost = ValueField(help_text="USD, more than zero.")
    received_on = UTCDateField(posting=True, help_text="The UTC date received.")
    description = StrictCharField(multiline=True, max_length=500, required=False, allow_blank=True)
    vendor = StrictCharField(max_length=200, required=False, allow_blank=True)
    units = serializers.IntegerField(
        min_value=1, max_value=2_147_483_647, required=False, default=1
    )
    hashrate_ths = _rating("The batch's hashrate (TH/s).")
    power_kw = _rating("The batch's rated power draw (kW).")
    deposit = _code_field(
        VendorDeposit,
        "reference",
        "deposit",
        "The deposit applied (its reference).",
        required=False,
        allow_null=True,
        default=None,
    )
    deposit_applied = ValueField(required=False, help_text="USD of the deposit applied.")
    paid = serializers.BooleanField(
        required=False, default=False, help_text="The rest paid in cash (else owed)."
    )


class InServiceBodySerializer(_Body):
    site = _code_field(Site, "code", "site", "Where it works (the site's code).")
    on = UTCDateField(posting=True, help_text="The first UTC date in service.")
    useful_life_months = serializers.IntegerField(
        min_value=1,
        max_value=600,
        required=False,
        allow_null=True,
        default=None,
        help_text="The class's by default.",
    )
    salvage_value = ValueField(required=False, help_text="USD, less than the cost; 0.00 default.")


class LifeChangeBodySerializer(_Body):
    from_month = UTCDateField(
        posting=True, help_text="The first day of the month the new life applies from."
    )
    useful_life_months = serializers.IntegerField(
        min_value=1, max_value=600, help_text="The new life, in months from the day in service."
    )


class ImpairmentBodySerializer(_Body):
    on = UTCDateField(posting=True, help_text="A month end, depreciated through.")
    fair_value = ValueField(help_text="USD: the new cost basis, below the net book value.")
    evidence = StrictCharField(
        multiline=True,
        max_length=5000,
        help_text="What shows the impairment (a valuation, a quote, ...).",
    )


class DisposalBodySerializer(_Body):
    on = UTCDateField(posting=True, help_text="The UTC date sold or scrapped.")
    proceeds = ValueField(help_text="USD received (cash); 0.00 when scrapped.")


class DepreciationRunBodySerializer(_Body):
    through = UTCDateField(
        posting=True, help_text="Depreciate each whole month ending on or before this date."
    )
