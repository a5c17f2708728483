"""What the ledger's statements read and write: account detail, balance sheet and income
statement. The API's conventions hold: decimals as strings with exactly their commodity's
places (USD values with two), dates YYYY-MM-DD in UTC.

Statements show each amount as presented (`amount`): positive on the account type's normal
side, so liabilities, equity and income read positive; `value` keeps the ledger's sign
(debit positive), as the trial balance does.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ledger.api.serializers import (
    ACCOUNT_CODE_PATTERN,
    QUANTITY_OUT,
    USD_OUT,
    CodeField,
    UTCDateField,
)
from ledger.models import VALUE_PLACES, Account, AccountType, Posting
from ledger.money import format_amount
from ledger.selectors import Balance, presented

# --- queries -----------------------------------------------------------------------------


def check_range(attrs: dict[str, Any]) -> dict[str, Any]:
    start, end = attrs.get("start"), attrs.get("end")
    if start is not None and end is not None and start > end:
        raise serializers.ValidationError(
            {"end": [f"must not be before start ({start.isoformat()})."]}, code="invalid"
        )
    return attrs


class PeriodQuerySerializer(serializers.Serializer):
    start = UTCDateField(help_text="The first UTC date of the period (included).")
    end = UTCDateField(help_text="The last UTC date of the period (included).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return check_range(attrs)


class AccountDetailQuerySerializer(PeriodQuerySerializer):
    account = CodeField(
        slug_field="code",
        queryset=Account.objects.all(),
        pattern=ACCOUNT_CODE_PATTERN,
        what="account",
        help_text="The account (its code); the accounts below it are included.",
    )


# --- output ------------------------------------------------------------------------------


class QuantityValueSerializer(serializers.Serializer):
    """A balance or a movement: quantity in the account's commodity, value in USD."""

    quantity = serializers.SerializerMethodField(
        help_text="Signed, with the commodity's decimal places."
    )
    value = serializers.SerializerMethodField(
        method_name="get_usd_value", help_text="Signed USD value, 2 decimal places."
    )

    @QUANTITY_OUT
    def get_quantity(self, row: Balance) -> str:
        return format_amount(row.quantity, row.scale)

    @USD_OUT
    def get_usd_value(self, row: Balance) -> str:
        return format_amount(row.value, VALUE_PLACES)


class AccountDetailPostingSerializer(serializers.Serializer):
    """One posting with the account's balance after it (the opening balance plus every
    posting of the period up to this one)."""

    entry = serializers.IntegerField(source="entry_id", help_text="The journal entry's id.")
    sequence = serializers.IntegerField(
        source="entry.sequence", allow_null=True, help_text="The entry's sequence number."
    )
    effective_date = serializers.DateField()
    kind = serializers.CharField(source="entry.kind", help_text="The entry's kind.")
    memo = serializers.CharField(source="entry.memo")
    account = serializers.CharField(
        source="account.code", help_text="The account posted to (the account or one below it)."
    )
    quantity = serializers.SerializerMethodField(help_text="Signed: debit positive.")
    value = serializers.SerializerMethodField(
        method_name="get_usd_value", help_text="Signed USD value."
    )
    running_quantity = serializers.SerializerMethodField(help_text="Balance after the posting.")
    running_value = serializers.SerializerMethodField(help_text="USD balance after the posting.")

    @QUANTITY_OUT
    def get_quantity(self, posting: Posting) -> str:
        return format_amount(posting.quantity, posting.scale)

    @USD_OUT
    def get_usd_value(self, posting: Posting) -> str:
        return format_amount(posting.value, VALUE_PLACES)

    @QUANTITY_OUT
    def get_running_quantity(self, posting: Any) -> str:
        return format_amount(posting.running_quantity, posting.scale)

    @USD_OUT
    def get_running_value(self, posting: Any) -> str:
        return format_amount(posting.running_value, VALUE_PLACES)


class AccountDetailSerializer(serializers.Serializer):
    """An account over a period: opening balance, its postings (paginated in JSON), the
    period's movement and the closing balance."""

    # Instance: {"detail": AccountDetail, "count", "next", "previous", "results": postings}.

    account = serializers.CharField(source="detail.account.code", help_text="Account code.")
    name = serializers.CharField(source="detail.account.name")
    type = serializers.ChoiceField(source="detail.account.type", choices=AccountType.choices)
    commodity = serializers.CharField(source="detail.account.commodity_id")
    start = serializers.DateField(source="detail.start")
    end = serializers.DateField(source="detail.end")
    opening = QuantityValueSerializer(
        source="detail.opening", help_text="At the end of the day before `start`."
    )
    movement = QuantityValueSerializer(
        source="detail.movement", help_text="Every posting of the period: closing less opening."
    )
    closing = QuantityValueSerializer(source="detail.closing", help_text="At the end of `end`.")
    count = serializers.IntegerField(help_text="Postings in the period.")
    next = serializers.URLField(allow_null=True, help_text="The next page, if any.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, if any.")
    results = AccountDetailPostingSerializer(
        many=True, help_text="Oldest first: by date, entry sequence, posting."
    )


class StatementRowSerializer(serializers.Serializer):
    """A top-level account of the chart, with every account below it."""

    account = serializers.CharField(source="code", help_text="Account code.")
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=AccountType.choices)
    commodity = serializers.CharField()
    quantity = serializers.SerializerMethodField(help_text="In the account's commodity.")
    value = serializers.SerializerMethodField(
        method_name="get_usd_value", help_text="Signed USD value: debit positive."
    )
    amount = serializers.SerializerMethodField(
        help_text="USD as presented: positive on the type's normal side."
    )

    @QUANTITY_OUT
    def get_quantity(self, row: Balance) -> str:
        return format_amount(row.quantity, row.scale)

    @USD_OUT
    def get_usd_value(self, row: Balance) -> str:
        return format_amount(row.value, VALUE_PLACES)

    @USD_OUT
    def get_amount(self, row: Balance) -> str:
        return format_amount(presented(row), VALUE_PLACES)


class StatementSectionSerializer(serializers.Serializer):
    rows = StatementRowSerializer(
        many=True, help_text="Top-level accounts with a balance, by code."
    )
    total = serializers.SerializerMethodField(help_text="The rows' amounts added up (USD).")

    @USD_OUT
    def get_total(self, section: Any) -> str:
        return format_amount(section.total, VALUE_PLACES)


class BalanceSheetSerializer(serializers.Serializer):
    """Assets = liabilities + equity + undistributed income, exactly."""

    as_of = serializers.DateField()
    assets = StatementSectionSerializer()
    liabilities = StatementSectionSerializer()
    equity = StatementSectionSerializer(help_text="The equity accounts.")
    undistributed_income = serializers.SerializerMethodField(
        help_text="Income less expenses since the books began: the chart has no closing "
        "entries, so the period's results are still in the income and expense accounts."
    )
    total_equity = serializers.SerializerMethodField(
        help_text="Equity accounts plus undistributed income."
    )
    total_liabilities_and_equity = serializers.SerializerMethodField(
        help_text="Equals assets.total."
    )
    balances = serializers.BooleanField(help_text="Always true: assets equal the other side.")

    @USD_OUT
    def get_undistributed_income(self, sheet: Any) -> str:
        return format_amount(sheet.undistributed_income, VALUE_PLACES)

    @USD_OUT
    def get_total_equity(self, sheet: Any) -> str:
        return format_amount(sheet.total_equity, VALUE_PLACES)

    @USD_OUT
    def get_total_liabilities_and_equity(self, sheet: Any) -> str:
        return format_amount(sheet.total_liabilities_and_equity, VALUE_PLACES)


class IncomeStatementSerializer(serializers.Serializer):
    """Income less expenses of a period: the net income."""

    start = serializers.DateField()
    end = serializers.DateField()
    income = StatementSectionSerializer(help_text="Income accounts: what they earned.")
    expenses = StatementSectionSerializer(help_text="Expense accounts: what they cost.")
    net_income = serializers.SerializerMethodField(
        help_text="income.total less expenses.total; a loss is negative."
    )

    @USD_OUT
    def get_net_income(self, statement: Any) -> str:
        return format_amount(statement.net_income, VALUE_PLACES)
