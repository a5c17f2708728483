"""Loans: their terms and status, their events, and the events recorded through the API
(draws, pledges, releases, repayments, liquidations, accruals). Finance staff and approvers
record them; every role reads."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from holdings.api.filters import LoanEventFilter
from holdings.api.serializers.loans import (
    LoanAccrualSerializer,
    LoanDrawSerializer,
    LoanEventSerializer,
    LoanLiquidationSerializer,
    LoanPledgeSerializer,
    LoanQuerySerializer,
    LoanReleaseSerializer,
    LoanRepaymentSerializer,
    LoanSerializer,
)
from holdings.api.views.common import JSON_415, LIST_ERRORS, FilteredList, errors, validated_query
from holdings.errors import HoldingsError
from holdings.models import Loan, LoanEvent
from holdings.selectors import loans as loans_selectors
from holdings.services import loans as loans_services
from holdings.services.idempotency import request_once
from ledger.api.views import LedgerView, idempotency_key, idempotency_parameter
from ledger.roles import OPERATE_ROLES

LOAN_CODE = OpenApiParameter(
    "code", OpenApiTypes.STR, OpenApiParameter.PATH, description="The loan's code."
)
LOAN_WRITE_ERRORS = {**errors(400, 401, 403, 404, 409), 415: JSON_415}


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


def _statuses(loan_list: Any, as_of: Any) -> dict[int, loans_selectors.LoanStatus | str]:
    """Each loan's status at `as_of`, or why it cannot be worked out (no price that day)."""
    statuses: dict[int, loans_selectors.LoanStatus | str] = {}
    for loan in loan_list:
        try:
            statuses[loan.pk] = loans_selectors.loan_status(loan=loan, as_of=as_of)
        except HoldingsError as error:
            statuses[loan.pk] = error.message
    return statuses


def _loan_context(request: Request, loan_list: Any) -> dict[str, Any]:
    query = validated_query(LoanQuerySerializer, request)
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
        responses={200: LoanSerializer, **errors(400, 401, 403, 404)},
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


# --- recording an event ------------------------------------------------------------------


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
