"""Reconciliations and the statements they compare with. Every role reads; finance staff
and approvers upload statements and run a reconciliation on demand (the nightly one runs
by itself)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import APIException
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from holdings import tasks
from holdings.api.filters import ReconciliationRunFilter, StatementFilter
from holdings.api.serializers.reconciliation import (
    ReconcileSerializer,
    ReconciliationRunDetailSerializer,
    ReconciliationRunSerializer,
    StatementFileSerializer,
    StatementSerializer,
    StatementUploadSerializer,
)
from holdings.api.views.common import LIST_ERRORS, FilteredList, errors
from holdings.models import ReconciliationItem, ReconciliationRun, Statement, StatementUpload
from holdings.services import reconciliation, statement_uploads
from holdings.services.production import size_text
from ledger.api.serializers import ErrorSerializer
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
            **errors(400, 401, 403),
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
        responses={200: ReconciliationRunDetailSerializer, **errors(401, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


def _uploads() -> QuerySet[StatementUpload]:
    return StatementUpload.objects.select_related("created_by").defer("content").order_by("-id")


# Room for the multipart envelope (boundaries, the other fields) around the file itself.
MULTIPART_ALLOWANCE = 64 * 1024
TOO_LARGE = (
    "The body is larger than the largest file allowed (STATEMENT_UPLOAD_MAX_BYTES): refused "
    "before it is read, and nothing is stored."
)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def refuse_oversized_body(request: Request, limit: int) -> None:
    """Refuse a body that cannot hold a file within `limit`, by its Content-Length, before
    it is read: a file just over the limit is refused by the serializer, naming it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if length > limit + MULTIPART_ALLOWANCE:
        raise PayloadTooLarge(
            f"the body is {length:,} bytes; a file may be at most {size_text(limit)} "
            f"({limit:,} bytes)"
        )


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
            "Stores the file and queues its reading; the answer comes at once (202), with "
            "the upload pending: follow its `url` (also the `Location` header) for its status, "
            "then the `statement` that keeps it or the `errors` that refused it. All or "
            "nothing: a bad row refuses the whole file, naming the file, the row and the "
            "field, and nothing but the errors is kept. One statement is kept per kind and "
            "file (SHA-256): the same file uploaded again answers 200 with the upload that "
            "keeps (or is keeping) it, and nothing new is queued. A file larger than "
            "STATEMENT_UPLOAD_MAX_BYTES is refused before anything is stored."
        ),
        request={"multipart/form-data": StatementFileSerializer},
        responses={
            202: OpenApiResponse(StatementUploadSerializer, description="Stored and queued."),
            200: OpenApiResponse(
                StatementUploadSerializer,
                description="The same file (kind and SHA-256) was uploaded already: the "
                "upload that keeps it; nothing new is stored.",
            ),
            **errors(400, 401, 403, 415),
            413: OpenApiResponse(ErrorSerializer, description=TOO_LARGE),
        },
    )
    def post(self, request: Request) -> Response:
        refuse_oversized_body(request, settings.STATEMENT_UPLOAD_MAX_BYTES)
        body = StatementFileSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        file = body.validated_data["file"]
        with transaction.atomic():
            upload, queued = statement_uploads.statement_upload_create(
                kind=body.validated_data["kind"],
                file_name=file.name,
                content=file.read(),
                created_by=request.user,
            )
            if queued:
                # Queued once the upload is committed, so the worker finds it.
                transaction.on_commit(partial(tasks.import_statement_upload.delay, upload.pk))
        shown = StatementUploadSerializer(
            _uploads().get(pk=upload.pk), context={"request": request}
        )
        return Response(
            shown.data,
            status=status.HTTP_202_ACCEPTED if queued else status.HTTP_200_OK,
            headers={"Location": shown.data["url"]},
        )


@extend_schema(tags=["reconciliation"])
class StatementUploadDetail(LedgerView, generics.RetrieveAPIView):
    queryset = _uploads()
    serializer_class = StatementUploadSerializer

    @extend_schema(
        operation_id="statements_uploads_retrieve",
        summary="One statement upload: status, the statement kept or the errors",
        responses={200: StatementUploadSerializer, **errors(401, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["reconciliation"])
class StatementDetail(LedgerView, generics.RetrieveAPIView):
    queryset = Statement.objects.select_related("created_by").defer("content")
    serializer_class = StatementSerializer

    @extend_schema(
        operation_id="statements_retrieve",
        summary="One statement",
        responses={200: StatementSerializer, **errors(401, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
