"""The ledger's REST API. Thin: validate with a serializer, call one service or selector, shape.

Roles come from the default permission class (ledger.api.permissions.RolePermission): every
role reads, finance staff and approvers write, a user with no role gets 403, anonymous 401.
Only JSON is read and written.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from ledger import selectors, services
from ledger.api.control_serializers import ManualJournalSerializer
from ledger.api.filters import AccountFilter
from ledger.api.parameters import refuse_unknown_query_parameters
from ledger.api.renderers import (
    FORMAT_PARAMETER,
    CSVReportMixin,
    CSVTable,
    Figures,
    Rows,
    report_responses,
)
from ledger.api.schema import LedgerAutoSchema
from ledger.api.serializers import (
    AccountBalanceSerializer,
    AccountSerializer,
    AsOfQuerySerializer,
    BalancesQuerySerializer,
    BalancesSerializer,
    CommoditySerializer,
    EntriesQuerySerializer,
    EntryCreateSerializer,
    ErrorSerializer,
    JournalEntrySerializer,
    TrialBalanceRowSerializer,
    TrialBalanceSerializer,
)
from ledger.models import Account, Commodity, JournalEntry, ManualJournal
from ledger.services import MAX_KEY_LENGTH as MAX_IDEMPOTENCY_KEY_LENGTH
from ledger.services import PostingInput

IDEMPOTENCY_HEADER = "Idempotency-Key"


class StrictJSONParser(JSONParser):
    """JSON only; a body nested too deeply for the parser is a 400, not a crash."""

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply") from exc


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    described = {
        400: "Bad input: `field` names what is wrong, `errors` lists every problem.",
        401: "Not authenticated: send `Authorization: Token <key>` or a session cookie.",
        403: "Authenticated, but the role does not allow this.",
        404: "No such object (or page).",
        409: "The Idempotency-Key was already used with a different payload.",
        415: "The body must be JSON (Content-Type: application/json).",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=described[code]) for code in codes}


READ_ERRORS = _errors(400, 401, 403)
AS_OF = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATE,
    OpenApiParameter.QUERY,
    description="UTC date YYYY-MM-DD (end of that day); today (UTC) by default.",
)


def _validated_query(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


def _as_of(query: dict[str, Any]) -> date:
    return query.get("as_of") or timezone.now().date()  # aware UTC: this is the UTC date


class LedgerView(generics.GenericAPIView):
    """Every API view: JSON in and out, a query parameter the operation does not take is a
    400 naming it, and the schema lists every status the shared machinery can answer."""

    parser_classes = [StrictJSONParser]
    renderer_classes = [JSONRenderer]
    filter_backends: list = []
    schema = LedgerAutoSchema()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # After authentication and the role check; a method the view lacks stays a 405.
        if request.method and hasattr(self, request.method.lower()):
            refuse_unknown_query_parameters(request)


@extend_schema(exclude=True)
class ApiRoot(LedgerView):
    """Where to start: the endpoints, the schema and the documentation."""

    ENDPOINTS = {
        "commodities": "commodity-list",
        "accounts": "account-list",
        "balances": "balance-list",
        "trial_balance": "trial-balance",
        "account_detail_report": "account-detail-report",
        "balance_sheet": "balance-sheet",
        "income_statement": "income-statement",
        "journal_entries": "journal-entry-list",
        "manual_journals": "manual-journal-list",
        "cancellations": "cancellation-list",
        "periods": "period-list",
        "audit_log": "audit-log",
        "integrity": "integrity",
        # The miner's world (holdings.api.urls, included by ledger.api.urls).
        "imports": "import-list",
        "prices": "price-list",
        "lots": "lot-list",
        "production": "production-list",
        "payouts": "payout-list",
        "remeasurements": "remeasurement-list",
        "production_report": "production-report",
        "pool_accounts": "pool-account-list",
        "wallets": "wallet-list",
        "sites": "site-list",
        "pools": "pool-list",
        "setup": "setup-load",
        "sales": "sale-list",
        "transfers": "transfer-list",
        "realized_gains_report": "realized-gains-report",
        "rollforward_report": "rollforward",
        "price_evidence_report": "price-evidence",
        "loan_schedule_report": "loan-schedule",
        "loans": "loan-list",
        "beancount_export": "beancount-export",
        "reconciliations": "reconciliation-list",
        "statements": "statement-list",
        "site_costs": "site-cost-list",
        "meter_readings": "meter-reading-list",
        "cost_to_mine_report": "cost-to-mine",
        "fixed_assets_report": "fixed-assets-report",
        "gross_profit_report": "gross-profit-report",
        "vendor_deposits": "vendor-deposit-list",
        "fixed_assets": "fixed-asset-list",
        "hpc_contracts": "hpc-contract-list",
        "hpc_revenue": "hpc-revenue-list",
        "schema": "schema",
        "docs": "docs",
    }

    def get(self, request: Request) -> Response:
        return Response(
            {name: reverse(route, request=request) for name, route in self.ENDPOINTS.items()}
        )


# --- reference data ----------------------------------------------------------------------


@extend_schema(tags=["reference"])
class CommodityList(LedgerView, generics.ListAPIView):
    queryset = Commodity.objects.order_by("code")
    serializer_class = CommoditySerializer

    @extend_schema(
        operation_id="commodities_list",
        summary="Commodities and their scale",
        responses={200: CommoditySerializer(many=True), **_errors(401, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["accounts"])
class AccountList(LedgerView, generics.ListAPIView):
    queryset = Account.objects.select_related("commodity", "parent").order_by("code")
    serializer_class = AccountSerializer
    filterset_class = AccountFilter
    filter_backends = [DjangoFilterBackend]

    @extend_schema(
        operation_id="accounts_list",
        summary="The chart of accounts",
        responses={200: AccountSerializer(many=True), **_errors(400, 401, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["accounts"])
class AccountDetail(LedgerView, generics.RetrieveAPIView):
    queryset = Account.objects.select_related("commodity", "parent")
    serializer_class = AccountSerializer
    lookup_field = "code"

    @extend_schema(
        operation_id="accounts_retrieve",
        summary="One account, by code",
        responses={200: AccountSerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# --- balances and reports ----------------------------------------------------------------


@extend_schema(tags=["balances"])
class AccountBalanceView(LedgerView):
    queryset = Account.objects.all()
    serializer_class = AccountBalanceSerializer
    lookup_field = "code"

    @extend_schema(
        operation_id="accounts_balance",
        summary="An account's balance, its subtree included, as of a UTC date",
        parameters=[AS_OF],
        responses={200: AccountBalanceSerializer, **_errors(400, 401, 403, 404)},
    )
    def get(self, request: Request, code: str) -> Response:
        account = self.get_object()
        as_of = _as_of(_validated_query(AsOfQuerySerializer, request))
        balance = selectors.account_balance(account=account, as_of=as_of)
        return Response(AccountBalanceSerializer(balance, context={"as_of": as_of}).data)


@extend_schema(tags=["balances"])
class BalanceListView(LedgerView):
    serializer_class = BalancesSerializer

    @extend_schema(
        operation_id="balances_list",
        summary="Every account's balance (each with its subtree) as of a UTC date",
        parameters=[BalancesQuerySerializer],
        responses={200: BalancesSerializer, **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = _validated_query(BalancesQuerySerializer, request)
        as_of = _as_of(query)
        commodity = query.get("commodity")
        rows = selectors.balances(
            as_of=as_of,
            type=query.get("type"),
            commodity=commodity.code if commodity is not None else None,
        )
        codes = {row.account_id: row.code for row in rows}
        data = BalancesSerializer(
            {"as_of": as_of, "rows": rows}, context={"codes_by_id": codes}
        ).data
        return Response(data)


@extend_schema(tags=["reports"])
class TrialBalanceView(CSVReportMixin, LedgerView):
    serializer_class = TrialBalanceSerializer
    csv_table = CSVTable(
        name="trial-balance",
        row=TrialBalanceRowSerializer(),
        parts=(
            Rows("rows"),
            Figures(
                "Total",
                {"debit": "total_debit", "credit": "total_credit", "value": "total_value"},
            ),
        ),
    )

    @extend_schema(
        operation_id="reports_trial_balance",
        summary="Trial balance as of a UTC date: every account with a balance",
        description="In CSV, the rows are followed by a Total row (debit, credit, value).",
        parameters=[AS_OF, FORMAT_PARAMETER],
        responses=report_responses(
            TrialBalanceSerializer, _errors(400, 401, 403, 404), "The trial balance."
        ),
    )
    def get(self, request: Request) -> Response:
        as_of = _as_of(_validated_query(AsOfQuerySerializer, request))
        self.name_csv(as_of)
        return Response(TrialBalanceSerializer(selectors.trial_balance(as_of=as_of)).data)


# --- journal -----------------------------------------------------------------------------


def _journal(**filters: Any) -> QuerySet[JournalEntry]:
    # selectors.entries returns a queryset (typed as an iterable).
    return cast(QuerySet[JournalEntry], selectors.entries(**filters)).select_related(
        "created_by", "approved_by", "reversed_by", "manual_journal"
    )


def _entry_data(entry_id: int) -> Any:
    return JournalEntrySerializer(_journal().get(pk=entry_id)).data


def idempotency_parameter(what: str) -> OpenApiParameter:
    return OpenApiParameter(
        IDEMPOTENCY_HEADER,
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description=(
            f"1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters; one {what} per "
            "key: the same request again answers 200 with it, other content under the key 409."
        ),
    )


def idempotency_key(request: Request) -> str | None:
    """The request's Idempotency-Key header, if it sent one (400 if it is malformed)."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if (
        not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH
        or not key.isascii()
        or not key.isprintable()
    ):
        raise serializers.ValidationError(
            {
                IDEMPOTENCY_HEADER: [
                    f"must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters."
                ]
            }
        )
    return key


ENTRY_EXAMPLE = OpenApiExample(
    "BTC bought for cash",
    request_only=True,
    value={
        "effective_date": "2025-10-01",
        "memo": "Bought 1 BTC",
        "postings": [
            {"account": "1210", "quantity": "1.00000000", "value": "95000.00"},
            {"account": "1000", "quantity": "-95000.00", "value": "-95000.00"},
        ],
    },
)


@extend_schema(tags=["journal"])
class JournalEntryListCreate(LedgerView):
    serializer_class = EntryCreateSerializer

    @extend_schema(
        operation_id="journal_entries_list",
        summary="The journal, newest first",
        parameters=[EntriesQuerySerializer],
        responses={200: JournalEntrySerializer(many=True), **_errors(400, 401, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        query = _validated_query(EntriesQuerySerializer, request)
        page = self.paginate_queryset(_journal(**query))
        return self.get_paginated_response(JournalEntrySerializer(page, many=True).data)

    @extend_schema(
        operation_id="journal_entries_create",
        summary="Request a manual entry: a manual journal, submitted for approval",
        description=(
            "A person's entry is never posted straight away: this creates a manual journal "
            "with these postings, checked as the ledger would post it now, and submits it. A "
            "finance approver who is not its maker approves it (POST manual-journals/{id}/"
            "approve/), and only then is it posted, as the journal's `entry`. Decimals are "
            "strings. Replaying an Idempotency-Key with the same payload answers 200 with the "
            "journal already created; with a different payload, 409."
        ),
        parameters=[
            idempotency_parameter("journal"),
        ],
        request=EntryCreateSerializer,
        examples=[ENTRY_EXAMPLE],
        responses={
            202: OpenApiResponse(
                ManualJournalSerializer,
                description="Submitted for approval (Location: the manual journal).",
            ),
            200: OpenApiResponse(
                ManualJournalSerializer, description="Idempotency-Key replayed: that journal."
            ),
            **_errors(400, 401, 403, 409, 415),
        },
    )
    def post(self, request: Request) -> Response:
        body = EntryCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return create_manual_journal(request, body.validated_data, submit=True)


# --- manual journals (shared with ledger.api.control_views) ------------------------------


def manual_journals() -> QuerySet[ManualJournal]:
    return ManualJournal.objects.select_related(
        "created_by", "approved_by", "rejected_by", "entry"
    ).prefetch_related("lines__account__commodity")


def journal_response(request: Request, journal_id: int, code: int) -> Response:
    data = ManualJournalSerializer(manual_journals().get(pk=journal_id)).data
    location = reverse("manual-journal-detail", args=[journal_id], request=request)
    return Response(data, status=code, headers={"Location": location})


def create_manual_journal(request: Request, data: dict[str, Any], *, submit: bool) -> Response:
    """A new manual journal (201, or 202 when submitted: posted once approved); the same
    Idempotency-Key again answers 200 with the journal it created."""
    journal, created = services.manual_journal_create(
        effective_date=data["effective_date"],
        memo=data["memo"],
        kind=data["kind"],
        postings=[
            PostingInput(account=p["account"], quantity=p["quantity"], value=p["value"])
            for p in data["postings"]
        ],
        by=request.user,
        idempotency_key=idempotency_key(request),
        submit=submit,
    )
    if not created:
        return journal_response(request, journal.pk, status.HTTP_200_OK)
    code = status.HTTP_202_ACCEPTED if submit else status.HTTP_201_CREATED
    return journal_response(request, journal.pk, code)


@extend_schema(tags=["journal"])
class JournalEntryDetail(LedgerView):
    serializer_class = JournalEntrySerializer

    @extend_schema(
        operation_id="journal_entries_retrieve",
        summary="One journal entry with its postings",
        responses={200: JournalEntrySerializer, **_errors(401, 403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(JournalEntrySerializer(get_object_or_404(_journal(), pk=pk)).data)
