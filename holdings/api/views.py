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
from django.db.models import F, Func, IntegerField, Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from holdings import tasks
from holdings.api.filters import (
    ImportBatchFilter,
    LoanEventFilter,
    PayoutFilter,
    PoolAccountFilter,
    ProductionRecordFilter,
    RemeasurementFilter,
    SaleFilter,
    SiteFilter,
    TransferFilter,
    WalletFilter,
)
from holdings.api.serializers import (
    DEFAULT_REPORT_COMMODITY,
    DisposalSerializer,
    ImportBatchSerializer,
    ImportUploadSerializer,
    LoanAccrualSerializer,
    LoanDrawSerializer,
    LoanEventSerializer,
    LoanLiquidationSerializer,
    LoanPledgeSerializer,
    LoanQuerySerializer,
    LoanReleaseSerializer,
    LoanRepaymentSerializer,
    LoanSerializer,
    LotSerializer,
    LotsQuerySerializer,
    PayoutSerializer,
    PoolAccountSerializer,
    PriceSerializer,
    PricesQuerySerializer,
    ProductionMonthSerializer,
    ProductionRecordSerializer,
    ProductionReportQuerySerializer,
    ProductionReportSerializer,
    RealizedGainsQuerySerializer,
    RealizedGainsReportSerializer,
    RemeasurementSerializer,
    SaleCreateSerializer,
    SalePreviewSerializer,
    SaleSerializer,
    SiteSerializer,
    TransferCreateSerializer,
    TransferSerializer,
    WalletSerializer,
)
from holdings.errors import HoldingsError
from holdings.models import (
    Disposal,
    ImportBatch,
    Loan,
    LoanEvent,
    Payout,
    PoolAccount,
    ProductionRecord,
    Remeasurement,
    Sale,
    Site,
    Transfer,
    Wallet,
)
from holdings.selectors import loans, reports
from holdings.selectors import lots as lots_selectors
from holdings.selectors import prices as prices_selectors
from holdings.selectors import production as production_selectors
from holdings.services import loans as loans_services
from holdings.services import production, treasury
from holdings.services.idempotency import request_once
from ledger.api.renderers import (
    FORMAT_PARAMETER,
    PAGE_PARAMETERS,
    CSVReportMixin,
    CSVTable,
    Figures,
    Rows,
    report_responses,
)
from ledger.api.serializers import ErrorSerializer
from ledger.api.views import LedgerView, idempotency_key, idempotency_parameter
from ledger.models import Commodity
from ledger.roles import OPERATE_ROLES

_DESCRIBED = {
    400: "Bad input: `field` names what is wrong, `errors` lists every problem.",
    401: "Not authenticated: send `Authorization: Token <key>` or a session cookie.",
    403: "Authenticated, but the role does not allow this.",
    404: "No such object (or page).",
    409: "The request clashes with what is recorded.",
    415: "The body must be multipart/form-data.",
}
JSON_415 = OpenApiResponse(
    ErrorSerializer, description="The body must be JSON (Content-Type: application/json)."
)


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
        prices = prices_selectors.prices(
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
class LotList(CSVReportMixin, LedgerView):
    serializer_class = LotSerializer
    csv_table = CSVTable(name="lots", row=LotSerializer())

    @extend_schema(
        operation_id="lots_list",
        summary="Lots (acquisition date and cost) as of a UTC date, oldest first",
        description="In JSON paginated; the CSV (?format=csv) holds every lot asked for.",
        parameters=[LotsQuerySerializer, *PAGE_PARAMETERS, FORMAT_PARAMETER],
        responses=report_responses(
            LotSerializer(many=True), _errors(400, 401, 403, 404), "A page of lots."
        ),
    )
    def get(self, request: Request) -> Response:
        query = _validated_query(LotsQuerySerializer, request)
        self.name_csv(
            _code(query.get("commodity")),
            _code(query.get("account")),
            query.get("as_of") or timezone.now().date(),
            "open" if query["open"] else "all",
        )
        lots = lots_selectors.lots(
            as_of=query.get("as_of"),
            account=_code(query.get("account")),
            commodity=_code(query.get("commodity")),
            open_only=query["open"],
        ).select_related("commodity")
        page = self.paginate_queryset(lots)
        rows = LotSerializer(lots if page is None else page, many=True).data
        return self.get_paginated_response(rows)


# --- reports -----------------------------------------------------------------------------


@extend_schema(tags=["reports"])
class ProductionReportView(CSVReportMixin, LedgerView):
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
            ProductionReportSerializer, _errors(400, 401, 403, 404), "The monthly report."
        ),
    )
    def get(self, request: Request) -> Response:
        query = _validated_query(ProductionReportQuerySerializer, request)
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


# --- sales and transfers -----------------------------------------------------------------

WRITE_ERRORS = {**_errors(400, 401, 403), 415: JSON_415}


def _sales() -> QuerySet[Sale]:
    return (
        Sale.objects.select_related(
            "wallet", "commodity", "proceeds_account", "proceeds_commodity", "entry", "created_by"
        )
        .prefetch_related(
            "entry__cancellations",
            Prefetch(
                "disposals",
                queryset=Disposal.objects.select_related(
                    "lot__account__wallet", "lot__commodity", "sale", "transfer"
                ).order_by("id"),
            ),
        )
        .order_by("-sold_at", "-id")
    )


def _transfers() -> QuerySet[Transfer]:
    return (
        Transfer.objects.select_related(
            "from_wallet__commodity", "to_wallet", "entry", "created_by"
        )
        .prefetch_related(
            "entry__cancellations",
            Prefetch(
                "fee_disposals",
                queryset=Disposal.objects.select_related(
                    "lot__account__wallet", "lot__commodity", "sale", "transfer"
                ).order_by("id"),
            ),
        )
        .order_by("-sent_at", "-id")
    )


SALE_EXAMPLE = OpenApiExample(
    "1.5 BTC sold for USDT",
    request_only=True,
    value={
        "reference": "OKX-123456",
        "wallet": "COLD-1",
        "units": "1.50000000",
        "sold_at": "2026-01-10T15:30:00Z",
        "proceeds_commodity": "USDT",
        "gross_proceeds": "150000.000000",
        "fee": "150.000000",
        "proceeds_value": "150000.00",
        "proceeds_wallet": "USDT-1",
    },
)


@extend_schema(tags=["treasury"])
class SaleListCreate(FilteredList):
    queryset = _sales()
    serializer_class = SaleSerializer
    filterset_class = SaleFilter
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="sales_list",
        summary="Sales, newest first, each with the lots it relieved",
        responses={200: SaleSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="sales_create",
        summary="Record a sale",
        description=(
            "Relieves the wallet's lots first-in first-out, or the lots named in `lots` "
            "(specific identification), and posts the sale. All or nothing: a refused sale "
            "writes nothing. A reference already recorded is refused."
        ),
        request=SaleCreateSerializer,
        examples=[SALE_EXAMPLE],
        responses={201: OpenApiResponse(SaleSerializer, description="Recorded."), **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = SaleCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        with transaction.atomic():
            sale = treasury.sale_record(
                reference=body.validated_data["reference"],
                created_by=request.user,
                **body.service_arguments(),
            )
        shown = SaleSerializer(_sales().get(pk=sale.pk), context={"request": request})
        return Response(
            shown.data, status=status.HTTP_201_CREATED, headers={"Location": shown.data["url"]}
        )


@extend_schema(tags=["treasury"])
class SalePreview(LedgerView):
    serializer_class = SalePreviewSerializer
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="sales_preview",
        summary="What a sale would relieve and earn, without recording it",
        description=(
            "The same body as recording a sale; answers with the lots it would relieve "
            "(units, cost, carrying value, proceeds, days held) and its figures. Writes "
            "nothing."
        ),
        request=SaleCreateSerializer,
        examples=[SALE_EXAMPLE],
        responses={200: SalePreviewSerializer, **WRITE_ERRORS},
    )
    def post(self, request: Request) -> Response:
        body = SaleCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plan = treasury.sale_preview(**body.service_arguments())
        context = {
            "scale": plan.wallet.commodity.decimal_places,
            "proceeds_scale": Commodity.objects.get(code=plan.proceeds_commodity).decimal_places,
        }
        return Response(SalePreviewSerializer(plan, context=context).data)


@extend_schema(tags=["treasury"])
class SaleDetail(LedgerView, generics.RetrieveAPIView):
    queryset = _sales()
    serializer_class = SaleSerializer

    @extend_schema(
        operation_id="sales_retrieve",
        summary="One sale with the lots it relieved",
        responses={200: SaleSerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["treasury"])
class TransferListCreate(FilteredList):
    queryset = _transfers()
    serializer_class = TransferSerializer
    filterset_class = TransferFilter
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="transfers_list",
        summary="Transfers between the company's wallets, newest first",
        responses={200: TransferSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="transfers_create",
        summary="Record an on-chain transfer between two wallets",
        description=(
            "Moves lots first-in first-out, keeping their acquisition date and cost; the "
            "network fee (`fee_units`, paid on top of `units`) is a disposal whose carrying "
            "value goes to 5100 Network fees. A txid already recorded is refused."
        ),
        parameters=[idempotency_parameter("transfer")],
        request=TransferCreateSerializer,
        responses={
            201: OpenApiResponse(TransferSerializer, description="Recorded."),
            200: OpenApiResponse(TransferSerializer, description="Idempotency-Key replayed."),
            **WRITE_ERRORS,
            409: OpenApiResponse(ErrorSerializer, description="Key or txid already used."),
        },
    )
    def post(self, request: Request) -> Response:
        body = TransferCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        arguments = {
            name: data[name]
            for name in ("txid", "from_wallet", "to_wallet", "units", "fee_units", "sent_at")
        }
        with transaction.atomic():
            record, created = request_once(
                key=idempotency_key(request),
                scope="transfer",
                payload=arguments,
                create=partial(treasury.transfer_record, created_by=request.user, **arguments),
                load=lambda pk: Transfer.objects.get(pk=pk),
            )
        shown = TransferSerializer(_transfers().get(pk=record.pk), context={"request": request})
        return Response(
            shown.data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


@extend_schema(tags=["reports"])
class RealizedGainsReportView(CSVReportMixin, LedgerView):
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
            "value, proceeds, the gain against cost, days held and the method, with totals. "
            "In CSV, the disposals then a Total row."
        ),
        parameters=[RealizedGainsQuerySerializer, FORMAT_PARAMETER],
        responses=report_responses(
            RealizedGainsReportSerializer, _errors(400, 401, 403, 404), "The disposals."
        ),
    )
    def get(self, request: Request) -> Response:
        query = _validated_query(RealizedGainsQuerySerializer, request)
        commodity = query.get("commodity") or Commodity.objects.get(code=DEFAULT_REPORT_COMMODITY)
        self.name_csv(commodity.code, query["start"], query["end"])
        report = reports.realized_gains(
            start=query["start"], end=query["end"], commodity=commodity.code
        )
        return Response(
            RealizedGainsReportSerializer(report, context={"scale": commodity.decimal_places}).data
        )


# --- loans -------------------------------------------------------------------------------

LOAN_CODE = OpenApiParameter(
    "code", OpenApiTypes.STR, OpenApiParameter.PATH, description="The loan's code."
)
LOAN_WRITE_ERRORS = {**_errors(400, 401, 403, 404, 409), 415: JSON_415}


def _loans() -> QuerySet[Loan]:
    return Loan.objects.select_related(
        "principal_commodity",
        "collateral_commodity",
        "principal_account",
        "interest_account",
        "pledged_account",
        "lent_account",
    ).order_by("code")


def _loan_events() -> QuerySet[LoanEvent]:
    return (
        LoanEvent.objects.select_related(
            "loan__principal_commodity", "loan__collateral_commodity", "entry", "created_by"
        )
        .prefetch_related("entry__cancellations")
        .order_by("effective_date", "id")
    )


def _statuses(loan_list: Any, as_of: Any) -> dict[int, loans.LoanStatus | str]:
    """Each loan's status at `as_of`, or why it cannot be worked out (no price that day)."""
    statuses: dict[int, loans.LoanStatus | str] = {}
    for loan in loan_list:
        try:
            statuses[loan.pk] = loans.loan_status(loan=loan, as_of=as_of)
        except HoldingsError as error:
            statuses[loan.pk] = error.message
    return statuses


def _loan_context(request: Request, loan_list: Any) -> dict[str, Any]:
    query = _validated_query(LoanQuerySerializer, request)
    as_of = query.get("as_of") or timezone.now().date()  # aware UTC: this is the UTC date
    return {"request": request, "statuses": _statuses(loan_list, as_of)}


@extend_schema(tags=["loans"])
class LoanList(LedgerView):
    serializer_class = LoanSerializer

    @extend_schema(
        operation_id="loans_list",
        summary="Loans, their terms and their status (debt, collateral, LTV, tier)",
        description=(
            "Each loan with its status at the end of `as_of` (today by default). Without a "
            "price for the collateral that day, `status` is null and `status_error` says why."
        ),
        parameters=[LoanQuerySerializer],
        responses={200: LoanSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(_loans())
        context = _loan_context(request, page)
        return self.get_paginated_response(LoanSerializer(page, many=True, context=context).data)


@extend_schema(tags=["loans"])
class LoanDetail(LedgerView):
    serializer_class = LoanSerializer

    @extend_schema(
        operation_id="loans_retrieve",
        summary="One loan: its terms and its status at a date",
        description=(
            "The status at the end of `as_of` (today by default). Without a price for the "
            "collateral that day, `status` is null and `status_error` says why."
        ),
        parameters=[LOAN_CODE, LoanQuerySerializer],
        responses={200: LoanSerializer, **_errors(400, 401, 403, 404)},
    )
    def get(self, request: Request, code: str) -> Response:
        loan = get_object_or_404(_loans(), code=code)
        return Response(LoanSerializer(loan, context=_loan_context(request, [loan])).data)


@extend_schema(tags=["loans"])
class LoanEventList(FilteredList):
    queryset = LoanEvent.objects.none()  # the loan's events: get_queryset
    serializer_class = LoanEventSerializer
    filterset_class = LoanEventFilter

    def get_queryset(self) -> QuerySet[LoanEvent]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return self.queryset
        loan = get_object_or_404(Loan.objects.only("pk"), code=self.kwargs["code"])
        return _loan_events().filter(loan=loan)

    @extend_schema(
        operation_id="loans_events_list",
        summary="A loan's events, oldest first, each with the entry it posted",
        parameters=[LOAN_CODE],
        responses={200: LoanEventSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class _LoanEventCreate(LedgerView):
    """Validate the body against the loan, call the service in one transaction (all or
    nothing), answer with the event."""

    serializer_class = LoanEventSerializer
    write_roles = OPERATE_ROLES
    body_class: type = LoanDrawSerializer

    def call(self, loan: Loan, arguments: dict[str, Any], user: Any) -> tuple[LoanEvent, bool]:
        raise NotImplementedError  # pragma: no cover

    def record(self, request: Request, code: str) -> Response:
        loan = get_object_or_404(_loans(), code=code)
        body = self.body_class(data=request.data, context={"loan": loan})
        body.is_valid(raise_exception=True)
        arguments = body.service_arguments()
        created = True

        def call() -> LoanEvent:
            nonlocal created
            event, created = self.call(loan, arguments, request.user)
            return event

        with transaction.atomic():
            event, first = request_once(
                key=idempotency_key(request),
                scope=f"loan:{loan.code}:{self.body_class.__name__}",
                payload=arguments,
                create=call,
                load=lambda pk: LoanEvent.objects.get(pk=pk),
            )
        created = created and first
        shown = LoanEventSerializer(_loan_events().get(pk=event.pk))
        return Response(
            shown.data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


def _loan_event_schema(operation_id: str, summary: str, description: str, body: type) -> Any:
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=description,
        parameters=[LOAN_CODE, idempotency_parameter("event")],
        request=body,
        responses={
            201: OpenApiResponse(LoanEventSerializer, description="Recorded."),
            200: OpenApiResponse(LoanEventSerializer, description="Idempotency-Key replayed."),
            **LOAN_WRITE_ERRORS,
        },
    )


@extend_schema(tags=["loans"])
class LoanDrawCreate(_LoanEventCreate):
    body_class = LoanDrawSerializer

    def call(self, loan: Loan, arguments: dict[str, Any], user: Any) -> tuple[LoanEvent, bool]:
        return loans_services.loan_draw(loan=loan, created_by=user, **arguments), True

    @_loan_event_schema(
        "loans_draws_create",
        "Record a draw of principal",
        "Dr cash (a USD loan) or the USDT wallet / Cr the loan payable.",
        LoanDrawSerializer,
    )
    def post(self, request: Request, code: str) -> Response:
        return self.record(request, code)


@extend_schema(tags=["loans"])
class LoanPledgeCreate(_LoanEventCreate):
    body_class = LoanPledgeSerializer

    def call(self, loan: Loan, arguments: dict[str, Any], user: Any) -> tuple[LoanEvent, bool]:
        return loans_services.loan_pledge(loan=loan, created_by=user, **arguments), True

    @_loan_event_schema(
        "loans_pledges_create",
        "Record collateral pledged",
        "The wallet's lots move first-in first-out to the loan's pledged account (control "
        "retained) or its collateral receivable (control transferred); the LTV tier is "
        "checked and a crossing recorded.",
        LoanPledgeSerializer,
    )
    def post(self, request: Request, code: str) -> Response:
        return self.record(request, code)


@extend_schema(tags=["loans"])
class LoanReleaseCreate(_LoanEventCreate):
    body_class = LoanReleaseSerializer

    def call(self, loan: Loan, arguments: dict[str, Any], user: Any) -> tuple[LoanEvent, bool]:
        return loans_services.loan_release(loan=loan, created_by=user, **arguments), True

    @_loan_event_schema(
        "loans_releases_create",
        "Record collateral released",
        "Collateral back from the lender into a wallet, lots first-in first-out; the LTV "
        "tier is checked and a crossing recorded.",
        LoanReleaseSerializer,
    )
    def post(self, request: Request, code: str) -> Response:
        return self.record(request, code)


@extend_schema(tags=["loans"])
class LoanRepaymentCreate(_LoanEventCreate):
    body_class = LoanRepaymentSerializer

    def call(self, loan: Loan, arguments: dict[str, Any], user: Any) -> tuple[LoanEvent, bool]:
        return loans_services.loan_repay(loan=loan, created_by=user, **arguments), True

    @_loan_event_schema(
        "loans_repayments_create",
        "Record a repayment",
        "Pays interest first, then principal; more than is owed is refused.",
        LoanRepaymentSerializer,
    )
    def post(self, request: Request, code: str) -> Response:
        return self.record(request, code)


@extend_schema(tags=["loans"])
class LoanLiquidationCreate(_LoanEventCreate):
    body_class = LoanLiquidationSerializer

    def call(self, loan: Loan, arguments: dict[str, Any], user: Any) -> tuple[LoanEvent, bool]:
        return loans_services.loan_liquidate(loan=loan, created_by=user, **arguments), True

    @_loan_event_schema(
        "loans_liquidations_create",
        "Record a liquidation of collateral by the lender",
        "A disposal of the collateral lots relieved; the proceeds settle interest first, "
        "then principal.",
        LoanLiquidationSerializer,
    )
    def post(self, request: Request, code: str) -> Response:
        return self.record(request, code)


@extend_schema(tags=["loans"])
class LoanAccrualCreate(_LoanEventCreate):
    body_class = LoanAccrualSerializer

    def call(self, loan: Loan, arguments: dict[str, Any], user: Any) -> tuple[LoanEvent, bool]:
        return loans_services.loan_accrue_once(loan=loan, on=arguments["on"])

    @extend_schema(
        operation_id="loans_accruals_create",
        summary="Accrue a day's interest",
        description=(
            "Interest on the principal outstanding at the end of the day, by the loan's day "
            "count: Dr 5200 / Cr interest payable. Once per loan and day: a day already "
            "accrued answers 200 with the event recorded before."
        ),
        parameters=[LOAN_CODE, idempotency_parameter("event")],
        request=LoanAccrualSerializer,
        responses={
            201: OpenApiResponse(LoanEventSerializer, description="Accrued."),
            200: OpenApiResponse(LoanEventSerializer, description="Already accrued."),
            **LOAN_WRITE_ERRORS,
        },
    )
    def post(self, request: Request, code: str) -> Response:
        return self.record(request, code)
