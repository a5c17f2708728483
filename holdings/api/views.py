"""The holdings REST API. Thin: validate, call one service or selector, shape the output.

Roles come from the default permission class (ledger.api.permissions.RolePermission): every
role reads (auditors included), finance staff and approvers upload pool files, a user with
no role gets 403, anonymous 401. Answers are JSON; a pool file is uploaded as
multipart/form-data.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F, Func, IntegerField, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from holdings import production, selectors, tasks
from holdings.api.filters import (
    ImportBatchFilter,
    PayoutFilter,
    PoolAccountFilter,
    ProductionRecordFilter,
    RemeasurementFilter,
    SiteFilter,
    WalletFilter,
)
from holdings.api.serializers import (
    DEFAULT_REPORT_COMMODITY,
    ImportBatchSerializer,
    ImportUploadSerializer,
    LotSerializer,
    LotsQuerySerializer,
    PayoutSerializer,
    PoolAccountSerializer,
    PriceSerializer,
    PricesQuerySerializer,
    ProductionRecordSerializer,
    ProductionReportQuerySerializer,
    ProductionReportSerializer,
    RemeasurementSerializer,
    SiteSerializer,
    WalletSerializer,
)
from holdings.models import (
    ImportBatch,
    Payout,
    PoolAccount,
    ProductionRecord,
    Remeasurement,
    Site,
    Wallet,
)
from ledger.api.serializers import ErrorSerializer
from ledger.api.views import LedgerView
from ledger.models import Commodity
from ledger.roles import OPERATE_ROLES

_DESCRIBED = {
    400: "Bad input: `field` names what is wrong, `errors` lists every problem.",
    401: "Not authenticated: send `Authorization: Token <key>` or a session cookie.",
    403: "Authenticated, but the role does not allow this.",
    404: "No such object (or page).",
    415: "The body must be multipart/form-data.",
}


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer, description=_DESCRIBED[code]) for code in codes}


LIST_ERRORS = _errors(400, 401, 403, 404)


def _validated_query(serializer_class: type, request: Request) -> dict[str, Any]:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


def _code(value: Any) -> str | None:
    return None if value is None else value.code


class OctetLength(Func):
    """Size of a bytea in bytes; PostgreSQL reads it from the stored header, the content
    itself is not fetched."""

    function = "octet_length"
    output_field = IntegerField()


def _batches() -> QuerySet[ImportBatch]:
    return (
        ImportBatch.objects.select_related("pool_account", "created_by")
        .defer("content")
        .annotate(file_size=OctetLength(F("content")))
        .order_by("-id")
    )


class FilteredList(LedgerView, generics.ListAPIView):
    """A read-only list, paginated, filtered by django-filter (an unknown value is a 400)."""

    filter_backends = [DjangoFilterBackend]


# --- imports -----------------------------------------------------------------------------


@extend_schema(tags=["imports"])
class ImportBatchListCreate(FilteredList):
    queryset = _batches()
    serializer_class = ImportBatchSerializer
    filterset_class = ImportBatchFilter
    parser_classes = [MultiPartParser]
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="imports_list",
        summary="Import batches (pool files), newest first",
        responses={200: ImportBatchSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="imports_create",
        summary="Upload a pool file to import",
        description=(
            "Records the file as a batch and queues its import; the answer comes at once, "
            "with the batch pending. Poll the batch's `url` for its status, counts and errors. "
            "Importing is all or nothing, and a record already imported is skipped."
        ),
        request={"multipart/form-data": ImportUploadSerializer},
        responses={
            202: OpenApiResponse(ImportBatchSerializer, description="Queued."),
            **_errors(400, 401, 403, 415),
        },
    )
    def post(self, request: Request) -> Response:
        body = ImportUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        upload = data["file"]
        with transaction.atomic():
            batch = production.import_batch_create(
                source=data["source"],
                file_name=upload.name,
                content=upload.read(),
                pool_account=data.get("pool_account"),
                created_by=request.user,
            )
            # Queued once the batch is committed, so the worker finds it.
            transaction.on_commit(partial(tasks.import_batch.delay, batch.pk))
        shown = ImportBatchSerializer(_batches().get(pk=batch.pk), context={"request": request})
        return Response(
            shown.data, status=status.HTTP_202_ACCEPTED, headers={"Location": shown.data["url"]}
        )


@extend_schema(tags=["imports"])
class ImportBatchDetail(LedgerView, generics.RetrieveAPIView):
    queryset = _batches()
    serializer_class = ImportBatchSerializer

    @extend_schema(
        operation_id="imports_retrieve",
        summary="One import batch: status, counts and errors",
        responses={200: ImportBatchSerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# --- evidence ----------------------------------------------------------------------------


@extend_schema(tags=["evidence"])
class PriceList(LedgerView):
    serializer_class = PriceSerializer

    @extend_schema(
        operation_id="prices_list",
        summary="Prices: the evidence behind every valuation",
        parameters=[PricesQuerySerializer],
        responses={200: PriceSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = _validated_query(PricesQuerySerializer, request)
        prices = selectors.prices(
            base=_code(query.get("base")),
            quote=_code(query.get("quote")),
            start=query.get("start"),
            end=query.get("end"),
            source=query.get("source"),
        )
        page = self.paginate_queryset(prices)
        return self.get_paginated_response(PriceSerializer(page, many=True).data)


@extend_schema(tags=["evidence"])
class ProductionRecordList(FilteredList):
    queryset = ProductionRecord.objects.select_related(
        "pool_account__commodity", "price", "entry"
    ).order_by("-day", "pool_account__code")
    serializer_class = ProductionRecordSerializer
    filterset_class = ProductionRecordFilter

    @extend_schema(
        operation_id="production_list",
        summary="Production records: each pool account's earning per UTC day",
        responses={200: ProductionRecordSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["evidence"])
class PayoutList(FilteredList):
    queryset = Payout.objects.select_related("pool_account__commodity", "wallet", "entry").order_by(
        "-paid_at", "id"
    )
    serializer_class = PayoutSerializer
    filterset_class = PayoutFilter

    @extend_schema(
        operation_id="payouts_list",
        summary="Payouts from the pools to the company's wallets",
        responses={200: PayoutSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["evidence"])
class RemeasurementList(FilteredList):
    queryset = Remeasurement.objects.select_related(
        "commodity", "price", "entry", "created_by"
    ).order_by("-as_of", "commodity")
    serializer_class = RemeasurementSerializer
    filterset_class = RemeasurementFilter

    @extend_schema(
        operation_id="remeasurements_list",
        summary="Fair value remeasurements, with their price evidence",
        responses={200: RemeasurementSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["lots"])
class LotList(LedgerView):
    serializer_class = LotSerializer

    @extend_schema(
        operation_id="lots_list",
        summary="Lots (acquisition date and cost) as of a UTC date, oldest first",
        parameters=[LotsQuerySerializer],
        responses={200: LotSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = _validated_query(LotsQuerySerializer, request)
        lots = selectors.lots(
            as_of=query.get("as_of"),
            account=_code(query.get("account")),
            commodity=_code(query.get("commodity")),
            open_only=query["open"],
        ).select_related("commodity")
        page = self.paginate_queryset(lots)
        return self.get_paginated_response(LotSerializer(page, many=True).data)


# --- reports -----------------------------------------------------------------------------


@extend_schema(tags=["reports"])
class ProductionReportView(LedgerView):
    serializer_class = ProductionReportSerializer

    @extend_schema(
        operation_id="reports_production",
        summary="Monthly production in the form miners publish",
        description=(
            "One row per month from `start`'s month to `end`'s month (at most 120): mined, "
            "average per day, units held at month end (restricted shown apart), hashrate, "
            "and the change from the month before."
        ),
        parameters=[ProductionReportQuerySerializer],
        responses={200: ProductionReportSerializer, **_errors(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        query = _validated_query(ProductionReportQuerySerializer, request)
        commodity = query.get("commodity") or Commodity.objects.get(code=DEFAULT_REPORT_COMMODITY)
        rows = selectors.production_report(
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


# --- set-up ------------------------------------------------------------------------------


@extend_schema(tags=["setup"])
class PoolAccountList(FilteredList):
    queryset = PoolAccount.objects.select_related("pool", "site", "receivable_account").order_by(
        "code"
    )
    serializer_class = PoolAccountSerializer
    filterset_class = PoolAccountFilter

    @extend_schema(
        operation_id="pool_accounts_list",
        summary="Pool sub-accounts and their receivable accounts",
        responses={200: PoolAccountSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["setup"])
class WalletList(FilteredList):
    queryset = (
        Wallet.objects.select_related("account").prefetch_related("addresses").order_by("code")
    )
    serializer_class = WalletSerializer
    filterset_class = WalletFilter

    @extend_schema(
        operation_id="wallets_list",
        summary="Wallets, their ledger accounts and addresses",
        responses={200: WalletSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["setup"])
class SiteList(FilteredList):
    queryset = Site.objects.order_by("code")
    serializer_class = SiteSerializer
    filterset_class = SiteFilter

    @extend_schema(
        operation_id="sites_list",
        summary="Mining sites and their deployed hashrate",
        responses={200: SiteSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
