"""Reconciliations and the statements they compare with. Every role reads; finance staff
and approvers upload statements and run a reconciliation on demand (the nightly one runs
by itself)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from holdings import reconciliation
from holdings.api.filters import ReconciliationRunFilter, StatementFilter
from holdings.api.reconciliation_serializers import (
    ReconcileSerializer,
    ReconciliationRunDetailSerializer,
    ReconciliationRunSerializer,
    StatementSerializer,
    StatementUploadSerializer,
)
from holdings.api.views import LIST_ERRORS, FilteredList, _errors
from holdings.models import ReconciliationItem, ReconciliationRun, Statement
from ledger.api.views import LedgerView
from ledger.roles import OPERATE_ROLES


def _runs() -> QuerySet[ReconciliationRun]:
    return ReconciliationRun.objects.select_related("created_by").order_by("-as_of", "-id")


@extend_schema(tags=["reconciliation"])
class ReconciliationList(FilteredList):
    queryset = _runs()
    serializer_class = ReconciliationRunSerializer
    filterset_class = ReconciliationRunFilter
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="reconciliations_list",
        summary="Reconciliation runs, newest day first",
        description=(
            "Each run is one kind (pool, payouts, wallets, loans, internal) for one UTC day: "
            "`matched` when every item matched, `breaks` when something differs or is "
            "unexplained, `incomplete` when a source could not be reached or a subject had "
            "no source for the day. Open a run's `url` for its items."
        ),
        responses={200: ReconciliationRunSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="reconciliations_create",
        summary="Reconcile a day now",
        description=(
            "Runs the kinds asked for (all by default) for the day and keeps each as a run; "
            "breaks are logged and mailed to the finance approvers, as at night."
        ),
        request=ReconcileSerializer,
        responses={
            201: OpenApiResponse(
                ReconciliationRunDetailSerializer(many=True), description="The runs, with items."
            ),
            **_errors(400, 401, 403),
        },
    )
    def post(self, request: Request) -> Response:
        body = ReconcileSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        runs = reconciliation.reconcile(
            as_of=body.validated_data["as_of"],
            kinds=body.validated_data.get("kinds"),
            created_by=request.user,
        )
        shown = ReconciliationRunDetailSerializer(
            _runs().prefetch_related("items").filter(pk__in=[run.pk for run in runs]),
            many=True,
            context={"request": request},
        )
        return Response(shown.data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["reconciliation"])
class ReconciliationDetail(LedgerView, generics.RetrieveAPIView):
    queryset = _runs().prefetch_related(
        Prefetch("items", queryset=ReconciliationItem.objects.order_by("id"))
    )
    serializer_class = ReconciliationRunDetailSerializer

    @extend_schema(
        operation_id="reconciliations_retrieve",
        summary="One reconciliation run with every item: breaks first",
        responses={200: ReconciliationRunDetailSerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["reconciliation"])
class StatementListCreate(FilteredList):
    queryset = Statement.objects.select_related("created_by").defer("content").order_by("-id")
    serializer_class = StatementSerializer
    filterset_class = StatementFilter
    parser_classes = [MultiPartParser]
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="statements_list",
        summary="Custodian, pool and lender statements, newest first",
        responses={200: StatementSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="statements_create",
        summary="Upload a statement",
        description=(
            "All or nothing: a bad row refuses the whole file, naming the file, the row and "
            "the field. The same file uploaded again answers the statement already kept."
        ),
        request={"multipart/form-data": StatementUploadSerializer},
        responses={
            201: OpenApiResponse(StatementSerializer, description="Kept."),
            **_errors(400, 401, 403, 415),
        },
    )
    def post(self, request: Request) -> Response:
        body = StatementUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        statement = reconciliation.statement_import(
            kind=body.validated_data["kind"],
            file_name=upload.name,
            content=upload.read(),
            created_by=request.user,
        )
        shown = StatementSerializer(
            Statement.objects.defer("content").get(pk=statement.pk), context={"request": request}
        )
        return Response(
            shown.data, status=status.HTTP_201_CREATED, headers={"Location": shown.data["url"]}
        )


@extend_schema(tags=["reconciliation"])
class StatementDetail(LedgerView, generics.RetrieveAPIView):
    queryset = Statement.objects.select_related("created_by").defer("content")
    serializer_class = StatementSerializer

    @extend_schema(
        operation_id="statements_retrieve",
        summary="One statement",
        responses={200: StatementSerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
