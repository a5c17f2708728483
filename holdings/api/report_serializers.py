"""What the holdings reports read and write: the digital asset roll-forward, the price
evidence and the loan schedule. The API's conventions hold: decimals as strings, quantities
with exactly their commodity's places, USD values with two, prices exactly as recorded.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from holdings.api.serializers import (
    DEFAULT_REPORT_COMMODITY,
    HOLDINGS_CODE_PATTERN,
    NULLABLE_PRICE_OUT,
    NULLABLE_QUANTITY_OUT,
    NULLABLE_RATIO_OUT,
    NULLABLE_USD_OUT,
    PRICE_OUT,
    exact,
    usd_text,
)
from holdings.models import Loan, Price
from holdings.selectors.loans import FLOWS, LoanDay
from holdings.selectors.prices import PRICE_USES, PriceUse
from holdings.selectors.reports import RollforwardLine
from ledger.api.report_serializers import check_range
from ledger.api.serializers import (
    COMMODITY_CODE_PATTERN,
    QUANTITY_OUT,
    USD_OUT,
    CodeField,
    UTCDateField,
)
from ledger.models import Commodity
from ledger.money import format_amount

# --- queries -----------------------------------------------------------------------------


def _commodity(help_text: str) -> CodeField:
    return CodeField(
        slug_field="code",
        queryset=Commodity.objects.all(),
        pattern=COMMODITY_CODE_PATTERN,
        what="commodity",
        required=False,
        help_text=help_text,
    )


class RollforwardQuerySerializer(serializers.Serializer):
    commodity = _commodity(
        f"The commodity (its code); {DEFAULT_REPORT_COMMODITY} by default. Not USD, the "
        "functional currency."
    )
    start = UTCDateField(help_text="The first UTC date of the period; opening is the day before.")
    end = UTCDateField(help_text="The last UTC date of the period; closing is its end.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        commodity = attrs.get("commodity")
        if commodity is not None and commodity.code == "USD":
            raise serializers.ValidationError(
                {"commodity": ["USD is the functional currency: it has no roll-forward."]},
                code="invalid",
            )
        return check_range(attrs)


class PriceEvidenceQuerySerializer(serializers.Serializer):
    start = UTCDateField(help_text="Uses on or after this UTC date (the entry's date).")
    end = UTCDateField(help_text="Uses on or before this UTC date.")
    base = _commodity("Only prices of this commodity (its code, e.g. BTC).")
    used_by = serializers.ChoiceField(
        choices=list(PRICE_USES),
        required=False,
        help_text="Only this kind of use: "
        + "; ".join(f"{name}: {what}" for name, what in PRICE_USES.items())
        + ".",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return check_range(attrs)


class LoanScheduleQuerySerializer(serializers.Serializer):
    loan = CodeField(
        slug_field="code",
        queryset=Loan.objects.select_related(
            "principal_commodity", "collateral_commodity", "principal_account"
        ),
        pattern=HOLDINGS_CODE_PATTERN,
        what="loan",
        help_text="The loan (its code).",
    )
    start = UTCDateField(required=False, help_text="The first UTC day; the loan's start.")
    end = UTCDateField(
        required=False, help_text="The last UTC day; the loan's maturity, or today if earlier."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return check_range(attrs)


# --- the roll-forward --------------------------------------------------------------------


class RollforwardLineSerializer(serializers.Serializer):
    """One line: units in the commodity, cost, fair value adjustment and carrying value in
    USD; proceeds and the realized gain against cost on dispositions only."""

    # context["scale"]: the commodity's decimal places.

    line = serializers.CharField(source="key", help_text="Its name: opening, additions.mining, ...")
    section = serializers.ChoiceField(
        choices=[
            "opening",
            "additions",
            "dispositions",
            "fair_value_changes",
            "unexplained",
            "closing",
            "memo",
        ]
    )
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not .label
    units = serializers.SerializerMethodField()
    cost = serializers.SerializerMethodField()
    fair_value_adjustment = serializers.SerializerMethodField()
    carrying_value = serializers.SerializerMethodField(
        help_text="Cost plus fair value adjustment: fair value, for a commodity remeasured."
    )
    proceeds = serializers.SerializerMethodField(help_text="USD; dispositions only.")
    realized_gain = serializers.SerializerMethodField(
        help_text="Proceeds less cost; dispositions only."
    )

    @QUANTITY_OUT
    def get_units(self, line: RollforwardLine) -> str:
        return format_amount(line.units, self.context["scale"])

    @USD_OUT
    def get_cost(self, line: RollforwardLine) -> str:
        return usd_text(line.cost)

    @USD_OUT
    def get_fair_value_adjustment(self, line: RollforwardLine) -> str:
        return usd_text(line.fair_value_adjustment)

    @USD_OUT
    def get_carrying_value(self, line: RollforwardLine) -> str:
        return usd_text(line.carrying_value)

    @NULLABLE_USD_OUT
    def get_proceeds(self, line: RollforwardLine) -> str | None:
        return None if line.proceeds is None else usd_text(line.proceeds)

    @NULLABLE_USD_OUT
    def get_realized_gain(self, line: RollforwardLine) -> str | None:
        return None if line.realized_gain is None else usd_text(line.realized_gain)


class RollforwardSerializer(serializers.Serializer):
    """The roll-forward (ASC 350-60-50-3): the opening line plus every movement line is the
    closing line, and both ends are the trial balance's figures."""

    commodity = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    adjustment_accounts = serializers.ListField(
        child=serializers.CharField(),
        help_text="The fair value adjustment accounts included (1290, 1490 for BTC).",
    )
    ties_to_trial_balance = serializers.BooleanField(
        help_text="Opening and closing equal the trial balance's asset accounts in the "
        "commodity and its adjustment accounts (units, cost, adjustment)."
    )
    lines = RollforwardLineSerializer(
        many=True,
        help_text="opening; additions by activity; dispositions by kind (negative); fair value "
        "changes; unexplained (zero when the lots equal the ledger); closing.",
    )
    memo = RollforwardLineSerializer(
        many=True,
        help_text="Shown apart, at both ends: pledged with control retained (restricted, "
        "included above) and the collateral receivable (included above).",
    )


# --- price evidence ----------------------------------------------------------------------


class PriceUsedSerializer(serializers.ModelSerializer):
    base = serializers.CharField(source="base_id", read_only=True)
    quote = serializers.CharField(source="quote_id", read_only=True)
    price = serializers.SerializerMethodField(help_text="Units of quote per unit of base.")

    class Meta:
        model = Price
        fields = ["id", "base", "quote", "timestamp", "price", "source"]
        read_only_fields = fields

    @PRICE_OUT
    def get_price(self, price: Price) -> str:
        return exact(price.price)


class PriceUseSerializer(serializers.Serializer):
    """A price and one record that used it."""

    # context["scales"]: decimal places by commodity code.

    price = PriceUsedSerializer()
    used_by = serializers.ChoiceField(choices=list(PRICE_USES))
    link = serializers.ChoiceField(
        choices=["recorded", "policy"],
        help_text="recorded: the record keeps the price; policy: it keeps the value it booked, "
        "units times the price the policy selects for the day.",
    )
    record = serializers.IntegerField(help_text="The id of the record that used it.")
    reference = serializers.CharField(help_text="The record in words.")
    effective_date = serializers.DateField(help_text="The UTC date of the use.")
    entry = serializers.IntegerField(source="entry_id", allow_null=True)
    entry_sequence = serializers.IntegerField(allow_null=True)
    commodity = serializers.CharField(allow_null=True, help_text="The commodity valued.")
    quantity = serializers.SerializerMethodField(help_text="The units valued.")
    value = serializers.SerializerMethodField(
        method_name="get_usd_value", help_text="The USD value booked."
    )

    @NULLABLE_QUANTITY_OUT
    def get_quantity(self, use: PriceUse) -> str | None:
        if use.quantity is None or use.commodity is None:
            return None
        return format_amount(use.quantity, self.context["scales"][use.commodity])

    @NULLABLE_USD_OUT
    def get_usd_value(self, use: PriceUse) -> str | None:
        return None if use.value is None else usd_text(use.value)


# --- the loan schedule -------------------------------------------------------------------


class LoanDaySerializer(serializers.Serializer):
    """The loan at the end of a UTC day, and what happened to it that day."""

    # context["principal_scale"], context["collateral_scale"].

    day = serializers.DateField()
    events = serializers.ListField(
        child=serializers.CharField(), help_text="The kinds of the day's events, in order."
    )
    principal_drawn = serializers.SerializerMethodField()
    principal_paid = serializers.SerializerMethodField()
    interest_accrued = serializers.SerializerMethodField()
    interest_paid = serializers.SerializerMethodField()
    principal = serializers.SerializerMethodField(help_text="Outstanding at the day's end.")
    interest = serializers.SerializerMethodField(help_text="Accrued and unpaid.")
    balance = serializers.SerializerMethodField(help_text="Principal plus interest.")
    debt_value = serializers.SerializerMethodField(
        help_text="USD carrying value of principal and interest."
    )
    collateral_pledged = serializers.SerializerMethodField()
    collateral_released = serializers.SerializerMethodField()
    collateral_liquidated = serializers.SerializerMethodField()
    collateral_units = serializers.SerializerMethodField(help_text="Pledged at the day's end.")
    collateral_price = serializers.SerializerMethodField(help_text="The day's price.")
    collateral_value = serializers.SerializerMethodField(help_text="Units times price (USD).")
    ltv = serializers.SerializerMethodField()
    tier = serializers.ChoiceField(
        choices=["ok", "warning", "margin_call", "liquidation"],
        allow_null=True,
        help_text="The LTV tier; null when collateral is held and the day has no price.",
    )

    def _amount(self, value: Decimal) -> str:
        return format_amount(value, self.context["principal_scale"])

    def _units(self, value: Decimal) -> str:
        return format_amount(value, self.context["collateral_scale"])

    @QUANTITY_OUT
    def get_principal_drawn(self, row: LoanDay) -> str:
        return self._amount(row.principal_drawn)

    @QUANTITY_OUT
    def get_principal_paid(self, row: LoanDay) -> str:
        return self._amount(row.principal_paid)

    @QUANTITY_OUT
    def get_interest_accrued(self, row: LoanDay) -> str:
        return self._amount(row.interest_accrued)

    @QUANTITY_OUT
    def get_interest_paid(self, row: LoanDay) -> str:
        return self._amount(row.interest_paid)

    @QUANTITY_OUT
    def get_principal(self, row: LoanDay) -> str:
        return self._amount(row.principal)

    @QUANTITY_OUT
    def get_interest(self, row: LoanDay) -> str:
        return self._amount(row.interest)

    @QUANTITY_OUT
    def get_balance(self, row: LoanDay) -> str:
        return self._amount(row.balance)

    @USD_OUT
    def get_debt_value(self, row: LoanDay) -> str:
        return usd_text(row.debt_value)

    @QUANTITY_OUT
    def get_collateral_pledged(self, row: LoanDay) -> str:
        return self._units(row.collateral_pledged)

    @QUANTITY_OUT
    def get_collateral_released(self, row: LoanDay) -> str:
        return self._units(row.collateral_released)

    @QUANTITY_OUT
    def get_collateral_liquidated(self, row: LoanDay) -> str:
        return self._units(row.collateral_liquidated)

    @QUANTITY_OUT
    def get_collateral_units(self, row: LoanDay) -> str:
        return self._units(row.collateral_units)

    @NULLABLE_PRICE_OUT
    def get_collateral_price(self, row: LoanDay) -> str | None:
        return None if row.collateral_price is None else exact(row.collateral_price)

    @NULLABLE_USD_OUT
    def get_collateral_value(self, row: LoanDay) -> str | None:
        return None if row.collateral_value is None else usd_text(row.collateral_value)

    @NULLABLE_RATIO_OUT
    def get_ltv(self, row: LoanDay) -> str | None:
        return None if row.ltv is None else exact(row.ltv)


@QUANTITY_OUT
class _Amount(serializers.CharField):
    pass


class LoanScheduleTotalsSerializer(serializers.Serializer):
    """Each flow over the period: the principal's commodity, units of collateral."""

    principal_drawn = _Amount()
    principal_paid = _Amount()
    interest_accrued = _Amount()
    interest_paid = _Amount()
    collateral_pledged = _Amount()
    collateral_released = _Amount()
    collateral_liquidated = _Amount()


class LoanScheduleSerializer(serializers.Serializer):
    """A loan day by day: flows, balances, collateral and LTV."""

    loan = serializers.CharField(source="loan.code")
    lender = serializers.CharField(source="loan.lender")
    principal_commodity = serializers.CharField(source="loan.principal_commodity_id")
    collateral_commodity = serializers.CharField(source="loan.collateral_commodity_id")
    start = serializers.DateField()
    end = serializers.DateField()
    opening = LoanDaySerializer(help_text="At the end of the day before `start`.")
    totals = serializers.SerializerMethodField()
    results = LoanDaySerializer(source="days", many=True, help_text="One row per UTC day.")

    @extend_schema_field(LoanScheduleTotalsSerializer)
    def get_totals(self, schedule: Any) -> dict[str, str]:
        principal, collateral = self.context["principal_scale"], self.context["collateral_scale"]
        return {
            name: format_amount(
                schedule.totals[name], collateral if name.startswith("collateral") else principal
            )
            for name in FLOWS
        }
