"""The holdings reports: monthly production, realized gains, and those auditors pull: the
digital asset roll-forward, the price evidence and the loan schedule; the roll-forward and
the realized gains also of every commodity, with their total in USD. Read-only, every role
reads (the default permission class); JSON by default, CSV with `?format=csv`
(ledger.api.renderers)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from holdings.api.serializers.common import DEFAULT_REPORT_COMMODITY
from holdings.api.serializers.reports import (
    CommodityGainsSerializer,
    CommodityLineSerializer,
    GainsByCommodityQuerySerializer,
    GainsByCommoditySerializer,
    LoanDaySerializer,
    LoanScheduleQuerySerializer,
    LoanScheduleSerializer,
    PriceEvidenceQuerySerializer,
    PriceUseSerializer,
    ProductionMonthSerializer,
    ProductionReportQuerySerializer,
    ProductionReportSerializer,
    RealizedGainsQuerySerializer,
    RealizedGainsReportSerializer,
    RollforwardByCommodityQuerySerializer,
    RollforwardByCommoditySerializer,
    RollforwardLineSerializer,
    RollforwardQuerySerializer,
    RollforwardSerializer,
)
from holdings.api.serializers.treasury import DisposalSerializer
from holdings.api.views.common import errors, validated_query
from holdings.selectors import loans as loans_selectors
from holdings.selectors import prices as prices_selectors
from holdings.selectors import production as production_selectors
from holdings.selectors import reports as reports_selectors
from holdings.selectors.loans import FLOWS
from ledger.api.renderers import (
    FORMAT_PARAMETER,
    PAGE_PARAMETERS,
    CSVReportMixin,
    CSVTable,
    Figures,
    Rows,
    report_responses,
)
from ledger.api.views import LedgerView
from ledger.models import Commodity

REPORT_ERRORS = errors(400, 401, 403, 404)


class ReportView(CSVReportMixin, LedgerView):
    """A read-only report in JSON or CSV."""


@extend_schema(tags=["reports"])
class ProductionReportView(ReportView):
    serializer_class = ProductionReportSerializer
    csv_table = CSVTable(name="production", row=ProductionMonthSerializer())

    @extend_schema(
        operation_id="reports_production",
        summary="Monthly production in the form miners publish",
        description=(
            "One row per month from `start`'s month to `end`'s month (at most 120): mined, "
            "average per day, units held at month end (restricted shown apart), hashrate, "
            "and the change from the month before."
        ),
        parameters=[ProductionReportQuerySerializer, FORMAT_PARAMETER],
        responses=report_responses(
            ProductionReportSerializer, REPORT_ERRORS, "The monthly report."
        ),
    )
    def get(self, request: Request) -> Response:
        query = validated_query(ProductionReportQuerySerializer, request)
        commodity = query.get("commodity") or Commodity.objects.get(code=DEFAULT_REPORT_COMMODITY)
        self.name_csv(commodity.code, query["start"], query["end"])
        rows = production_selectors.production_report(
            start=query["start"], end=query["end"], commodity=commodity.code
        )
        report = {
            "commodity": commodity.code,
            "start": query["start"],
            "end": query["end"],
            "results": rows,
        }
        return Response(
            ProductionReportSerializer(report, context={"scale": commodity.decimal_places}).data
        )


@extend_schema(tags=["reports"])
class RealizedGainsReportView(ReportView):
    serializer_class = RealizedGainsReportSerializer
    csv_table = CSVTable(
        name="realized-gains",
        row=DisposalSerializer(),
        label_column="kind",
        parts=(
            Rows("results"),
            Figures(
                "Total",
                {
                    name: f"totals.{name}"
                    for name in ("units", "cost", "carrying_value", "proceeds", "realized_gain")
                },
            ),
        ),
    )

    @extend_schema(
        operation_id="reports_realized_gains",
        summary="Realized gains: each disposal in a period with the lot it relieved",
        description=(
            "Sales and on-chain network fees of one commodity from `start` to `end` (UTC "
            "dates, both included): per lot relieved, its acquisition, units, cost, carrying "
            "value, proceeds, the gain against cost, days held and the method, with the "
            "totals of the whole period. In JSON the disposals are paginated (`page`, "
            "`page_size`: 100 by default, at most 1000; `count`, `next`, `previous`); the CSV "
            "holds every disposal of the period, then a Total row."
        ),
        parameters=[RealizedGainsQuerySerializer, *PAGE_PARAMETERS, FORMAT_PARAMETER],
        responses=report_responses(
            RealizedGainsReportSerializer, REPORT_ERRORS, "A page of the disposals, the totals."
        ),
    )
    def get(self, request: Request) -> Response:
        query = validated_query(RealizedGainsQuerySerializer, request)
        commodity = query.get("commodity") or Commodity.objects.get(code=DEFAULT_REPORT_COMMODITY)
        self.name_csv(commodity.code, query["start"], query["end"])
        report = reports_selectors.realized_gains(
            start=query["start"], end=query["end"], commodity=commodity.code
        )
        page = self.paginate_counted(report.disposals, report.count)
        if page is None:  # CSV: the whole period
            body: dict[str, Any] = {"count": report.count, "next": None, "previous": None}
            body["results"] = list(report.disposals)
        else:
            paginator: Any = self.paginator
            body = {
                "count": paginator.page.paginator.count,
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
                "results": page,
            }
        return Response(
            RealizedGainsReportSerializer(
                {"report": report, **body}, context={"scale": commodity.decimal_places}
            ).data
        )


@extend_schema(tags=["reports"])
class GainsByCommodityView(ReportView):
    serializer_class = GainsByCommoditySerializer
    csv_table = CSVTable(
        name="realized-gains-by-commodity",
        row=CommodityGainsSerializer(),
        parts=(
            Rows("results"),
            Figures(
                "Total in USD",
                {"disposals": "total.disposals"}
                | {name: f"total.{name}" for name in reports_selectors.GAINS_FIGURES},
            ),
        ),
    )

    @extend_schema(
        operation_id="reports_realized_gains_by_commodity",
        summary="Realized gains by commodity, and their total in USD",
        description=(
            "The disposals (sales and on-chain network fees) of every commodity from `start` "
            "to `end` (UTC dates, both included), one row per commodity: how many, units (at "
            "its decimal places), cost, carrying value, proceeds and the gain against cost; "
            "then their total, in USD only: units of different coins are never added up. "
            "In CSV: the commodities, then a `Total in USD` row."
        ),
        parameters=[GainsByCommodityQuerySerializer, FORMAT_PARAMETER],
        responses=report_responses(
            GainsByCommoditySerializer, REPORT_ERRORS, "Each commodity's gains, and the total."
        ),
    )
    def get(self, request: Request) -> Response:
        query = validated_query(GainsByCommodityQuerySerializer, request)
        self.name_csv(None, query["start"], query["end"])
        report = reports_selectors.realized_gains_by_commodity(
            start=query["start"], end=query["end"]
        )
        return Response(GainsByCommoditySerializer(report).data)


@extend_schema(tags=["reports"])
class RollforwardView(ReportView):
    serializer_class = RollforwardSerializer
    csv_table = CSVTable(
        name="rollforward",
        row=RollforwardLineSerializer(),
        parts=(Rows("lines"), Rows("memo")),
    )

    @extend_schema(
        operation_id="reports_rollforward",
        summary="Digital asset roll-forward of a commodity for a period (ASC 350-60-50-3)",
        description=(
            "Opening units, cost, fair value adjustment and carrying value (the end of the "
            "day before `start`); additions by activity (mining, purchases, sale proceeds, "
            "loan draws, opening balances); dispositions by kind (sales, network fees, "
            "liquidations, loan repayments) with their carrying value, proceeds and the "
            "realized gain against cost; fair value changes (the period's remeasurements); "
            "closing at the end of `end`. Movement lines are signed, so that opening plus "
            "the movement lines is closing, to the unit and the cent. Opening and closing "
            "are the trial balance's figures: every asset account in the commodity (units "
            "and cost) and its fair value adjustment accounts (1290, and 1490 for the "
            "collateral receivable). `unexplained` is what of the ledger's change no lot "
            "movement explains: zero when the lots equal the ledger. The memo lines show the "
            "units pledged with control retained (1230, restricted) and the collateral "
            "receivable (1400 and 1490) apart, at both ends. In CSV: the lines, then the "
            "memo lines."
        ),
        parameters=[RollforwardQuerySerializer, FORMAT_PARAMETER],
        responses=report_responses(RollforwardSerializer, REPORT_ERRORS, "The roll-forward."),
    )
    def get(self, request: Request) -> Response:
        query = validated_query(RollforwardQuerySerializer, request)
        commodity = query.get("commodity") or Commodity.objects.get(code=DEFAULT_REPORT_COMMODITY)
        self.name_csv(commodity.code, query["start"], query["end"])
        report = reports_selectors.rollforward(
            commodity=commodity.code, start=query["start"], end=query["end"]
        )
        context = {"scale": report.scale}
        return Response(RollforwardSerializer(report, context=context).data)


@extend_schema(tags=["reports"])
class RollforwardByCommodityView(ReportView):
    serializer_class = RollforwardByCommoditySerializer
    csv_table = CSVTable(
        name="rollforward-by-commodity",
        row=CommodityLineSerializer(),
        parts=(Rows("lines"), Rows("total")),
    )

    @extend_schema(
        operation_id="reports_rollforward_by_commodity",
        summary="Every commodity's roll-forward for a period, and their total in USD",
        description=(
            "The roll-forward of each commodity with lots (the functional currency aside), "
            "as `reports/rollforward/` gives it, one after the other, then the same lines "
            "totalled across commodities in USD: cost, fair value adjustment, carrying "
            "value, proceeds and realized gains. Units are never added across commodities: "
            "the total's are null. In CSV: every commodity's lines, then the total's."
        ),
        parameters=[RollforwardByCommodityQuerySerializer, FORMAT_PARAMETER],
        responses=report_responses(
            RollforwardByCommoditySerializer, REPORT_ERRORS, "The roll-forwards and their total."
        ),
    )
    def get(self, request: Request) -> Response:
        query = validated_query(RollforwardByCommodityQuerySerializer, request)
        self.name_csv(None, query["start"], query["end"])
        report = reports_selectors.rollforwards_by_commodity(start=query["start"], end=query["end"])
        return Response(RollforwardByCommoditySerializer(report).data)


@extend_schema(tags=["reports"])
class PriceEvidenceView(ReportView):
    serializer_class = PriceUseSerializer
    csv_table = CSVTable(name="price-evidence", row=PriceUseSerializer())

    @extend_schema(
        operation_id="reports_price_evidence",
        summary="Price evidence: every price an entry used, with what used it",
        description=(
            "One row per use of a price from `start` to `end` (the UTC date of the use), "
            "oldest first: the price (base, quote, timestamp, price, source) and the record "
            "that used it with its entry: production records, lots opened at a price, "
            "remeasurements (each keeps its price), stablecoin sale proceeds and stablecoin "
            "loan draws and interest (they keep the value booked: listed with the price the "
            "policy selects for the day when units times it is that value), and the prices "
            "LTV tier crossings recorded. In JSON paginated; CSV holds every row."
        ),
        parameters=[PriceEvidenceQuerySerializer, *PAGE_PARAMETERS, FORMAT_PARAMETER],
        responses=report_responses(
            PriceUseSerializer(many=True), REPORT_ERRORS, "A page of price uses."
        ),
    )
    def get(self, request: Request) -> Response:
        query = validated_query(PriceEvidenceQuerySerializer, request)
        base = query.get("base")
        self.name_csv(base.code if base else None, query["start"], query["end"])
        uses = prices_selectors.price_evidence(
            start=query["start"],
            end=query["end"],
            base=base.code if base else None,
            used_by=query.get("used_by"),
        )
        page = self.paginate_queryset(uses)
        context = {"scales": dict(Commodity.objects.values_list("code", "decimal_places"))}
        rows = PriceUseSerializer(uses if page is None else page, many=True, context=context)
        return self.get_paginated_response(rows.data)


@extend_schema(tags=["reports"])
class LoanScheduleView(ReportView):
    serializer_class = LoanScheduleSerializer
    csv_table = CSVTable(
        name="loan-schedule",
        row=LoanDaySerializer(),
        parts=(
            Figures(
                "Opening",
                {
                    name: f"opening.{name}"
                    for name in (
                        "principal",
                        "interest",
                        "balance",
                        "debt_value",
                        "collateral_units",
                        "collateral_price",
                        "collateral_value",
                        "ltv",
                        "tier",
                    )
                },
            ),
            Rows("results"),
            Figures("Total", {name: f"totals.{name}" for name in FLOWS}),
        ),
    )

    @extend_schema(
        operation_id="reports_loan_schedule",
        summary="A loan day by day: principal, interest, repayments, collateral and LTV",
        description=(
            "One row per UTC day from `start` (the loan's start by default) to `end` (its "
            "maturity, or today if earlier; at most 3,660 days): principal drawn and paid, "
            "interest accrued and paid, collateral pledged, released and liquidated, and at "
            "the day's end principal, interest, their sum and USD value, collateral units, "
            "the day's price, collateral value, LTV and tier (as the loan's status reads "
            "them). `opening` is the end of the day before `start`; `totals` add up the "
            "flows. In CSV: an Opening row, the days, a Total row."
        ),
        parameters=[LoanScheduleQuerySerializer, FORMAT_PARAMETER],
        responses=report_responses(LoanScheduleSerializer, REPORT_ERRORS, "The schedule."),
    )
    def get(self, request: Request) -> Response:
        query = validated_query(LoanScheduleQuerySerializer, request)
        loan = query["loan"]
        schedule = loans_selectors.loan_schedule(
            loan=loan, start=query.get("start"), end=query.get("end")
        )
        self.name_csv(loan.code, schedule.start, schedule.end)
        context: dict[str, Any] = {
            "principal_scale": loan.principal_commodity.decimal_places,
            "collateral_scale": loan.collateral_commodity.decimal_places,
        }
        return Response(LoanScheduleSerializer(schedule, context=context).data)
