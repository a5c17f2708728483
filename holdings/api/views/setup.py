"""The set-up, read-only: pool accounts, wallets and mining sites."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from holdings.api.filters import PoolAccountFilter, SiteFilter, WalletFilter
from holdings.api.serializers.setup import (
    PoolAccountSerializer,
    SiteSerializer,
    WalletSerializer,
)
from holdings.api.views.common import LIST_ERRORS, FilteredList
from holdings.models import PoolAccount, Site, Wallet


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
