"""Fixed assets: vendor deposits, the assets with their state and events, and what is
recorded through the API (receipts, placing in service, a change of useful life,
impairments, disposals, the depreciation run). Every role reads; finance staff and
approvers record; only a finance approver books an impairment. An entry is undone only by
its document's cancellation (`/api/v1/cancellations/`), the asset's latest first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from holdings.api.serializers.fixed_assets import (
    AssetEventSerializer,
    AssetQuerySerializer,
    AssetReceiptBodySerializer,
    DepreciationRunBodySerializer,
    DisposalBodySerializer,
    FixedAssetSerializer,
    ImpairmentBodySerializer,
    InServiceBodySerializer,
    LifeChangeBodySerializer,
    VendorDepositBodySerializer,
    VendorDepositSerializer,
)
from holdings.api.views.common import JSON_415, LIST_ERRORS, errors, validated_query
from holdings.models import AssetEvent, AssetEventKind, FixedAsset, VendorDeposit
from holdings.selectors import fixed_assets as fixed_assets_selectors
from holdings.services import fixed_assets as assets_services
from holdings.services.idempotency import request_once
from ledger.api.views import LedgerView, idempotency_key, idempotency_parameter
from ledger.roles import APPROVE_ROLES, OPERATE_ROLES

ASSET_CODE = OpenApiParameter(
    "code", OpenApiTypes.STR, OpenApiParameter.PATH, description="The asset's code."
)
WRITE_ERRORS = {**errors(400, 401, 403, 404, 409), 415: JSON_415}


def _assets() -> QuerySet[FixedAsset]:
    return FixedAsset.objects.select_related(
        "asset_class", "site", "deposit", "receipt_entry"
    ).prefetch_related("receipt_entry__cancellations")


def _events() -> QuerySet[AssetEvent]:
    return (
        AssetEvent.objects.select_related("asset", "entry", "created_by")
        .prefetch_related("entry__cancellations")
        .order_by("effective_date", "id")
    )


def _deposits() -> QuerySet[VendorDeposit]:
    return fixed_assets_selectors.with_unapplied(
        VendorDeposit.objects.select_related("entry", "created_by").prefetch_related(
            "entry__cancellations"
        )
    )


def _written(
    request: Request,
    *,
    scope: str,
    arguments: dict[str, Any],
    create: Callable[[], Any],
    load: Callable[[int], Any],
) -> tuple[Any, bool]:
    """`create()` in one transaction, once per Idempotency-Key (the same request again
    answers what it created, False)."""
    with transaction.atomic():
        return request_once(
            key=idempotency_key(request),
            scope=scope,
            payload=arguments,
            create=create,
            load=load,
        )


def _answer(data: Any, created: bool) -> Response:
    return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _write_schema(
    operation_id: str,
    summary: str,
    description: str,
    body: type,
    answer: Any,
    *,
    path: bool = True,
    what: str = "event",
) -> Any:
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=description,
        parameters=[*([ASSET_CODE] if path else []), idempotency_parameter(what)],
        request=body,
        responses={
            201: OpenApiResponse(answer, description="Recorded."),
            200: OpenApiResponse(answer, description="Idempotency-Key replayed."),
            **WRITE_ERRORS,
        },
    )


# --- deposits ----------------------------------------------------------------------------


@extend_schema(tags=["fixed assets"])
class VendorDepositListCreate(LedgerView):
    serializer_class = VendorDepositSerializer
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="vendor_deposits_list",
        summary="Deposits and prepayments paid to vendors, latest first",
        responses={200: VendorDepositSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(_deposits().order_by("-paid_on", "-id"))
        return self.get_paginated_response(VendorDepositSerializer(page, many=True).data)

    @_write_schema(
        "vendor_deposits_create",
        "Record a deposit paid to a vendor",
        "Dr 1500 vendor deposits / Cr 1000 cash. A reference already recorded is refused.",
        VendorDepositBodySerializer,
        VendorDepositSerializer,
        path=False,
        what="deposit",
    )
    def post(self, request: Request) -> Response:
        body = VendorDepositBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        arguments = body.service_arguments()
        deposit, created = _written(
            request,
            scope="vendor_deposit",
            arguments=arguments,
            create=lambda: assets_services.vendor_deposit_record(**arguments, by=request.user),
            load=lambda pk: VendorDeposit.objects.get(pk=pk),
        )
        return _answer(VendorDepositSerializer(_deposits().get(pk=deposit.pk)).data, created)


# --- assets ------------------------------------------------------------------------------


@extend_schema(tags=["fixed assets"])
class FixedAssetListCreate(LedgerView):
    serializer_class = FixedAssetSerializer
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="fixed_assets_list",
        summary="Fixed assets, with each one's cost basis, accumulated depreciation and net "
        "book value",
        description="Every asset received (cancelled receipts too: see "
        "`receipt_cancellation`), its `state` at the end of `as_of` (every standing event by "
        "default). The register and the roll-forward by class: `reports/fixed-assets/`.",
        parameters=[AssetQuerySerializer],
        responses={200: FixedAssetSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = validated_query(AssetQuerySerializer, request)
        page = self.paginate_queryset(_assets().order_by("code"))
        context = {
            "request": request,
            "as_of": query.get("as_of"),
            "events": fixed_assets_selectors.standing_events_of(page or []),
        }
        return self.get_paginated_response(
            FixedAssetSerializer(page, many=True, context=context).data
        )

    @_write_schema(
        "fixed_assets_create",
        "Record a batch of machines received",
        "At cost: Dr the class's cost account (1600 ASIC, 1610 GPU) / Cr 1500 the deposit "
        "applied (`deposit`, `deposit_applied`), the rest to 1000 cash when `paid`, else to "
        "2210 vendor payables. A code already used is refused.",
        AssetReceiptBodySerializer,
        FixedAssetSerializer,
        path=False,
        what="asset",
    )
    def post(self, request: Request) -> Response:
        body = AssetReceiptBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        arguments = body.service_arguments()
        asset, created = _written(
            request,
            scope="asset_receipt",
            arguments=arguments,
            create=lambda: assets_services.asset_receive(**arguments, by=request.user),
            load=lambda pk: FixedAsset.objects.get(pk=pk),
        )
        shown = FixedAssetSerializer(_assets().get(pk=asset.pk), context={"request": request})
        return _answer(shown.data, created)


@extend_schema(tags=["fixed assets"])
class FixedAssetDetail(LedgerView):
    serializer_class = FixedAssetSerializer

    @extend_schema(
        operation_id="fixed_assets_retrieve",
        summary="One fixed asset and its state after every standing event",
        parameters=[ASSET_CODE],
        responses={200: FixedAssetSerializer, **errors(400, 401, 403, 404)},
    )
    def get(self, request: Request, code: str) -> Response:
        asset = get_object_or_404(_assets(), code=code)
        return Response(FixedAssetSerializer(asset, context={"request": request}).data)


@extend_schema(tags=["fixed assets"])
class FixedAssetEventList(LedgerView):
    serializer_class = AssetEventSerializer

    def get_queryset(self) -> QuerySet[AssetEvent]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return AssetEvent.objects.none()
        asset = get_object_or_404(FixedAsset.objects.only("pk"), code=self.kwargs["code"])
        return _events().filter(asset=asset)

    @extend_schema(
        operation_id="fixed_assets_events_list",
        summary="An asset's events, oldest first, each with the entry it posted",
        parameters=[ASSET_CODE],
        responses={200: AssetEventSerializer(many=True), **LIST_ERRORS},
    )
    def get(self, request: Request, code: str) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(AssetEventSerializer(page, many=True).data)


class _AssetEventCreate(LedgerView):
    """Validate the body, call the service in one transaction (all or nothing), answer
    with the event."""

    serializer_class = AssetEventSerializer
    write_roles = OPERATE_ROLES
    body_class: type = DisposalBodySerializer

    def call(self, asset: FixedAsset, arguments: dict[str, Any], user: Any) -> AssetEvent:
        raise NotImplementedError  # pragma: no cover

    def record(self, request: Request, code: str) -> Response:
        asset = get_object_or_404(FixedAsset.objects.only("pk", "code"), code=code)
        body = self.body_class(data=request.data)
        body.is_valid(raise_exception=True)
        arguments = body.service_arguments()
        event, created = _written(
            request,
            scope=f"asset:{asset.code}:{self.body_class.__name__}",
            arguments=arguments,
            create=lambda: self.call(asset, arguments, request.user),
            load=lambda pk: AssetEvent.objects.get(pk=pk),
        )
        return _answer(AssetEventSerializer(_events().get(pk=event.pk)).data, created)


@extend_schema(tags=["fixed assets"])
class AssetInServiceCreate(_AssetEventCreate):
    body_class = InServiceBodySerializer

    def call(self, asset: FixedAsset, arguments: dict[str, Any], user: Any) -> AssetEvent:
        placed = assets_services.asset_place_in_service(asset=asset.code, **arguments, by=user)
        return AssetEvent.objects.filter(asset=placed, kind=AssetEventKind.IN_SERVICE).latest("id")

    @_write_schema(
        "fixed_assets_in_service_create",
        "Place an asset in service at a site",
        "Depreciation runs from `on` over `useful_life_months` (the class's by default: 36 "
        "for ASIC miners) down to `salvage_value`. Once: an asset in service is refused.",
        InServiceBodySerializer,
        AssetEventSerializer,
    )
    def post(self, request: Request, code: str) -> Response:
        return self.record(request, code)


@extend_schema(tags=["fixed assets"])
class AssetLifeChangeCreate(_AssetEventCreate):
    body_class = LifeChangeBodySerializer

    def call(self, asset: FixedAsset, arguments: dict[str, Any], user: Any) -> AssetEvent:
        return assets_services.asset_change_life(asset=asset.code, **arguments, by=user)

    @_write_schema(
        "fixed_assets_life_changes_create",
        "Change an asset's useful life from a month on",
        "Prospective: what is left to depreciate is spread over the life left from "
        "`from_month`, a month not depreciated yet (every month before it depreciated).",
        LifeChangeBodySerializer,
        AssetEventSerializer,
    )
    def post(self, request: Request, code: str) -> Response:
        return self.record(request, code)


@extend_schema(tags=["fixed assets"])
class AssetImpairmentCreate(_AssetEventCreate):
    body_class = ImpairmentBodySerializer
    write_roles = APPROVE_ROLES

    def call(self, asset: FixedAsset, arguments: dict[str, Any], user: Any) -> AssetEvent:
        return assets_services.asset_impair(asset=asset.code, **arguments, by=user)

    @_write_schema(
        "fixed_assets_impairments_create",
        "Book an impairment (ASC 360): a finance approver, with the evidence",
        "At a month end depreciated through: Dr 5500 (the site's) the loss, Dr the "
        "accumulated depreciation closed out / Cr the cost account down to `fair_value`, the "
        "new cost basis; later months depreciate it over the life left.",
        ImpairmentBodySerializer,
        AssetEventSerializer,
    )
    def post(self, request: Request, code: str) -> Response:
        return self.record(request, code)


@extend_schema(tags=["fixed assets"])
class AssetDisposalCreate(_AssetEventCreate):
    body_class = DisposalBodySerializer

    def call(self, asset: FixedAsset, arguments: dict[str, Any], user: Any) -> AssetEvent:
        return assets_services.asset_dispose(asset=asset.code, **arguments, by=user)

    @_write_schema(
        "fixed_assets_disposals_create",
        "Record an asset sold or scrapped",
        "The month's depreciation up to `on`, then Dr 1000 the proceeds, Dr the accumulated "
        "depreciation / Cr the cost basis, the difference to 4300 (gain or loss on disposal).",
        DisposalBodySerializer,
        AssetEventSerializer,
    )
    def post(self, request: Request, code: str) -> Response:
        return self.record(request, code)


@extend_schema(tags=["fixed assets"])
class DepreciationRunCreate(LedgerView):
    serializer_class = AssetEventSerializer
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="fixed_assets_depreciation_run",
        summary="Depreciate every asset in service through a date",
        description=(
            "Each whole month ending on or before `through` not yet depreciated, one entry a "
            "month and asset at the month's end (Dr the class's expense account for the site "
            "/ Cr accumulated depreciation). Again: nothing twice, and 200 with no events."
        ),
        request=DepreciationRunBodySerializer,
        responses={
            201: OpenApiResponse(AssetEventSerializer(many=True), description="Depreciated."),
            200: OpenApiResponse(
                AssetEventSerializer(many=True), description="Nothing left to depreciate."
            ),
            **WRITE_ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        body = DepreciationRunBodySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        posted = assets_services.depreciation_run(**body.service_arguments(), by=request.user)
        shown = _events().filter(pk__in=[event.pk for event in posted])
        return _answer(AssetEventSerializer(shown, many=True).data, bool(posted))
