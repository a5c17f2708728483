"""Lots: units acquired together, with their acquisition date, cost and price."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from holdings.api.serializers.common import QuantityOut, UsdOut, commodity_field, usd_text
from holdings.api.serializers.prices import PRICE_EVIDENCE_OUT, evidence
from holdings.models import Lot
from ledger.api.serializers import (
    ACCOUNT_CODE_PATTERN,
    QUANTITY_OUT,
    USD_OUT,
    CodeField,
    UTCDateField,
)
from ledger.models import Account
from ledger.money import format_amount


class LotsQuerySerializer(serializers.Serializer):
    account = CodeField(
        slug_field="code",
        queryset=Account.objects.all(),
        pattern=ACCOUNT_CODE_PATTERN,
        what="account",
        required=False,
        help_text="Only lots in this account or one below it (its code, e.g. 1220).",
    )
    commodity = commodity_field("Only lots of this commodity (its code, e.g. BTC).")
    as_of = UTCDateField(
        required=False,
        help_text="The lots as they stood at the end of this UTC date; now by default.",
    )
    open = serializers.BooleanField(
        required=False,
        default=True,
        help_text="true (default): only lots holding units; false: every lot.",
    )


class LotSerializer(serializers.ModelSerializer):
    """A lot as it stood at the date asked for (`held`), and as it was opened (`original`)."""

    commodity = serializers.CharField(source="commodity_id", read_only=True)
    account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Account code."
    )
    quantity = serializers.SerializerMethodField(help_text="Units held at the date.")
    cost = serializers.SerializerMethodField(help_text="Cost (USD) of the units held.")
    fair_value_adjustment = serializers.SerializerMethodField(
        help_text="Fair value adjustment (USD) of the units held."
    )
    carrying_value = serializers.SerializerMethodField(
        help_text="Cost plus fair value adjustment (USD)."
    )
    original_quantity = QuantityOut(commodity="commodity", help_text="Units when opened.")
    original_cost = UsdOut(help_text="Cost (USD) when opened.")
    parent = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment,var-annotated]  # a field
        read_only=True, allow_null=True, help_text="The lot this one was transferred out of."
    )
    price = serializers.SerializerMethodField(help_text="The price the lot was valued at.")
    production_record = serializers.PrimaryKeyRelatedField(  # type: ignore[var-annotated]
        read_only=True, allow_null=True, help_text="The pool earning the lot came from."
    )
    pool_account = serializers.SerializerMethodField(
        help_text="The pool account of the production record."
    )
    production_day = serializers.SerializerMethodField(
        help_text="The UTC day of the production record."
    )

    class Meta:
        model = Lot
        fields = [
            "id",
            "commodity",
            "account",
            "acquired_at",
            "origin",
            "quantity",
            "cost",
            "fair_value_adjustment",
            "carrying_value",
            "original_quantity",
            "original_cost",
            "parent",
            "price",
            "production_record",
            "pool_account",
            "production_day",
        ]
        read_only_fields = fields

    # What the lot held at the date (holdings.selectors.lots annotates it): nothing when the
    # annotation is missing or null.

    @staticmethod
    def _held(lot: Lot, name: str) -> Decimal:
        value = getattr(lot, f"held_{name}", None)
        return Decimal(0) if value is None else value

    @QUANTITY_OUT
    def get_quantity(self, lot: Lot) -> str:
        return format_amount(self._held(lot, "quantity"), lot.commodity.decimal_places)

    @USD_OUT
    def get_cost(self, lot: Lot) -> str:
        return usd_text(self._held(lot, "cost"))

    @USD_OUT
    def get_fair_value_adjustment(self, lot: Lot) -> str:
        return usd_text(self._held(lot, "adjustment"))

    @USD_OUT
    def get_carrying_value(self, lot: Lot) -> str:
        return usd_text(self._held(lot, "cost") + self._held(lot, "adjustment"))

    @PRICE_EVIDENCE_OUT
    def get_price(self, lot: Lot) -> dict[str, Any] | None:
        return evidence(lot.price)

    def get_pool_account(self, lot: Lot) -> str | None:
        record = lot.production_record
        return None if record is None else record.pool_account.code

    def get_production_day(self, lot: Lot) -> date | None:
        record = lot.production_record
        return None if record is None else record.day
