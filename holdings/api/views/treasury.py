"""The treasury: sales (recorded, or previewed without recording) and transfers between the
company's wallets. Finance staff and approvers record them; every role reads."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from holdings.api.filters import SaleFilter, TransferFilter
from holdings.api.serializers.treasury import (
    SaleCreateSerializer,
    SalePreviewSerializer,
    SaleSerializer,
    TransferCreateSerializer,
    TransferSerializer,
)
from holdings.api.views.common import JSON_415, LIST_ERRORS, FilteredList, errors
from holdings.models import Disposal, Sale, Transfer
from holdings.services import treasury
from holdings.services.idempotency import request_once
from ledger.api.serializers import ErrorSerializer
from ledger.api.views import LedgerView, idempotency_key, idempotency_parameter
from ledger.models import Commodity
from ledger.roles import OPERATE_ROLES

WRITE_ERRORS = {**errors(400, 401, 403), 415: JSON_415}


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


# --- sales -------------------------------------------------------------------------------


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
        plan = treasury.sale_preview(
            **body.service_arguments(), reference=body.validated_data["reference"]
        )
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
        responses={200: SaleSerializer, **errors(401, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# --- transfers ---------------------------------------------------------------------------


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
