"""Loans: their terms and status (debt, collateral, LTV), their events, and the bodies of
the events recorded through the API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from holdings.api.serializers.common import (
    NULLABLE_PRICE_SCHEMA,
    NULLABLE_RATIO_SCHEMA,
    RATE_SCHEMA,
    DecimalOut,
    QuantityOut,
    UsdOut,
    wallet_field,
)
from holdings.api.serializers.documents import CancellableSerializer
from holdings.models import Loan, LoanEvent
from holdings.selectors.loans import LoanStatus
from holdings.services.loans import RETAINED, TRANSFERRED
from ledger.api.serializers import QuantityField, StrictSerializer, UTCDateField, ValueField

COLLATERAL_CONTROLS = [RETAINED, TRANSFERRED]


class LoanQuerySerializer(serializers.Serializer):
    as_of = UTCDateField(
        required=False,
        help_text="The status at the end of this UTC date; today (UTC) by default.",
    )


class LoanStatusSerializer(serializers.Serializer):
    """What the loan owes and what secures it at the end of `as_of` (holdings.loans.loan_status).
    Quantities with their commodity's decimal places, USD values with two."""

    as_of = serializers.DateField()
    principal = QuantityOut(
        commodity="loan.principal_commodity", help_text="Principal outstanding."
    )
    interest = QuantityOut(
        commodity="loan.principal_commodity", help_text="Interest accrued and unpaid."
    )
    debt_value = UsdOut(help_text="USD carrying value of principal and interest.")
    collateral_units = QuantityOut(
        commodity="loan.collateral_commodity",
        help_text="Units pledged, control retained or transferred.",
    )
    collateral_price = DecimalOut(
        NULLABLE_PRICE_SCHEMA,
        allow_null=True,
        help_text="The collateral's price for the day; null without collateral.",
    )
    collateral_value = UsdOut(
        allow_null=True, help_text="Units times price (USD); null without collateral."
    )
    ltv = DecimalOut(NULLABLE_RATIO_SCHEMA, allow_null=True)
    tier = serializers.ChoiceField(
        choices=["ok", "warning", "margin_call", "liquidation"], help_text="The LTV tier."
    )


class LoanSerializer(serializers.ModelSerializer):
    """A loan, its terms and accounts, and its status at `as_of` (context["statuses"] maps the
    loan's id to its status, or to the error that kept it from being worked out)."""

    url = serializers.HyperlinkedIdentityField(view_name="loan-detail", lookup_field="code")
    events_url = serializers.HyperlinkedIdentityField(
        view_name="loan-event-list", lookup_field="code"
    )
    principal_commodity = serializers.CharField(source="principal_commodity_id", read_only=True)
    collateral_commodity = serializers.CharField(source="collateral_commodity_id", read_only=True)
    annual_rate = DecimalOut(RATE_SCHEMA)
    warning_ltv = DecimalOut(RATE_SCHEMA)
    margin_call_ltv = DecimalOut(RATE_SCHEMA)
    liquidation_ltv = DecimalOut(RATE_SCHEMA)
    principal_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Loan payable (2000 or 2010 below)."
    )
    interest_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Interest payable (2100 or 2110 below)."
    )
    pledged_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Collateral pledged, control retained."
    )
    lent_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Collateral whose control passed."
    )
    status = serializers.SerializerMethodField()
    status_error = serializers.SerializerMethodField(
        help_text="Why `status` is null (no price for the day); null otherwise."
    )

    class Meta:
        model = Loan
        fields = [
            "code",
            "url",
            "events_url",
            "lender",
            "principal_commodity",
            "collateral_commodity",
            "annual_rate",
            "day_count",
            "start_date",
            "maturity_date",
            "warning_ltv",
            "margin_call_ltv",
            "liquidation_ltv",
            "cure_hours",
            "principal_account",
            "interest_account",
            "pledged_account",
            "lent_account",
            "status",
            "status_error",
            "created_at",
        ]
        read_only_fields = fields

    def _status(self, loan: Loan) -> Any:
        return self.context.get("statuses", {}).get(loan.pk)

    @extend_schema_field(LoanStatusSerializer(allow_null=True))
    def get_status(self, loan: Loan) -> dict[str, Any] | None:
        status = self._status(loan)
        return dict(LoanStatusSerializer(status).data) if isinstance(status, LoanStatus) else None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_status_error(self, loan: Loan) -> str | None:
        status = self._status(loan)
        return status if isinstance(status, str) else None


class LoanEventSerializer(CancellableSerializer, serializers.ModelSerializer):
    """Something that happened to a loan, with the entry it posted (none for a tier crossing
    or a day without interest)."""

    loan: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    amount = QuantityOut(
        commodity="loan.principal_commodity",
        help_text="In the principal's commodity: drawn, interest accrued, repaid, or the "
        "proceeds of a liquidation.",
    )
    units = QuantityOut(
        commodity="loan.collateral_commodity",
        help_text="Units of collateral pledged, released or liquidated.",
    )
    details = serializers.JSONField(
        read_only=True,
        help_text="What the event recorded besides: value, control and wallet, the split "
        "between interest and principal, the tier crossed and the LTV.",
    )
    entry = serializers.PrimaryKeyRelatedField(  # type: ignore[var-annotated]
        read_only=True, allow_null=True, help_text="The journal entry posted, if any."
    )
    entry_sequence = serializers.IntegerField(
        source="entry.sequence", read_only=True, allow_null=True, default=None
    )
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = LoanEvent
        fields = [
            "id",
            "loan",
            "kind",
            "effective_date",
            "attempt",
            "amount",
            "units",
            "details",
            "entry",
            "entry_sequence",
            "created_by",
            "created_at",
            "cancellation",
        ]
        read_only_fields = fields


# --- the events' bodies ------------------------------------------------------------------


class _LoanEventBody(StrictSerializer):
    """A loan event's body; context["loan"] is the loan. A wallet must hold the commodity
    the event moves (`wallet_commodity`: principal or collateral)."""

    wallet_fields: tuple[str, ...] = ()
    wallet_commodity = "collateral"

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        loan: Loan = self.context["loan"]
        commodity = (
            loan.principal_commodity_id
            if self.wallet_commodity == "principal"
            else loan.collateral_commodity_id
        )
        for name in self.wallet_fields:
            wallet = attrs.get(name)
            if wallet is not None and wallet.commodity_id != commodity:
                raise serializers.ValidationError(
                    {name: [f"wallet {wallet.code} holds {wallet.commodity_id}, not {commodity}."]},
                    code="invalid",
                )
        return attrs

    def service_arguments(self) -> dict[str, Any]:
        return dict(self.validated_data)


def _control_field() -> serializers.ChoiceField:
    return serializers.ChoiceField(
        choices=COLLATERAL_CONTROLS,
        required=False,
        default=RETAINED,
        help_text="retained (default): the units stay on the balance sheet, restricted (1230 "
        "for BTC, 1231 KAS, 1232 ETC); transferred: control passes to the lender and they "
        "become a receivable (1400 for BTC, 1401 KAS, 1402 ETC).",
    )


class LoanDrawSerializer(_LoanEventBody):
    """Principal received."""

    wallet_fields = ("to_wallet",)
    wallet_commodity = "principal"

    amount = QuantityField(help_text="Principal drawn, in the loan's commodity.")
    on = UTCDateField(posting=True, help_text="The UTC date the principal arrived.")
    to_wallet = wallet_field(
        "The wallet it arrives in (a USDT loan only; a USD loan is received in cash).",
        required=False,
        allow_null=True,
        default=None,
    )
    value = ValueField(
        required=False,
        allow_null=True,
        default=None,
        help_text="USD value of a USDT draw; the day's USDT price by default.",
    )


class LoanPledgeSerializer(_LoanEventBody):
    """Collateral to the lender, lots moved first-in first-out."""

    wallet_fields = ("from_wallet",)

    units = QuantityField(help_text="Units of collateral pledged.")
    from_wallet = wallet_field("The wallet the collateral leaves (its code).")
    on = UTCDateField(posting=True, help_text="The UTC date of the pledge.")
    control = _control_field()


class LoanReleaseSerializer(_LoanEventBody):
    """Collateral back from the lender."""

    wallet_fields = ("to_wallet",)

    units = QuantityField(help_text="Units of collateral released.")
    to_wallet = wallet_field("The wallet the collateral returns to (its code).")
    on = UTCDateField(posting=True, help_text="The UTC date of the release.")
    control = _control_field()


class LoanRepaymentSerializer(_LoanEventBody):
    """A repayment: interest first, then principal."""

    wallet_fields = ("from_wallet",)
    wallet_commodity = "principal"

    amount = QuantityField(help_text="Paid, in the loan's commodity.")
    on = UTCDateField(posting=True, help_text="The UTC date of the payment.")
    from_wallet = wallet_field(
        "The USDT wallet paid from (a USDT loan only; a USD loan is paid from cash).",
        required=False,
        allow_null=True,
        default=None,
    )


class LoanLiquidationSerializer(_LoanEventBody):
    """Collateral sold by the lender, the proceeds kept against what is owed."""

    units = QuantityField(help_text="Units of collateral sold.")
    proceeds = QuantityField(help_text="What the lender kept, in the loan's commodity.")
    on = UTCDateField(posting=True, help_text="The UTC date of the sale.")
    control = _control_field()


class LoanAccrualSerializer(_LoanEventBody):
    """A day's interest on the principal outstanding at the end of the day."""

    on = UTCDateField(
        posting=True,
        help_text="The UTC day whose interest accrues (once per day), within the loan's term.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        loan: Loan = self.context["loan"]
        if not loan.start_date <= attrs["on"] <= loan.maturity_date:
            raise serializers.ValidationError(
                {
                    "on": [
                        f"must be within the loan's term, {loan.start_date.isoformat()} to "
                        f"{loan.maturity_date.isoformat()}."
                    ]
                },
                code="invalid",
            )
        return attrs
