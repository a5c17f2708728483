"""The ledger's statements: account detail, balance sheet, income statement. Read-only, every
role reads (the default permission class); JSON by default, CSV with `?format=csv`
(ledger.api.renderers)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from ledger import selectors
from ledger.api.renderers import (
    FORMAT_PARAMETER,
    PAGE_PARAMETERS,
    CSVReportMixin,
    CSVTable,
    Figures,
    Rows,
    report_responses,
)
from ledger.api.report_serializers import (
    AccountDetailPostingSerializer,
    AccountDetailQuerySerializer,
    AccountDetailSerializer,
    BalanceSheetSerializer,
    IncomeStatementSerializer,
    PeriodQuerySerializer,
    StatementRowSerializer,
)
from ledger.api.serializers import AsOfQuerySerializer
from ledger.api.views import AS_OF, LedgerView, _as_of, _errors, _validated_query

PAGE_PARAMETERS_NOTE = (
    " In JSON the postings are paginated (`page`, `page_size`); the CSV holds every posting "
    "of the period, between an opening balance row and the total and closing balance rows."
)


class ReportView(CSVReportMixin, LedgerView):
    """A read-only report in JSON or CSV."""


@extend_schema(tags=["reports"])
class AccountDetailView(ReportView):
    serializer_class = AccountDetailSerializer
    csv_table = CSVTable(
        name="account-detail",
        row=AccountDetailPostingSerializer(),
        label_column="memo",
        parts=(
            Figures(
                "Opening balance",
                {"running_quantity": "opening.quantity", "running_value": "opening.value"},
            ),
            Rows("results"),
            Figures("Total", {"quantity": "movement.quantity", "value": "movement.value"}),
            Figures(
                "Closing balance",
                {"running_quantity": "closing.quantity", "running_value": "closing.value"},
            ),
        ),
    )

    @extend_schema(
        operation_id="reports_account_detail",
        summary="Account detail for a period: opening balance, every posting, closing balance",
        description=(
            "The account and every account below it, from `start` to `end` (UTC dates, both "
            "included): the balance at the end of the day before `start`, each posting "
            "(entry, sequence, date, memo, quantity, USD value) with the running balance "
            "after it, the period's movement and the balance at the end of `end`."
            + PAGE_PARAMETERS_NOTE
        ),
        parameters=[AccountDetailQuerySerializer, *PAGE_PARAMETERS, FORMAT_PARAMETER],
        responses=report_responses(
            AccountDetailSerializer,
            _errors(400, 401, 403, 404),
            "Opening balance, a page of postings, movement and closing balance.",
        ),
    )
    def get(self, request: Request) -> Response:
        query = _validated_query(AccountDetailQuerySerializer, request)
        detail = selectors.account_detail(
            account=query["account"], start=query["start"], end=query["end"]
        )
        self.name_csv(detail.account.code, query["start"], query["end"])
        page = self.paginate_queryset(detail.postings)
        if page is None:  # CSV: the whole period
            rows: Any = list(detail.postings)
            body = {"count": len(rows), "next": None, "previous": None, "results": rows}
        else:
            paginator: Any = self.paginator
            body = {
                "count": paginator.page.paginator.count,
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
                "results": page,
            }
        return Response(AccountDetailSerializer({"detail": detail, **body}).data)


@extend_schema(tags=["reports"])
class BalanceSheetView(ReportView):
    serializer_class = BalanceSheetSerializer
    csv_table = CSVTable(
        name="balance-sheet",
        row=StatementRowSerializer(),
        label_column="name",
        parts=(
            Rows("assets.rows"),
            Figures("Total assets", {"amount": "assets.total"}),
            Rows("liabilities.rows"),
            Figures("Total liabilities", {"amount": "liabilities.total"}),
            Rows("equity.rows"),
            Figures("Total equity accounts", {"amount": "equity.total"}),
            Figures(
                "Undistributed income (no closing entries)", {"amount": "undistributed_income"}
            ),
            Figures("Total equity", {"amount": "total_equity"}),
            Figures("Total liabilities and equity", {"amount": "total_liabilities_and_equity"}),
        ),
    )

    @extend_schema(
        operation_id="reports_balance_sheet",
        summary="Balance sheet at the end of a UTC date",
        description=(
            "Assets, liabilities and equity by top-level account of the chart (each with the "
            "accounts below it), with their totals in USD. Amounts are presented on the "
            "account type's normal side (`amount`); `value` keeps the ledger's sign. The "
            "chart has no closing entries, so income less expenses since the books began is "
            "shown as `undistributed_income`, part of equity: assets = liabilities + equity "
            "accounts + undistributed income, to the cent."
        ),
        parameters=[AS_OF, FORMAT_PARAMETER],
        responses=report_responses(
            BalanceSheetSerializer, _errors(400, 401, 403, 404), "The balance sheet."
        ),
    )
    def get(self, request: Request) -> Response:
        as_of = _as_of(_validated_query(AsOfQuerySerializer, request))
        self.name_csv(as_of)
        sheet = selectors.balance_sheet(as_of=as_of)
        return Response(BalanceSheetSerializer(sheet).data)


@extend_schema(tags=["reports"])
class IncomeStatementView(ReportView):
    serializer_class = IncomeStatementSerializer
    csv_table = CSVTable(
        name="income-statement",
        row=StatementRowSerializer(),
        label_column="name",
        parts=(
            Rows("income.rows"),
            Figures("Total income", {"amount": "income.total"}),
            Rows("expenses.rows"),
            Figures("Total expenses", {"amount": "expenses.total"}),
            Figures("Net income", {"amount": "net_income"}),
        ),
    )

    @extend_schema(
        operation_id="reports_income_statement",
        summary="Income statement for a period",
        description=(
            "Income and expenses from `start` to `end` (UTC dates, both included) by "
            "top-level account of the chart, presented positive on their normal side, and "
            "the net income (income less expenses). Net income equals the change of the "
            "balance sheet's undistributed income over the period."
        ),
        parameters=[PeriodQuerySerializer, FORMAT_PARAMETER],
        responses=report_responses(
            IncomeStatementSerializer, _errors(400, 401, 403, 404), "The income statement."
        ),
    )
    def get(self, request: Request) -> Response:
        query = _validated_query(PeriodQuerySerializer, request)
        self.name_csv(query["start"], query["end"])
        statement = selectors.income_statement(start=query["start"], end=query["end"])
        return Response(IncomeStatementSerializer(statement).data)
