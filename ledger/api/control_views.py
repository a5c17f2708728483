"""The ledger's controls in the API: manual journals (maker-checker), period closes and the
audit log. Thin, as the rest of the API: validate, call one service or selector, shape.

Roles: every role reads; finance staff and approvers draft, edit and submit manual journals
(the maker only); finance approvers approve or reject them (never their own), close and
reopen periods. A service's refusal answers 400, 403 (not allowed: someone else's draft,
one's own journal to approve) or 409 (the journal is not in a state that allows it).
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from ledger import audit, selectors, services
from ledger.api.control_serializers import (
    AuditLogQuerySerializer,
    AuditLogSerializer,
    EmptySerializer,
    JournalVerificationSerializer,
    ManualJournalCreateSerializer,
    ManualJournalQuerySerializer,
    ManualJournalSerializer,
    ManualJournalUpdateSerializer,
    PeriodCloseCreateSerializer,
    PeriodCloseSerializer,
    PeriodReopenSerializer,
    RejectSerializer,
)
from ledger.api.serializers import ErrorSerializer
from ledger.api.views import (
    ENTRY_EXAMPLE,
    IDEMPOTENCY_HEADER,
    LedgerView,
    _validated_query,
    create_manual_journal,
    manual_journals,
)
from ledger.errors import InvalidState
from ledger.models import AuditLog, ManualJournal, PeriodClose
from ledger.roles import APPROVE_ROLES, OPERATE_ROLES
from ledger.services import MAX_KEY_LENGTH, PostingInput

DESCRIBED = {
    400: "Bad input, or refused by the ledger: `field` names what is wrong.",
    401: "Not authenticated: send `Authorization: Token <key>` or a session cookie.",
    403: "The role does not allow this, or the journal is not yours to change, or yours "
    "(nobody approves their own).",
    404: "No such object.",
    409: "The journal is not in a state that allows this (already decided, not submitted...),"
    " or the Idempotency-Key was used with a different payload.",
    415: "The body must be JSON (Content-Type: application/json).",
}


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer, description=DESCRIBED[code]) for code in codes}


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        f"1 to {MAX_KEY_LENGTH} printable ASCII characters: one journal per key; the same "
        "request again answers 200 with it."
    ),
)


def journal_data(journal_id: int) -> Any:
    return ManualJournalSerializer(manual_journals().get(pk=journal_id)).data


# --- manual journals ---------------------------------------------------------------------


@extend_schema(tags=["manual journals"])
class ManualJournalListCreate(LedgerView):
    serializer_class = ManualJournalSerializer
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="manual_journals_list",
        summary="Manual journals, newest first",
        parameters=[ManualJournalQuerySerializer],
        responses={200: ManualJournalSerializer(many=True), **_errors(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        query = _validated_query(ManualJournalQuerySerializer, request)
        journals = manual_journals().order_by("-id")
        if "status" in query:
            journals = journals.filter(status=query["status"])
        if "created_by" in query:
            journals = journals.filter(created_by__username=query["created_by"])
        page = self.paginate_queryset(journals)
        return self.get_paginated_response(ManualJournalSerializer(page, many=True).data)

    @extend_schema(
        operation_id="manual_journals_create",
        summary="Draft a manual journal (and submit it, with submit: true)",
        description=(
            "Checked as the ledger would post it now (balance, scales, accounts, closed "
            "periods, accounts that must not go negative). Nothing is posted until a finance "
            "approver who is not its maker approves it."
        ),
        parameters=[IDEMPOTENCY_PARAMETER],
        request=ManualJournalCreateSerializer,
        examples=[ENTRY_EXAMPLE],
        responses={
            201: OpenApiResponse(ManualJournalSerializer, description="A draft."),
            202: OpenApiResponse(ManualJournalSerializer, description="Submitted for approval."),
            200: OpenApiResponse(ManualJournalSerializer, description="Idempotency-Key replayed."),
            **_errors(400, 401, 403, 409, 415),
        },
    )
    def post(self, request: Request) -> Response:
        body = ManualJournalCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return create_manual_journal(
            request, body.validated_data, submit=body.validated_data["submit"]
        )


@extend_schema(tags=["manual journals"])
class ManualJournalDetail(LedgerView):
    serializer_class = ManualJournalSerializer
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="manual_journals_retrieve",
        summary="One manual journal with its postings and decision",
        responses={200: ManualJournalSerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(ManualJournalSerializer(get_object_or_404(manual_journals(), pk=pk)).data)

    @extend_schema(
        operation_id="manual_journals_partial_update",
        summary="Edit a draft (its maker only); postings sent replace its postings",
        request=ManualJournalUpdateSerializer,
        responses={200: ManualJournalSerializer, **_errors(400, 401, 403, 404, 409, 415)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        journal = get_object_or_404(ManualJournal.objects.only("pk"), pk=pk)
        body = ManualJournalUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        postings = data.get("postings")
        services.manual_journal_update(
            journal=journal,
            by=request.user,
            effective_date=data.get("effective_date"),
            memo=data.get("memo"),
            kind=data.get("kind"),
            postings=None
            if postings is None
            else [
                PostingInput(account=p["account"], quantity=p["quantity"], value=p["value"])
                for p in postings
            ],
        )
        return Response(journal_data(journal.pk))


class _JournalAction(LedgerView):
    serializer_class = EmptySerializer
    body_serializer: type = EmptySerializer

    def act(self, journal: ManualJournal, request: Request, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        journal = get_object_or_404(ManualJournal.objects.only("pk"), pk=pk)
        body = self.body_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        self.act(journal, request, body.validated_data)
        return Response(journal_data(journal.pk))


@extend_schema(tags=["manual journals"])
class ManualJournalSubmit(_JournalAction):
    write_roles = OPERATE_ROLES

    @extend_schema(
        operation_id="manual_journals_submit",
        summary="Submit a draft for approval (its maker only)",
        request=EmptySerializer,
        responses={200: ManualJournalSerializer, **_errors(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, journal: ManualJournal, request: Request, data: dict[str, Any]) -> None:
        services.manual_journal_submit(journal=journal, by=request.user)


@extend_schema(tags=["manual journals"])
class ManualJournalApprove(_JournalAction):
    write_roles = APPROVE_ROLES

    @extend_schema(
        operation_id="manual_journals_approve",
        summary="Approve a submitted journal and post it (a finance approver, not its maker)",
        description="Posts it once: `entry` is the journal entry, made by the maker and "
        "approved by you. Approving again answers 409.",
        request=EmptySerializer,
        responses={200: ManualJournalSerializer, **_errors(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, journal: ManualJournal, request: Request, data: dict[str, Any]) -> None:
        services.manual_journal_approve(journal=journal, by=request.user)


@extend_schema(tags=["manual journals"])
class ManualJournalReject(_JournalAction):
    write_roles = APPROVE_ROLES
    body_serializer = RejectSerializer

    @extend_schema(
        operation_id="manual_journals_reject",
        summary="Reject a submitted journal with a reason (a finance approver, not its maker)",
        description="Nothing is posted; the journal keeps the reason. Rejected is final: its "
        "maker drafts a new journal.",
        request=RejectSerializer,
        responses={200: ManualJournalSerializer, **_errors(400, 401, 403, 404, 409, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        return super().post(request, pk)

    def act(self, journal: ManualJournal, request: Request, data: dict[str, Any]) -> None:
        services.manual_journal_reject(journal=journal, by=request.user, reason=data["reason"])


# --- periods -----------------------------------------------------------------------------


@extend_schema(tags=["periods"])
class PeriodListCreate(LedgerView):
    serializer_class = PeriodCloseSerializer
    write_roles = APPROVE_ROLES

    @extend_schema(
        operation_id="periods_list",
        summary="Period closes, latest first (reopened ones included, with their reason)",
        responses={200: PeriodCloseSerializer(many=True), **_errors(401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        closes = PeriodClose.objects.select_related("closed_by", "reopened_by").order_by(
            "-through", "-closed_at"
        )
        page = self.paginate_queryset(closes)
        return self.get_paginated_response(PeriodCloseSerializer(page, many=True).data)

    @extend_schema(
        operation_id="periods_close",
        summary="Close the books through a date (a finance approver)",
        description="No entry may then be dated on or before it, by any door.",
        request=PeriodCloseCreateSerializer,
        responses={201: PeriodCloseSerializer, **_errors(400, 401, 403, 415)},
    )
    def post(self, request: Request) -> Response:
        body = PeriodCloseCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        close = services.period_close(through=body.validated_data["through"], by=request.user)
        location = reverse("period-detail", args=[close.pk], request=request)
        return Response(
            PeriodCloseSerializer(close).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": location},
        )


@extend_schema(tags=["periods"])
class PeriodDetail(LedgerView):
    serializer_class = PeriodCloseSerializer

    @extend_schema(
        operation_id="periods_retrieve",
        summary="One period close",
        responses={200: PeriodCloseSerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        close = get_object_or_404(
            PeriodClose.objects.select_related("closed_by", "reopened_by"), pk=pk
        )
        return Response(PeriodCloseSerializer(close).data)


@extend_schema(tags=["periods"])
class PeriodReopen(LedgerView):
    serializer_class = PeriodReopenSerializer
    write_roles = APPROVE_ROLES

    @extend_schema(
        operation_id="periods_reopen",
        summary="Reopen a close, with a reason (a finance approver; the latest close first)",
        request=PeriodReopenSerializer,
        responses={200: PeriodCloseSerializer, **_errors(400, 401, 403, 404, 415)},
    )
    def post(self, request: Request, pk: int) -> Response:
        close = get_object_or_404(PeriodClose, pk=pk)
        body = PeriodReopenSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if not close.is_open:
            raise InvalidState(
                f"the close through {close.through} was already reopened", field="through"
            )
        reopened = services.period_reopen(
            through=close.through, by=request.user, reason=body.validated_data["reason"]
        )
        return Response(PeriodCloseSerializer(reopened).data)


# --- the audit log -----------------------------------------------------------------------


class AuditLogPagination(CursorPagination):
    """Newest first, by cursor: no count of a log that only grows, and stable pages while it
    grows."""

    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor = super().decode_cursor(request)
        # A cursor is the client's to send: its position must be an id, as every cursor this
        # pagination writes holds, or it is refused as any other unreadable cursor is.
        position = None if cursor is None else cursor.position
        if position is not None and not re.fullmatch(r"[0-9]{1,18}", str(position)):
            raise NotFound(self.invalid_cursor_message)
        return cursor


@extend_schema(tags=["audit"])
class AuditLogList(LedgerView):
    serializer_class = AuditLogSerializer
    pagination_class = AuditLogPagination

    @extend_schema(
        operation_id="audit_log_list",
        summary="Every change of state of every audited record: who, when, what",
        description=(
            "Written by PostgreSQL triggers, never changed or deleted. `next` and `previous` "
            "are links to the adjacent pages."
        ),
        parameters=[AuditLogQuerySerializer],
        responses={200: AuditLogSerializer(many=True), **_errors(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        query = _validated_query(AuditLogQuerySerializer, request)
        rows: QuerySet[AuditLog] = audit.audit_log(
            table=query.get("table"),
            record_id=query.get("record"),
            actor=query.get("actor"),
            action=query.get("action"),
            start=query.get("start"),
            end=query.get("end"),
        )
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(AuditLogSerializer(page, many=True).data)


# --- the sealed journal ------------------------------------------------------------------


@extend_schema(tags=["audit"])
class JournalIntegrityView(LedgerView):
    serializer_class = JournalVerificationSerializer

    @extend_schema(
        operation_id="integrity_retrieve",
        summary="The journal verified against its hash chain",
        description=(
            "Every sealed entry is hashed again from its fields and postings and the chain of "
            "seals followed from the first; `first_break` names the first entry that does not "
            "match (altered, removed, moved, a posting changed, removed or added, a seal "
            "rewritten, an entry inside the sealed range without a seal). The subledgers "
            "(lots, lot movements, disposals, loan events) are sealed entry by entry after "
            "the journal and verified with it (`chains`): a row altered, removed or added is "
            "named by `record` and `record_id`. Entries after the "
            "last seal are counted in `unsealed_entries` (sealed every five minutes). Reads "
            "the whole journal: seconds for tens of thousands of entries."
        ),
        responses={200: JournalVerificationSerializer, **_errors(401, 403)},
    )
    def get(self, request: Request) -> Response:
        report = selectors.journal_verify(chains=True)
        return Response(JournalVerificationSerializer(report).data)
