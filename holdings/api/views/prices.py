"""Prices, the evidence behind every valuation, and the fair value remeasurements made at
them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from holdings.api.filters import RemeasurementFilter
from holdings.api.serializers.prices import (
    PriceSerializer,
    PricesQuerySerializer,
    RemeasurementSerializer,
)
from holdings.api.views.common import LIST_ERRORS, FilteredList, code_of, validated_query
from holdings.models import Remeasurement
from holdings.selectors import prices as prices_selectors
from ledger.api.views import LedgerView


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
        query = validated_query(PricesQuerySerializer, request)
        prices = prices_selectors.prices(
            base=code_of(query.get("base")),
            quote=code_of(query.get("quote")),
            start=query.get("start"),
            end=query.get("end"),
            source=query.get("source"),
        )
        page = self.paginate_queryset(prices)
        return self.get_paginated_response(PriceSerializer(page, many=True).data)


@extend_schema(tags=["evidence"])
class RemeasurementList(FilteredList):
    queryset = (
        Remeasurement.objects.select_related("commodity", "price", "entry", "created_by")
        .prefetch_related("entry__cancellations")
        .order_by("-as_of", "commodity", "-attempt")
    )
    serializer_class = RemeasurementSerializer
    filterset_class = RemeasurementFilter

    @extend_schema(
        operation_id="remeasurements_list",
        summary="Fair value remeasurements, with their price evidence",
        responses={200: RemeasurementSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
