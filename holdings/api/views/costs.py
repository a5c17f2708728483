"""Site costs and the cost to mine a bitcoin. Every role reads; finance staff and approvers
import files of invoices and of meter readings (all or nothing, each posted at once: the file
is the evidence). An entry is undone only by its document's cancellation
(`/api/v1/cancellations/`)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from holdings.api.serializers.costs import (
    AssetRollforwardSerializer,
    CostToMineQuerySerializer,
    CostToMineReportSerializer,
    CostToMineRowSerializer,
    FixedAssetsQuerySerializer,
    FixedAssetsReportSerializer,
    GrossProfitSerializer,
    InvoiceFileSerializer,
    InvoiceRejectSerializer,
    MeterFileSerializer,
    MeterReadingSerializer,
    SegmentSerializer,
    SiteCostFileSerializer,
    SiteCostQuerySerializer,
    SiteCostSerializer,
    TypedInvoiceSerializer,
)
from holdings.api.views.common import LIST_ERRORS, errors, validated_query
from holdings.errors import ImportFailed
from holdings.importers.site_costs import CostFileError, parse_typed_invoice
from holdings.models import MeterReading, SiteCost
from holdings.selectors import costs as costs_selectors
from holdings.selectors import fixed_assets as fixed_assets_selectors
from holdings.services import costs
from ledger.api.renderers import (
    FORMAT_PARAMETER,
    CSVReportMixin,
    CSVTable,
    Figures,
    Rows,
    columns_of,
    report_responses,
)
from ledger.api.report_serializers import PeriodQuerySerializer
from ledger.api.views import LedgerView
from ledger.roles import APPROVE_ROLES, OPERATE_ROLES

IMPORT_ANSWERS = {
    201: OpenApiResponse(SiteCostFileSerializer, description="Imported: every row recorded."),
    200: OpenApiResponse(
        SiteCostFileSerializer,
        description="The same file (SHA-256) was imported already: nothing new is recorded.",
    ),
    **errors(400, 401, 403, 415),
}


def _refused(exc: ImportFailed) -> ValidationError:
    """Every problem of the file, each naming the file, the row and the field."""
    return ValidationError(
        {
            "file": [
                f"{e.get('file')}, row {e.get('row')}, field {e.get('field')}: {e['message']}"
                if e.get("row") is not None
                else f"{e.get('file')}: {e['message']}"
                for e in exc.errors
            ]
        },
        code="import_failed",
    )


class _Listed(LedgerView, generics.ListAPIView):
    query_serializer = SiteCostQuerySerializer

    def filtered(self, queryset: QuerySet[Any], date_field: str) -> QuerySet[Any]:
        query = validated_query(self.query_serializer, self.request)
        if query.get("site") is not None:
            queryset = queryset.filter(site=query["site"])
        if query.get("start") is not None:
            queryset = queryset.filter(**{f"{date_field}__gte": query["start"]})
        if query.get("end") is not None:
            queryset = queryset.filter(**{f"{date_field}__lte": query["end"]})
        return queryset


@extend_schema(tags=["costs"])
class SiteCostListCreate(_Listed):
    serializer_class = SiteCostSerializer
    parser_classes = [MultiPartParser]
    write_roles = OPERATE_ROLES

    def get_queryset(self) -> QuerySet[SiteCost]:
        return self.filtered(
            SiteCost.objects.select_related("site").order_by("-period_end", "id"), "period_end"
        )

    @extend_schema(
        operation_id="site_costs_list",
        summary="Sites' invoices and month-end accruals, latest period first",
        parameters=[SiteCostQuerySerializer],
        responses={200: SiteCostSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="site_costs_import",
        summary="Import a CSV file of invoices",
        description=(
            "Columns `site,kind,reference,period_start,period_end,amount` and optionally "
            "`vendor,kwh,energy,demand,taxes,credits,hosting_basis,description,paid` (see the "
            "README). All or nothing: each invoice is posted, dated the last day it covers "
            "(power to 5000 with its credits to 5010, hosting to 5020, other costs to 5030, "
            "each the site's own child account, against 2210 or 1000 when paid), reversing "
            "the month's accrual of the site's kind if there is one; one bad row refuses the "
            "file, every problem named by file, row and field."
        ),
        request={"multipart/form-data": InvoiceFileSerializer},
        responses=IMPORT_ANSWERS,
    )
    def post(self, request: Request) -> Response:
        return _import_file(request, InvoiceFileSerializer, costs.site_costs_import)


def _import_file(request: Request, form: type[Any], load: Any) -> Response:
    """An uploaded file checked by `form` and loaded by `load`, all or nothing: 201 for a
    new file, 200 for one already loaded, 400 naming every problem."""
    body = form(data=request.data)
    body.is_valid(raise_exception=True)
    upload = body.validated_data["file"]
    try:
        record, created = load(content=upload.read(), file_name=upload.name, by=request.user)
    except ImportFailed as exc:
        raise _refused(exc) from exc
    return Response(
        SiteCostFileSerializer(record).data,
        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )


@extend_schema(tags=["costs"])
class MeterReadingListCreate(_Listed):
    serializer_class = MeterReadingSerializer
    parser_classes = [MultiPartParser]
    write_roles = OPERATE_ROLES

    def get_queryset(self) -> QuerySet[MeterReading]:
        return self.filtered(
            MeterReading.objects.select_related("site").order_by("-period_end", "id"),
            "period_end",
        )

    @extend_schema(
        operation_id="meter_readings_list",
        summary="Sites' meter readings, latest period first",
        parameters=[SiteCostQuerySerializer],
        responses={200: MeterReadingSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="meter_readings_import",
        summary="Import a CSV file of meter readings",
        description=(
            "Columns `site,period_start,period_end,kwh` and optionally `hpc_kwh` (what an HPC "
            "sub-meter took). All or nothing; a period that overlaps a site's reading "
            "already recorded is refused."
        ),
        request={"multipart/form-data": MeterFileSerializer},
        responses=IMPORT_ANSWERS,
    )
    def post(self, request: Request) -> Response:
        return _import_file(request, MeterFileSerializer, costs.meter_readings_import)


@extend_schema(tags=["reports"])
class CostToMineView(CSVReportMixin, LedgerView):
    serializer_class = CostToMineReportSerializer
    csv_table = CSVTable(
        name="cost-to-mine",
        row=CostToMineRowSerializer(),
        label_column="label",
        parts=(
            Rows("results"),
            Figures(
                "Total",
                {
                    name: f"total.{name}"
                    for name in columns_of(CostToMineRowSerializer())
                    if name != "label"
                },
            ),
        ),
    )

    @extend_schema(
        operation_id="reports_cost_to_mine",
        summary="The cost to mine a bitcoin: cash and all-in, per period, site or pool",
        description=(
            "cash cost per BTC = (power - power credits + hosting + other direct site costs) "
            "/ BTC mined; all-in cost per BTC = (cash cost + depreciation of mining machines "
            "+ the other items configured in COST_TO_MINE_EXTRAS, shown by name) / BTC mined. "
            "Costs are the ledger's postings to the cost accounts from `start` to `end`, a "
            "site's in its own accounts; BTC mined is the pools' net production. With "
            "`group_by`, one row per month, quarter, year, site or pool, and always the "
            "total. By pool, each site's costs are attributed to the pools in proportion to "
            "the BTC that site's pool accounts mined in the period; what no pool can take "
            "(a site that mined nothing, a cost booked to no site) is the row Unattributed. "
            "Hashprice and hashcost (per PH/s per day), energy (kWh), power cost per kWh and "
            "J/TH where the data allows, else null. In CSV: the rows, then Total."
        ),
        parameters=[CostToMineQuerySerializer, FORMAT_PARAMETER],
        responses=report_responses(
            CostToMineReportSerializer, errors(400, 401, 403, 404), "The cost to mine."
        ),
    )
    def get(self, request: Request) -> Response:
        query = validated_query(CostToMineQuerySerializer, request)
        site = query.get("site")
        self.name_csv(site.code if site is not None else None, query["start"], query["end"])
        report = costs_selectors.cost_to_mine(
            start=query["start"],
            end=query["end"],
            site=site,
            group_by=query.get("group_by"),
        )
        return Response(CostToMineReportSerializer(report).data)


@extend_schema(tags=["reports"])
class FixedAssetsReportView(CSVReportMixin, LedgerView):
    serializer_class = FixedAssetsReportSerializer
    csv_table = CSVTable(
        name="fixed-assets", row=AssetRollforwardSerializer(), parts=(Rows("rollforward"),)
    )

    @extend_schema(
        operation_id="reports_fixed_assets",
        summary="The fixed asset register and each class's roll-forward",
        description=(
            "The register: every asset held at the end of `end` with its cost basis, "
            "accumulated depreciation and net book value. The roll-forward, per asset class, "
            "from the end of the day before `start` to the end of `end`: cost (opening, "
            "additions, impairments, disposals, closing) and accumulated depreciation "
            "(opening, depreciation, closed out by impairments and disposals, closing), with "
            "the balances of the class's accounts beside them (`ties_to_trial_balance`). In "
            "CSV: the roll-forward."
        ),
        parameters=[FixedAssetsQuerySerializer, FORMAT_PARAMETER],
        responses=report_responses(
            FixedAssetsReportSerializer, errors(400, 401, 403, 404), "The register."
        ),
    )
    def get(self, request: Request) -> Response:
        query = validated_query(FixedAssetsQuerySerializer, request)
        self.name_csv(query["start"], query["end"])
        report = {
            "start": query["start"],
            "end": query["end"],
            "register": fixed_assets_selectors.asset_register(as_of=query["end"]),
            "rollforward": fixed_assets_selectors.asset_rollforward(
                start=query["start"], end=query["end"]
            ),
        }
        return Response(FixedAssetsReportSerializer(report).data)


@extend_schema(tags=["reports"])
class GrossProfitView(CSVReportMixin, LedgerView):
    serializer_class = GrossProfitSerializer
    csv_table = CSVTable(
        name="gross-profit",
        row=SegmentSerializer(),
        parts=(
            Rows("segments"),
            Figures(
                "Total",
                {name: name for name in ("revenue", "cost_of_revenue", "gross_profit")},
            ),
        ),
    )

    @extend_schema(
        operation_id="reports_gross_profit",
        summary="Gross profit of a period, in total and by segment (mining, HPC)",
        description=(
            "Revenue (mining and HPC), cost of revenue (power less credits, hosting, other "
            "direct site costs), gross profit and depreciation from `start` to `end` (UTC, "
            "both included), the income statement's figures; and each segment's revenue, "
            "cost of revenue (HPC: the power of shared sites it took, by metered kWh or "
            "contracted MW) and gross profit. In CSV: the segments, then Total."
        ),
        parameters=[PeriodQuerySerializer, FORMAT_PARAMETER],
        responses=report_responses(
            GrossProfitSerializer, errors(400, 401, 403, 404), "The gross profit."
        ),
    )
    def get(self, request: Request) -> Response:
        query = validated_query(PeriodQuerySerializer, request)
        self.name_csv(query["start"], query["end"])
        figures = costs_selectors.gross_profit(start=query["start"], end=query["end"])
        report = {
            "start": query["start"],
            "end": query["end"],
            "revenue": figures.revenue,
            "cost_of_revenue": figures.cost_of_revenue,
            "gross_profit": figures.gross_profit,
            "depreciation": figures.depreciation,
            "segments": figures.segments,
        }
        return Response(GrossProfitSerializer(report).data)


@extend_schema(tags=["costs"])
class TypedInvoiceCreate(LedgerView):
    serializer_class = SiteCostSerializer
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="site_costs_type",
        summary="Record an invoice typed by a person: it waits for another person's approval",
        description=(
            "The columns of the invoice file as JSON (amounts as decimal strings), checked as "
            "a file's row is: 400 naming each bad field. Recorded waiting for approval (201); "
            "a finance approver other than its author posts it (`.../approve/`) or rejects "
            "it (`.../reject/`)."
        ),
        request=TypedInvoiceSerializer,
        responses={201: SiteCostSerializer, **errors(400, 401, 403, 409, 415)},
    )
    def post(self, request: Request) -> Response:
        body = TypedInvoiceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = {
            key: ("true" if value else "false") if key == "paid" else value
            for key, value in body.validated_data.items()
        }
        try:
            line = parse_typed_invoice(values)
        except CostFileError as exc:
            raise ValidationError(
                {error.field or "non_field_errors": [error.message] for error in exc.errors}
            ) from exc
        cost = costs.site_cost_submit(line=line, by=request.user)
        return Response(SiteCostSerializer(cost).data, status=status.HTTP_201_CREATED)


class _Decision(LedgerView):
    serializer_class = SiteCostSerializer
    write_roles = APPROVE_ROLES


@extend_schema(tags=["costs"])
class TypedInvoiceApprove(_Decision):
    @extend_schema(
        operation_id="site_costs_approve",
        summary="Approve and post a typed invoice (a finance approver, not its author)",
        description="Posts the invoice, reversing the month's accrual of its site and kind if "
        "there is one. Once only: again answers 409.",
        request=None,
        responses={200: SiteCostSerializer, **errors(401, 403, 404, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        cost = get_object_or_404(SiteCost.objects.only("pk"), pk=pk)
        return Response(
            SiteCostSerializer(costs.site_cost_approve(cost=cost, by=request.user)).data
        )


@extend_schema(tags=["costs"])
class TypedInvoiceReject(_Decision):
    @extend_schema(
        operation_id="site_costs_reject",
        summary="Reject a typed invoice with a reason (a finance approver, not its author)",
        request=InvoiceRejectSerializer,
        responses={200: SiteCostSerializer, **errors(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        cost = get_object_or_404(SiteCost.objects.only("pk"), pk=pk)
        body = InvoiceRejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rejected = costs.site_cost_reject(
            cost=cost, by=request.user, reason=body.validated_data["reason"]
        )
        return Response(SiteCostSerializer(rejected).data)
