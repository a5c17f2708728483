"""Cancellations in the API: the only way a document's entry is undone. Finance staff or
an approver asks (with a reason, and an optional Idempotency-Key); a finance approver who
did not ask approves (the reversal is posted and the document's subledger undone together)
or rejects with a reason."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from ledger import services
from ledger.api.cancellation_serializers import (
    CancellationCreateSerializer,
    CancellationQuerySerializer,
    CancellationRejectSerializer,
    CancellationSerializer,
)
from ledger.api.control_serializers import EmptySerializer
from ledger.api.control_views import _errors
from ledger.api.views import LedgerView, _validated_query, idempotency_key, idempotency_parameter
from ledger.models import Cancellation, JournalEntry
from ledger.roles import APPROVE_ROLES, OPERATE_ROLES


def _cancellations() -> QuerySet[Cancellation]:
    return Cancellation.objects.select_related(
        "entry", "reversal", "requested_by", "decided_by"
    ).order_by("-id")


def _shown(request: Request, pk: int) -> Any:
    return CancellationSerializer(_cancellations().get(pk=pk), context={"request": request}).data


@extend_schema(tags=["cancellations"])
class CancellationListCreate(LedgerView):
    serializer_class = CancellationSerializer
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="cancellations_list",
        summary="Cancellations, newest first",
        parameters=[CancellationQuerySerializer],
        responses={200: CancellationSerializer(many=True), **_errors(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        query = _validated_query(CancellationQuerySerializer, request)
        found = _cancellations()
        if "status" in query:
            found = found.filter(status=query["status"])
        if "entry" in query:
            found = found.filter(entry_id=query["entry"])
        page = self.paginate_queryset(found)
        return self.get_paginated_response(
            CancellationSerializer(page, many=True, context={"request": request}).data
        )

    @extend_schema(
        operation_id="cancellations_create",
        summary="Ask for a document to be cancelled",
        description=(
            "Names the document's entry (a pool record's, payout's, sale's, transfer's, loan "
            "event's, remeasurement's, opening balances' or manual journal's) and why. Checked "
            "at once as the approval would check it: a document that later events depend on "
            "is refused (400), naming them. Nothing is posted until a finance approver who "
            "did not ask approves."
        ),
        parameters=[idempotency_parameter("cancellation")],
        request=CancellationCreateSerializer,
        responses={
            201: OpenApiResponse(CancellationSerializer, description="Requested."),
            200: OpenApiResponse(CancellationSerializer, description="Idempotency-Key replayed."),
            **_errors(400, 401, 403, 404, 409, 415),
        },
    )
    def post(self, request: Request) -> Response:
        body = CancellationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        entry = get_object_or_404(JournalEntry.objects.only("pk"), pk=data["entry"])
        cancellation, created = services.cancellation_request(
            entry=entry,
            reason=data["reason"],
            effective_date=data.get("effective_date"),
            by=request.user,
            idempotency_key=idempotency_key(request),
        )
        shown = _shown(request, cancellation.pk)
        return Response(
            shown,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            headers={"Location": shown["url"]},
        )


@extend_schema(tags=["cancellations"])
class CancellationDetail(LedgerView):
    serializer_class = CancellationSerializer

    @extend_schema(
        operation_id="cancellations_retrieve",
        summary="One cancellation",
        responses={200: CancellationSerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        get_object_or_404(Cancellation.objects.only("pk"), pk=pk)
        return Response(_shown(request, pk))


class _CancellationAction(LedgerView):
    serializer_class = EmptySerializer
    write_roles = APPROVE_ROLES
    body_serializer: type = EmptySerializer

    def act(self, cancellation: Cancellation, request: Request, data: dict[str, Any]) -> None:
        raise NotImplementedError  # pragma: no cover

    def post(self, request: Request, pk: int) -> Response:
        cancellation = get_object_or_404(Cancellation.objects.only("pk"), pk=pk)
        body = self.body_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        self.act(cancellation, request, body.validated_data)
        return Response(_shown(request, cancellation.pk))


@extend_schema(tags=["cancellations"])
class CancellationApprove(_CancellationAction):
    @extend_schema(
        operation_id="cancellations_approve",
        summary="Approve and carry out a cancellation (a finance approver who did not ask)",
        description="Posts the reversal and undoes the document's subledger (lots restored, "
        "disposals offset) in one transaction, or refuses with the reason. Once only: again "
        "answers 409.",
        request=EmptySerializer,
        responses={200: CancellationSerializer, **_errors(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, cancellation: Cancellation, request: Request, data: dict[str, Any]) -> None:
        services.cancellation_approve(cancellation=cancellation, by=request.user)


@extend_schema(tags=["cancellations"])
class CancellationReject(_CancellationAction):
    body_serializer = CancellationRejectSerializer

    @extend_schema(
        operation_id="cancellations_reject",
        summary="Reject a cancellation with a reason (a finance approver who did not ask)",
        request=CancellationRejectSerializer,
        responses={200: CancellationSerializer, **_errors(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, cancellation: Cancellation, request: Request, data: dict[str, Any]) -> None:
        services.cancellation_reject(
            cancellation=cancellation, by=request.user, reason=data["reason"]
        )
