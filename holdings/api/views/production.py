"""Production: pool files uploaded and imported, the daily earnings and the payouts they
brought. Finance staff and approvers upload pool files (multipart/form-data)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F, Func, IntegerField, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from holdings import tasks
from holdings.api.filters import ImportBatchFilter, PayoutFilter, ProductionRecordFilter
from holdings.api.serializers.production import (
    ImportBatchSerializer,
    ImportUploadSerializer,
    PayoutSerializer,
    ProductionRecordSerializer,
)
from holdings.api.views.common import LIST_ERRORS, FilteredList, errors
from holdings.models import ImportBatch, Payout, ProductionRecord
from holdings.services import production
from ledger.api.views import LedgerView
from ledger.roles import OPERATE_ROLES


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
            **errors(400, 401, 403, 415),
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
        responses={200: ImportBatchSerializer, **errors(401, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# --- production records and payouts ------------------------------------------------------


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
