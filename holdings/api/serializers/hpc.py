"""The HPC segment: contracts, their monthly revenue, and the bodies of what is recorded
through the API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from holdings.api.serializers.common import HOLDINGS_CODE_PATTERN, DecimalOut, UsdOut
from holdings.api.serializers.documents import CancellableSerializer
from holdings.api.serializers.fixed_assets import DecimalIn
from holdings.models import HpcContract, HpcRevenue, Site
from holdings.selectors.fixed_assets import month_end
from holdings.selectors.hpc import contract_end
from ledger.api.serializers import CodeField, StrictCharField, StrictSerializer, UTCDateField
from ledger.dates import posting_date_problem

MW_SCHEMA = {"type": "string", "example": "2.000", "pattern": r"^[0-9]+\.[0-9]{3}$"}
RATE_SCHEMA = {"type": "string", "example": "0.050000", "pattern": r"^[0-9]+\.[0-9]{6}$"}
KWH_SCHEMA = {"type": "string", "example": "1250000.000", "pattern": r"^[0-9]+\.[0-9]{3}$"}


class HpcContractSerializer(serializers.ModelSerializer):
    """A customer's lease of capacity at a site: a fixed fee a month, recognised day by day,
    and a fee per kWh its sub-meter records."""

    site: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    capacity_mw = DecimalOut(MW_SCHEMA, places=3)
    monthly_fee = UsdOut()
    usage_rate = DecimalOut(RATE_SCHEMA, places=6, help_text="USD per kWh.")
    end = serializers.SerializerMethodField(help_text="The first day after the term.")
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = HpcContract
        fields = [
            "code",
            "customer",
            "site",
            "capacity_mw",
            "monthly_fee",
            "usage_rate",
            "start",
            "term_months",
            "end",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_end(self, contract: HpcContract) -> Any:
        return serializers.DateField().to_representation(contract_end(contract))


class HpcRevenueSerializer(CancellableSerializer, serializers.ModelSerializer):
    """A contract's revenue for a month: Dr 1350 / Cr 4200 (the site's) at the month end."""

    contract: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    fixed_fee = UsdOut(help_text="The month's fee for the days in service.")
    usage_kwh = DecimalOut(KWH_SCHEMA, places=3)
    usage_fee = UsdOut()
    amount = UsdOut()
    entry = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[var-annotated]

    class Meta:
        model = HpcRevenue
        fields = [
            "id",
            "contract",
            "month",
            "days",
            "fixed_fee",
            "usage_kwh",
            "usage_fee",
            "amount",
            "entry",
            "created_at",
            "cancellation",
        ]
        read_only_fields = fields


class HpcRevenueQuerySerializer(serializers.Serializer):
    contract = CodeField(
        slug_field="code",
        queryset=HpcContract.objects.all(),
        pattern=HOLDINGS_CODE_PATTERN,
        what="contract",
        required=False,
        help_text="Only this contract's (its code).",
    )


# --- the bodies --------------------------------------------------------------------------


def _decimal(places: int, whole: int, example: str, help_text: str) -> DecimalIn:
    return DecimalIn(places=places, whole=whole, example=example, help_text=help_text)


class HpcContractBodySerializer(StrictSerializer):
    code = serializers.RegexField(
        "^" + HOLDINGS_CODE_PATTERN.pattern + "$",
        max_length=27,
        help_text="The contract's code: letters, digits, '.', '_' or '-', at most 27.",
    )
    customer = StrictCharField(max_length=200)
    site = CodeField(
        slug_field="code",
        queryset=Site.objects.all(),
        pattern=HOLDINGS_CODE_PATTERN,
        what="site",
        help_text="Where the capacity is (the site's code).",
    )
    capacity_mw = _decimal(3, 9, "2.000", "The contracted capacity (MW), more than zero.")
    monthly_fee = _decimal(2, 16, "310000.00", "The fixed fee a month (USD).")
    usage_rate = _decimal(6, 12, "0.050000", "The fee per kWh (USD).")
    start = UTCDateField(help_text="The first day of service.")
    term_months = serializers.IntegerField(min_value=1, max_value=600)

    def service_arguments(self) -> dict[str, Any]:
        return dict(self.validated_data)


class HpcRevenueRunBodySerializer(StrictSerializer):
    month = UTCDateField(
        posting=True, help_text="The first day of the month to recognise (posted at its end)."
    )

    def validate_month(self, month: Any) -> Any:
        if month.day != 1:
            raise serializers.ValidationError("must be the first day of a month.")
        problem = posting_date_problem(month_end(month))
        if problem is not None:
            raise serializers.ValidationError(f"the month's end: {problem}.")
        return month
