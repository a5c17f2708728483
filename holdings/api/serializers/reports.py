"""The holdings reports: monthly production, realized gains, the digital asset roll-forward,
the price evidence and the loan schedule.

A report's decimals are written at the scales its view puts in the context (the report's
commodity, a loan's principal and collateral commodities).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from holdings.api.serializers.common import (
    DEFAULT_REPORT_COMMODITY,
    EHS_SCHEMA,
    HOLDINGS_CODE_PATTERN,
    NULLABLE_EHS_SCHEMA,
    NULLABLE_PRICE_SCHEMA,
    NULLABLE_QUANTITY_SCHEMA,
    NULLABLE_RATIO_SCHEMA,
    NULLABLE_USD_PRICE_SCHEMA,
    PERCENT_SCHEMA,
    PRICE_SCHEMA,
    DecimalOut,
    QuantityOut,
    UsdOut,
    commodity_field,
)
from holdings.api.serializers.treasury import DisposalSerializer
from holdings.models import Loan, Price
from holdings.selectors.loans import FLOWS
from holdings.selectors.prices import PRICE_USES, PriceUse
from holdings.selectors.production import ProductionMonth
from holdings.selectors.reports import RealizedGains
from ledger.api.report_serializers import check_range
from ledger.api.serializers import QUANTITY_OUT, CodeField, UTCDateField
from ledger.money import format_amount

# The production report covers whole months, ten years at most.
MAX_REPORT_MONTHS = 120

# --- monthly production ------------------------------------------------------------------


class ProductionReportQuerySerializer(serializers.Serializer):
    start = UTCDateField(help_text="The report starts with this date's month.")
    end = UTCDateField(help_text="The report ends with this date's month.")
    commodity = commodity_field(
        f"The mined commodity (its code); {DEFAULT_REPORT_COMMODITY} by default."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        check_range(attrs)
        start, end = attrs["start"], attrs["end"]
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        if months > MAX_REPORT_MONTHS:
            raise serializers.ValidationError(
                {"end": [f"the report covers {months} months; at most {MAX_REPORT_MONTHS}."]},
                code="invalid",
            )
        return attrs


class ProductionMonthSerializer(serializers.Serializer):
    """One month as miners publish it. Quantities with the commodity's decimal places."""

    # context["scale"]: the commodity's decimal places.

    month = serializers.SerializerMethodField(help_text="YYYY-MM.")
    days = serializers.IntegerField(help_text="Days in the month.")
    mined = QuantityOut(context_scale="scale", help_text="Net production of the month.")
    average_per_day = QuantityOut(
        context_scale="scale",
        help_text="Mined / days, rounded half-even to the commodity's scale.",
    )
    held_at_month_end = QuantityOut(
        context_scale="scale", help_text="Units in every asset account at the end of the month."
    )
    restricted_at_month_end = QuantityOut(
        context_scale="scale", help_text="Of which pledged or lent out."
    )
    unrestricted_at_month_end = QuantityOut(context_scale="scale")
    average_operating_hashrate_ehs = DecimalOut(
        NULLABLE_EHS_SCHEMA,
        allow_null=True,
        help_text="Average of the pools' reported hashrate over the month, EH/s.",
    )
    deployed_hashrate_ehs = DecimalOut(
        EHS_SCHEMA, help_text="Hashrate deployed at the active sites, EH/s."
    )
    mined_change_percent = DecimalOut(
        PERCENT_SCHEMA,
        allow_null=True,
        help_text="Change of `mined` from the month before, percent (1 decimal).",
    )
    held_change = QuantityOut(
        context_scale="scale",
        allow_null=True,
        help_text="Change of `held_at_month_end` from the month before.",
    )
    sold = QuantityOut(context_scale="scale", help_text="Units sold in the month.")
    net_proceeds_usd = UsdOut(
        help_text="USD value of the month's sale proceeds, after the venues' fees."
    )
    average_price_usd = DecimalOut(
        NULLABLE_USD_PRICE_SCHEMA,
        allow_null=True,
        help_text="Gross proceeds per unit sold, USD, rounded half-even to six significant "
        "digits and at least the cent (0.09978 for a KAS sale at that price).",
    )
    hashrate_unit = serializers.CharField(
        help_text="The unit of the hashrates below, by the coin: EH/s (BTC), TH/s (KAS), "
        "GH/s (ETC)."
    )
    average_operating_hashrate = DecimalOut(
        NULLABLE_EHS_SCHEMA,
        allow_null=True,
        help_text="Average of the pools' reported hashrate over the month, in hashrate_unit.",
    )
    deployed_hashrate = DecimalOut(
        EHS_SCHEMA,
        help_text="Hashrate deployed at the active sites mining the commodity, in hashrate_unit.",
    )

    def get_month(self, row: ProductionMonth) -> str:
        return f"{row.month:%Y-%m}"


class ProductionReportSerializer(serializers.Serializer):
    """Monthly production, one row per month from `start`'s month to `end`'s month."""

    # Instance: {"commodity", "start", "end", "results": [ProductionMonth]}.

    commodity = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    results = ProductionMonthSerializer(many=True, help_text="One row per month, oldest first.")


# --- realized gains ----------------------------------------------------------------------


class RealizedGainsQuerySerializer(serializers.Serializer):
    start = UTCDateField(help_text="Disposals on or after this UTC date.")
    end = UTCDateField(help_text="Disposals on or before this UTC date.")
    commodity = commodity_field(
        f"The disposed commodity (its code); {DEFAULT_REPORT_COMMODITY} by default."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return check_range(attrs)


class RealizedGainsTotalsSerializer(serializers.Serializer):
    """Shared formatting: context["scale"] the sold commodity's decimal places,
    context["proceeds_scale"] the proceeds commodity's."""

    # This docstring is the description the published schema gives RealizedGainsTotals,
    # kept word for word. Here context["scale"] is the disposed commodity's decimal places.

    disposals = serializers.SerializerMethodField(help_text="How many disposals.")
    units = QuantityOut(context_scale="scale")
    cost = UsdOut()
    carrying_value = UsdOut()
    proceeds = UsdOut()
    realized_gain = UsdOut(help_text="Proceeds less cost.")

    def get_disposals(self, report: RealizedGains) -> int:
        return report.count


class RealizedGainsReportSerializer(serializers.Serializer):
    """Each disposal in the period (sales and network fees) with the lot it relieved."""

    # Instance: {"report": RealizedGains, "count", "next", "previous", "results": disposals}.

    commodity = serializers.CharField(source="report.commodity")
    start = serializers.DateField(source="report.start")
    end = serializers.DateField(source="report.end")
    totals = RealizedGainsTotalsSerializer(source="report", help_text="Every disposal's.")
    count = serializers.IntegerField(help_text="Disposals in the period.")
    next = serializers.URLField(allow_null=True, help_text="The next page, if any.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, if any.")
    results = DisposalSerializer(many=True, help_text="Oldest first, one per lot relieved.")


class GainsByCommodityQuerySerializer(serializers.Serializer):
    start = UTCDateField(help_text="Disposals on or after this UTC date.")
    end = UTCDateField(help_text="Disposals on or before this UTC date.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return check_range(attrs)


class CommodityGainsSerializer(serializers.Serializer):
    """A commodity's disposals in the period added up (units at its scale, values in USD),
    or every commodity's (`commodity` null): values in USD only, no units."""

    commodity = serializers.CharField(
        allow_null=True, help_text="The commodity; null on the total in USD."
    )
    disposals = serializers.IntegerField(help_text="How many disposals.")
    units = DecimalOut(
        NULLABLE_QUANTITY_SCHEMA,
        allow_null=True,
        help_text="In the commodity, at its decimal places; null on the total.",
    )
    cost = UsdOut()
    carrying_value = UsdOut()
    proceeds = UsdOut()
    realized_gain = UsdOut(help_text="Proceeds less cost.")


class GainsByCommoditySerializer(serializers.Serializer):
    """Realized gains by commodity: one row per commodity disposed of in the period (sales
    and network fees), and their total in USD."""

    start = serializers.DateField()
    end = serializers.DateField()
    results = CommodityGainsSerializer(source="rows", many=True, help_text="In code order.")
    total = CommodityGainsSerializer(help_text="Every commodity's, in USD; no units.")


# --- the roll-forward --------------------------------------------------------------------


class RollforwardQuerySerializer(serializers.Serializer):
    commodity = commodity_field(
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
    units = QuantityOut(context_scale="scale")
    cost = UsdOut()
    fair_value_adjustment = UsdOut()
    carrying_value = UsdOut(
        help_text="Cost plus fair value adjustment: fair value, for a commodity remeasured."
    )
    proceeds = UsdOut(allow_null=True, help_text="USD; dispositions only.")
    realized_gain = UsdOut(allow_null=True, help_text="Proceeds less cost; dispositions only.")


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


class RollforwardByCommodityQuerySerializer(serializers.Serializer):
    start = UTCDateField(help_text="The first UTC date of the period; opening is the day before.")
    end = UTCDateField(help_text="The last UTC date of the period; closing is its end.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return check_range(attrs)


class CommodityLineSerializer(serializers.Serializer):
    """One line of a commodity's roll-forward (units at its scale, values in USD), or of
    the total of every commodity (`commodity` null): values in USD only, no units, as units
    of different coins do not add up."""

    commodity = serializers.CharField(
        allow_null=True, help_text="The commodity; null on the lines of the USD total."
    )
    line = serializers.CharField(source="key", help_text="Its name: opening, additions.mining, ...")
    section = serializers.ChoiceField(
        choices=[
            "opening",
            "additions",
            "dispositions",
            "fair_value_changes",
            "unexplained",
            "closing",
        ]
    )
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not .label
    units = DecimalOut(
        NULLABLE_QUANTITY_SCHEMA,
        allow_null=True,
        help_text="In the commodity, at its decimal places; null on the USD total.",
    )
    cost = UsdOut()
    fair_value_adjustment = UsdOut()
    carrying_value = UsdOut(help_text="Cost plus fair value adjustment.")
    proceeds = UsdOut(allow_null=True, help_text="USD; dispositions only.")
    realized_gain = UsdOut(allow_null=True, help_text="Proceeds less cost; dispositions only.")


class RollforwardByCommoditySerializer(serializers.Serializer):
    """Every commodity's roll-forward, one after the other, then their total in USD line by
    line: opening plus the movement lines is closing, in each commodity and in the total."""

    start = serializers.DateField()
    end = serializers.DateField()
    commodities = serializers.SerializerMethodField(
        help_text="The commodities with lots, the functional currency aside, in code order."
    )
    ties_to_trial_balance = serializers.BooleanField(
        help_text="Every commodity's opening and closing equal the trial balance's."
    )
    lines = CommodityLineSerializer(many=True, help_text="Each commodity's lines, in turn.")
    total = CommodityLineSerializer(
        many=True, help_text="The same lines, every commodity's, in USD."
    )

    def get_commodities(self, report: Any) -> list[str]:
        return [part.commodity for part in report.rollforwards]


# --- price evidence ----------------------------------------------------------------------


class PriceEvidenceQuerySerializer(serializers.Serializer):
    start = UTCDateField(help_text="Uses on or after this UTC date (the entry's date).")
    end = UTCDateField(help_text="Uses on or before this UTC date.")
    base = commodity_field("Only prices of this commodity (its code, e.g. BTC).")
    used_by = serializers.ChoiceField(
        choices=list(PRICE_USES),
        required=False,
        help_text="Only this kind of use: "
        + "; ".join(f"{name}: {what}" for name, what in PRICE_USES.items())
        + ".",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return check_range(attrs)


class PriceUsedSerializer(serializers.ModelSerializer):
    base = serializers.CharField(source="base_id", read_only=True)
    quote = serializers.CharField(source="quote_id", read_only=True)
    price = DecimalOut(PRICE_SCHEMA, help_text="Units of quote per unit of base.")

    class Meta:
        model = Price
        fields = ["id", "base", "quote", "timestamp", "price", "source"]
        read_only_fields = fields


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
    value = UsdOut(allow_null=True, help_text="The USD value booked.")

    @extend_schema_field(NULLABLE_QUANTITY_SCHEMA)
    def get_quantity(self, use: PriceUse) -> str | None:
        if use.quantity is None or use.commodity is None:
            return None
        return format_amount(use.quantity, self.context["scales"][use.commodity])


# --- the loan schedule -------------------------------------------------------------------


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


class LoanDaySerializer(serializers.Serializer):
    """The loan at the end of a UTC day, and what happened to it that day."""

    # context["principal_scale"], context["collateral_scale"].

    day = serializers.DateField()
    events = serializers.ListField(
        child=serializers.CharField(), help_text="The kinds of the day's events, in order."
    )
    principal_drawn = QuantityOut(context_scale="principal_scale")
    principal_paid = QuantityOut(context_scale="principal_scale")
    interest_accrued = QuantityOut(context_scale="principal_scale")
    interest_paid = QuantityOut(context_scale="principal_scale")
    principal = QuantityOut(
        context_scale="principal_scale", help_text="Outstanding at the day's end."
    )
    interest = QuantityOut(context_scale="principal_scale", help_text="Accrued and unpaid.")
    balance = QuantityOut(context_scale="principal_scale", help_text="Principal plus interest.")
    debt_value = UsdOut(help_text="USD carrying value of principal and interest.")
    collateral_pledged = QuantityOut(context_scale="collateral_scale")
    collateral_released = QuantityOut(context_scale="collateral_scale")
    collateral_liquidated = QuantityOut(context_scale="collateral_scale")
    collateral_units = QuantityOut(
        context_scale="collateral_scale", help_text="Pledged at the day's end."
    )
    collateral_price = DecimalOut(
        NULLABLE_PRICE_SCHEMA, allow_null=True, help_text="The day's price."
    )
    collateral_value = UsdOut(allow_null=True, help_text="Units times price (USD).")
    ltv = DecimalOut(NULLABLE_RATIO_SCHEMA, allow_null=True)
    tier = serializers.ChoiceField(
        choices=["ok", "warning", "margin_call", "liquidation"],
        allow_null=True,
        help_text="The LTV tier; null when collateral is held and the day has no price.",
    )


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
