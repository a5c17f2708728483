"""The HPC segment: contracts, and their revenue recognised month by month. Every role
reads; finance staff and approvers record a contract and run a month's revenue. A month's
revenue is undone only by its cancellation (`/api/v1/cancellations/`)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from holdings.api.serializers.hpc import (
    HpcContractBodySerializer,
    HpcContractSerializer,
    HpcRevenueQuerySerializer,
    HpcRevenueRunBodySerializer,
    HpcRevenueSerializer,
)
from holdings.api.views.common import JSON_415, LIST_ERRORS, errors, validated_query
from holdings.models import HpcContract, HpcRevenue
from holdings.services import hpc as hpc_services
from holdings.services.idempotency import request_once
from ledger.api.views import LedgerView, idempotency_key, idempotency_parameter
from ledger.roles import OPERATE_ROLES

WRITE_ERRORS = {**errors(400, 401, 403, 409), 415: JSON_415}


def _revenue() -> QuerySet[HpcRevenue]:
    return HpcRevenue.objects.select_related("contract", "entry").prefetch_related(
        "entry__cancellations"
    )


@extend_schema(tags=["hpc"])
class HpcContractListCreate(LedgerView):
    serializer_class = HpcContractSerializer
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="hpc_contracts_list",
        summary="HPC contracts: customer, site, capacity, fees and term",
        responses={200: HpcContractSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request) -> Response:
        contracts = HpcContract.objects.select_related("site", "created_by").order_by("code")
        page = self.paginate_queryset(contracts)
        return self.get_paginated_response(HpcContractSerializer(page, many=True).data)

    @extend_schema(
        operation_id="hpc_contracts_create",
        summary="Record an HPC contract",
        description=(
            "A customer's lease of `capacity_mw` at a site from `start` for `term_months`: "
            "`monthly_fee` recognised day by day over the days in service, and `usage_rate` "
            "per kWh of the site's HPC sub-meter (shared between the site's contracts by MW). "
            "Nothing is posted until a month's revenue is run. A code already used is refused."
        ),
        parameters=[idempotency_parameter("contract")],
        request=HpcContractBodySerializer,
        responses={
            201: OpenApiResponse(HpcContractSerializer, description="Recorded."),
            200: OpenApiResponse(HpcContractSerializer, description="Idempotency-Key replayed."),
            **WRITE_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        body = HpcContractBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        arguments = body.service_arguments()
        with transaction.atomic():
            contract, created = request_once(
                key=idempotency_key(request),
                scope="hpc_contract",
                payload=arguments,
                create=lambda: hpc_services.hpc_contract_create(**arguments, by=request.user),
                load=lambda pk: HpcContract.objects.get(pk=pk),
            )
        return Response(
            HpcContractSerializer(contract).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


@extend_schema(tags=["hpc"])
class HpcRevenueListCreate(LedgerView):
    serializer_class = HpcRevenueSerializer
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="hpc_revenue_list",
        summary="HPC revenue recognised, latest month first",
        parameters=[HpcRevenueQuerySerializer],
        responses={200: HpcRevenueSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = validated_query(HpcRevenueQuerySerializer, request)
        revenue = _revenue().order_by("-month", "contract__code", "id")
        if query.get("contract") is not None:
            revenue = revenue.filter(contract=query["contract"])
        page = self.paginate_queryset(revenue)
        return self.get_paginated_response(HpcRevenueSerializer(page, many=True).data)

    @extend_schema(
        operation_id="hpc_revenue_run",
        summary="Recognise a month's HPC revenue",
        description=(
            "Every contract in service in the month earns its fixed fee for the days in "
            "service and its usage fee on the kWh metered: Dr 1350 / Cr 4200 (the site's) at "
            "the month's end. Again: nothing twice (200 with no revenue); a month's revenue "
            "cancelled is recognised anew."
        ),
        request=HpcRevenueRunBodySerializer,
        responses={
            201: OpenApiResponse(HpcRevenueSerializer(many=True), description="Recognised."),
            200: OpenApiResponse(
                HpcRevenueSerializer(many=True), description="Nothing left to recognise."
            ),
            **WRITE_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        body = HpcRevenueRunBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        posted = hpc_services.hpc_revenue_recognize(
            month=body.validated_data["month"], by=request.user
        )
        shown = _revenue().filter(pk__in=[r.pk for r in posted]).order_by("contract__code")
        return Response(
            HpcRevenueSerializer(shown, many=True).data,
            status=status.HTTP_201_CREATED if posted else status.HTTP_200_OK,
        )
