"""Prices: the evidence behind every valuation, the price a record was valued at, and the
fair value remeasurements made at them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from holdings.api.serializers.common import (
    PRICE_SCHEMA,
    DecimalOut,
    QuantityOut,
    UsdOut,
    commodity_field,
)
from holdings.api.serializers.documents import CancellableSerializer
from holdings.models import Price, Remeasurement
from ledger.api.report_serializers import check_range
from ledger.api.serializers import UTCDateField


class PriceSerializer(serializers.ModelSerializer):
    base = serializers.CharField(
        source="base_id", read_only=True, help_text="Base commodity code, e.g. BTC."
    )
    quote = serializers.CharField(
        source="quote_id", read_only=True, help_text="Quote commodity code, e.g. USD."
    )
    price = DecimalOut(PRICE_SCHEMA, help_text="Units of quote per unit of base.")

    class Meta:
        model = Price
        fields = ["id", "base", "quote", "timestamp", "price", "source", "created_at"]
        read_only_fields = fields


class PriceEvidenceSerializer(serializers.ModelSerializer):
    """The price a valuation used, as evidence: which price, from where, as of when."""

    price = DecimalOut(PRICE_SCHEMA)
    quote = serializers.CharField(source="quote_id", read_only=True)

    class Meta:
        model = Price
        fields = ["id", "price", "quote", "source", "timestamp"]
        read_only_fields = fields


# One serializer for every row: building one per price (its fields deep-copied each time)
# cost more than the row it wrote, on a page of a hundred lots.
_EVIDENCE = PriceEvidenceSerializer()


def evidence(price: Price | None) -> dict[str, Any] | None:
    return None if price is None else dict(_EVIDENCE.to_representation(price))


PRICE_EVIDENCE_OUT = extend_schema_field(PriceEvidenceSerializer(allow_null=True))


class PricesQuerySerializer(serializers.Serializer):
    base = commodity_field("Only prices of this commodity (its code, e.g. BTC).")
    quote = commodity_field("Only prices in this commodity (its code, e.g. USD).")
    start = UTCDateField(required=False, help_text="Timestamped on or after this UTC date.")
    end = UTCDateField(required=False, help_text="Timestamped on or before this UTC date.")
    source = serializers.CharField(  # type: ignore[assignment]  # a field, not .source
        required=False, max_length=100, help_text="Only prices from this source."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return check_range(attrs)


# --- fair value remeasurements -----------------------------------------------------------


class RemeasurementSerializer(CancellableSerializer, serializers.ModelSerializer):
    """A fair value remeasurement of one commodity at one date, with its price evidence. A
    day is remeasured again (the next `attempt`) once its remeasurement is cancelled."""

    commodity = serializers.CharField(source="commodity_id", read_only=True)
    price = serializers.SerializerMethodField()
    units = QuantityOut(commodity="commodity", help_text="Units remeasured (the open lots).")
    carrying_value_before = UsdOut()
    fair_value = UsdOut(help_text="Units times price, in USD.")
    adjustment = UsdOut(help_text="Fair value less carrying value.")
    entry = serializers.PrimaryKeyRelatedField(  # type: ignore[var-annotated]
        read_only=True, allow_null=True, help_text="None when there was nothing to adjust."
    )
    entry_sequence = serializers.IntegerField(
        source="entry.sequence", read_only=True, allow_null=True, default=None
    )
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Remeasurement
        fields = [
            "id",
            "commodity",
            "as_of",
            "price",
            "units",
            "carrying_value_before",
            "fair_value",
            "adjustment",
            "lots",
            "attempt",
            "entry",
            "entry_sequence",
            "cancellation",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PriceEvidenceSerializer)
    def get_price(self, remeasurement: Remeasurement) -> dict[str, Any] | None:
        return evidence(remeasurement.price)
