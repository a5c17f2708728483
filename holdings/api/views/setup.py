"""The set-up: mining sites, pools, pool accounts, wallets and their addresses. Every role
reads; finance staff and approvers create (a code already set up answers 409)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models, transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from holdings.api.filters import PoolAccountFilter, SiteFilter, WalletFilter
from holdings.api.serializers.setup import (
    PoolAccountCreateSerializer,
    PoolAccountSerializer,
    PoolCreateSerializer,
    PoolSerializer,
    SiteCreateSerializer,
    SiteSerializer,
    WalletAddressCreateSerializer,
    WalletCreateSerializer,
    WalletSerializer,
)
from holdings.api.views.common import JSON_415, LIST_ERRORS, FilteredList, errors
from holdings.models import Pool, PoolAccount, Site, Wallet, WalletAddress
from holdings.services import setup
from holdings.services.idempotency import request_once
from ledger.api.views import LedgerView, idempotency_key, idempotency_parameter
from ledger.roles import OPERATE_ROLES

CREATE_ERRORS = {**errors(400, 401, 403, 409), 415: JSON_415}


def _create_schema(operation_id: str, summary: str, body: type, shown: Any, what: str) -> Any:
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=(
            f"All or nothing: a refused {what} writes nothing. Bad values answer 400 naming "
            "the field, an unknown field 400, a code already set up 409."
        ),
        parameters=[idempotency_parameter(what)],
        request=body,
        responses={
            201: OpenApiResponse(shown, description="Created."),
            200: OpenApiResponse(shown, description="Idempotency-Key replayed."),
            **CREATE_ERRORS,
        },
    )


def _create(
    request: Request,
    body_class: type,
    scope: str,
    service: Callable[..., models.Model],
    model: type[models.Model],
    **fixed: Any,
) -> tuple[models.Model, int]:
    """Validate the body, call the service once (per Idempotency-Key) in one transaction."""
    body = body_class(data=request.data)
    body.is_valid(raise_exception=True)
    arguments = {**body.service_arguments(), **fixed}
    with transaction.atomic():
        created, first = request_once(
            key=idempotency_key(request),
            scope=f"setup:{scope}",
            payload=arguments,
            create=lambda: service(**arguments),
            load=lambda pk: model._default_manager.get(pk=pk),
        )
    return created, status.HTTP_201_CREATED if first else status.HTTP_200_OK


@extend_schema(tags=["setup"])
class PoolAccountList(FilteredList):
    queryset = PoolAccount.objects.select_related("pool", "site", "receivable_account").order_by(
        "code"
    )
    serializer_class = PoolAccountSerializer
    filterset_class = PoolAccountFilter
    write_roles = OPERATE_ROLES

    @_create_schema(
        "pool_accounts_create",
        "Set up a pool sub-account, with its receivable account",
        PoolAccountCreateSerializer,
        PoolAccountSerializer,
        "pool account",
    )
    def post(self, request: Request) -> Response:
        account, code = _create(
            request,
            PoolAccountCreateSerializer,
            "pool-account",
            setup.pool_account_create,
            PoolAccount,
        )
        return Response(PoolAccountSerializer(self.get_queryset().get(pk=account.pk)).data, code)

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
    write_roles = OPERATE_ROLES

    @_create_schema(
        "wallets_create",
        "Set up a wallet, with its ledger account and addresses",
        WalletCreateSerializer,
        WalletSerializer,
        "wallet",
    )
    def post(self, request: Request) -> Response:
        wallet, code = _create(
            request, WalletCreateSerializer, "wallet", setup.wallet_create, Wallet
        )
        return Response(WalletSerializer(self.get_queryset().get(pk=wallet.pk)).data, code)

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
    write_roles = OPERATE_ROLES

    @_create_schema(
        "sites_create", "Set up a mining site", SiteCreateSerializer, SiteSerializer, "site"
    )
    def post(self, request: Request) -> Response:
        site, code = _create(request, SiteCreateSerializer, "site", setup.site_create, Site)
        return Response(SiteSerializer(site).data, code)

    @extend_schema(
        operation_id="sites_list",
        summary="Mining sites and their deployed hashrate",
        responses={200: SiteSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["setup"])
class PoolList(LedgerView, generics.ListAPIView):
    queryset = Pool.objects.order_by("code")
    serializer_class = PoolSerializer
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="pools_list",
        summary="Mining pools",
        responses={200: PoolSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @_create_schema(
        "pools_create", "Set up a mining pool", PoolCreateSerializer, PoolSerializer, "pool"
    )
    def post(self, request: Request) -> Response:
        pool, code = _create(request, PoolCreateSerializer, "pool", setup.pool_create, Pool)
        return Response(PoolSerializer(pool).data, code)


WALLET_CODE = OpenApiParameter(
    "code", OpenApiTypes.STR, OpenApiParameter.PATH, description="The wallet's code."
)


@extend_schema(tags=["setup"])
class WalletAddressCreate(LedgerView):
    serializer_class = WalletSerializer
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="wallet_addresses_create",
        summary="Add an address to a wallet",
        description=(
            "Checked against the wallet's commodity; an address that already belongs to a "
            "wallet answers 409. Answers the wallet with all its addresses."
        ),
        parameters=[WALLET_CODE, idempotency_parameter("address")],
        request=WalletAddressCreateSerializer,
        responses={
            201: OpenApiResponse(WalletSerializer, description="Added."),
            200: OpenApiResponse(WalletSerializer, description="Idempotency-Key replayed."),
            **CREATE_ERRORS,
            **errors(404),
        },
    )
    def post(self, request: Request, code: str) -> Response:
        wallet = get_object_or_404(Wallet, code=code)
        _address, status_code = _create(
            request,
            WalletAddressCreateSerializer,
            f"wallet-address:{wallet.code}",
            setup.wallet_address_add,
            WalletAddress,
            wallet=wallet,
        )
        shown = Wallet.objects.select_related("account").prefetch_related("addresses")
        return Response(WalletSerializer(shown.get(pk=wallet.pk)).data, status_code)
