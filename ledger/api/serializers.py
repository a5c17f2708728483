"""What the API reads and writes.

Decimals travel as strings in both directions: a JSON number may already have lost digits
when it reaches us, so quantities and values sent as numbers are refused. Output amounts are
written with exactly their commodity's decimal places ("1.50000000" BTC, "95000.00" USD).
Dates are UTC dates written YYYY-MM-DD. Unknown keys in a body are refused, so a misspelt
field is an error rather than silently ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ledger.dates import posting_date_problem, report_date_problem
from ledger.models import (
    QUANTITY_DIGITS,
    QUANTITY_PLACES,
    VALUE_DIGITS,
    VALUE_PLACES,
    Account,
    AccountType,
    Commodity,
    JournalEntry,
    ManualJournalKind,
    Posting,
)
from ledger.money import format_amount
from ledger.selectors import Balance, TrialBalance
from ledger.text import validate_printable_line, validate_printable_text

# Python's default decimal context keeps 28 significant digits: an amount with more would be
# rounded silently by the arithmetic that checks and reverses entries.
MAX_SIGNIFICANT_DIGITS = 28
MAX_MEMO_LENGTH = 1000
MAX_POSTINGS = 1000
KIND_PATTERN = r"^[a-z][a-z0-9_]{0,31}\Z"
# What a code can look like at all (see the models' validators); anything else is unknown
# without asking the database, which refuses some strings (NUL bytes) with an error.
ACCOUNT_CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
COMMODITY_CODE_PATTERN = re.compile(r"[A-Z][A-Z0-9]{1,9}")
RESERVED_KINDS = frozenset({"reversal"})
DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DECIMAL_PATTERN = re.compile(r"-?([0-9]+)(?:\.([0-9]+))?")
MAX_DECIMAL_STRING = 64


# --- fields ------------------------------------------------------------------------------


class StrictCharField(serializers.CharField):
    """Text that must arrive as a JSON string (DRF's CharField would turn 12 into "12"), and
    printable (ledger/text.py): no control, bidirectional or other format characters; tabs
    and line breaks only where `multiline` (memos, reasons)."""

    default_error_messages = {"not_a_string": "must be a string, not {kind}."}

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        self.multiline = multiline
        super().__init__(**kwargs)
        self.validators.append(validate_printable_text if multiline else validate_printable_line)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string", kind=_json_type(data))
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "type": "string",
        "format": "date",
        "pattern": f"^{DATE_PATTERN.pattern}$",
        "example": "2025-10-01",
        "description": "A UTC date written YYYY-MM-DD.",
    }
)
class UTCDateField(serializers.DateField):
    """A calendar date written YYYY-MM-DD, nothing else (no times, no week dates), inside
    the ledger's dates (ledger/dates.py): a report's between 1900-01-01 and 9998-12-31; with
    `posting=True` a date the ledger posts at, from the books' start to today plus the
    posting horizon."""

    default_error_messages = {
        "invalid": "must be a date written YYYY-MM-DD (UTC).",
        "not_a_date": "{value} is not a calendar date.",
        "out_of_range": "{problem}.",
    }

    def __init__(self, *, posting: bool = False, **kwargs: Any) -> None:
        self.posting = posting
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> date:
        if not isinstance(value, str) or not DATE_PATTERN.fullmatch(value):
            self.fail("invalid")
        try:
            day = date.fromisoformat(value)
        except ValueError:
            self.fail("not_a_date", value=value)
        problem = posting_date_problem(day) if self.posting else report_date_problem(day)
        if problem is not None:
            self.fail("out_of_range", problem=problem)
        return day


class DecimalStringField(serializers.Field):
    """A decimal number sent as a JSON string, e.g. "-1.50000000".

    Refused: JSON numbers, exponents, NaN and Infinity, more decimals than `max_places`, more
    digits before the point than the ledger stores, and more than 28 significant digits.
    """

    default_error_messages = {
        "not_a_string": (
            'send decimals as strings, e.g. "{example}", not as a JSON {kind} '
            "(a JSON number may be imprecise)."
        ),
        "invalid": (
            'must be a plain decimal such as "{example}": digits with an optional leading "-" '
            'and an optional "." followed by decimals (no exponent, NaN or Infinity).'
        ),
        "max_places": "{value} has {places} decimal places; at most {max_places} are allowed.",
        "max_whole_digits": (
            "{value} has {digits} digits before the decimal point; at most {max_digits} "
            "are allowed."
        ),
        "max_significant": (
            "{value} has {digits} significant digits; at most {max_digits} are allowed."
        ),
    }

    def __init__(
        self, *, max_places: int, max_whole_digits: int, example: str, **kwargs: Any
    ) -> None:
        self.max_places = max_places
        self.max_whole_digits = max_whole_digits
        self.example = example
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str):
            self.fail("not_a_string", example=self.example, kind=_json_type(data))
        match = DECIMAL_PATTERN.fullmatch(data) if len(data) <= MAX_DECIMAL_STRING else None
        if match is None:
            self.fail("invalid", example=self.example)
        try:
            amount = Decimal(data)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
            self.fail("invalid", example=self.example)
        shown = data if len(data) <= 40 else f"{data[:37]}..."
        # Counted on the text: Decimal.normalize() would round past 28 digits first.
        places = len((match.group(2) or "").rstrip("0"))
        if places > self.max_places:
            self.fail("max_places", value=shown, places=places, max_places=self.max_places)
        whole = len(match.group(1).lstrip("0"))
        if whole > self.max_whole_digits:
            self.fail(
                "max_whole_digits", value=shown, digits=whole, max_digits=self.max_whole_digits
            )
        if whole + places > MAX_SIGNIFICANT_DIGITS:
            self.fail(
                "max_significant",
                value=shown,
                digits=whole + places,
                max_digits=MAX_SIGNIFICANT_DIGITS,
            )
        return amount

    def to_representation(self, value: Any) -> str:  # pragma: no cover - input only
        return str(value)


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
        "example": "1.50000000",
        "description": (
            "A decimal as a string, at most 18 decimal places (no more than the account's "
            "commodity allows)."
        ),
    }
)
class QuantityField(DecimalStringField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            max_places=QUANTITY_PLACES,
            max_whole_digits=QUANTITY_DIGITS - QUANTITY_PLACES,
            example="1.50000000",
            **kwargs,
        )


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^-?[0-9]+(\.[0-9]{1,2})?$",
        "example": "95000.00",
        "description": "A USD amount as a string, at most 2 decimal places.",
    }
)
class ValueField(DecimalStringField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            max_places=VALUE_PLACES,
            max_whole_digits=VALUE_DIGITS - VALUE_PLACES,
            example="95000.00",
            **kwargs,
        )


def _json_type(data: Any) -> str:
    if data is None:
        return "null"
    if isinstance(data, bool):
        return "boolean"
    if isinstance(data, int | float):
        return "number"
    if isinstance(data, Mapping):
        return "object"
    if isinstance(data, list | tuple):
        return "array"
    return type(data).__name__


class CodeField(serializers.SlugRelatedField):
    """An object named by its code; a string that cannot be a code is unknown straight away."""

    def __init__(self, *, pattern: re.Pattern[str], what: str, **kwargs: Any) -> None:
        self.pattern = pattern
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("does_not_exist", f"there is no {what} {{value}}.")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and not self.pattern.fullmatch(data):
            shown = data if len(data) <= 40 else f"{data[:37]}..."
            self.fail("does_not_exist", slug_name=self.slug_field, value=repr(shown))
        return super().to_internal_value(data)


class StrictSerializer(serializers.Serializer):
    """A body whose keys must all be known: a misspelt field is an error, not a no-op."""

    default_error_messages = {"unknown_field": "is not a field of this request."}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                message = str(self.error_messages["unknown_field"])
                raise serializers.ValidationError(
                    {
                        key: [serializers.ErrorDetail(message, code="unknown_field")]
                        for key in unknown
                    }
                )
        return super().to_internal_value(data)


# --- input -------------------------------------------------------------------------------


class PostingInputSerializer(StrictSerializer):
    """One line of an entry: an account, a signed quantity and a signed USD value."""

    account = StrictCharField(
        max_length=32,
        validators=[
            RegexValidator(
                f"^{ACCOUNT_CODE_PATTERN.pattern}\\Z",
                "is not an account code: letters, digits, '.', '_' and '-'.",
            )
        ],
        help_text="Account code, e.g. 1210.",
    )
    quantity = QuantityField(
        help_text="Signed quantity in the account's commodity: debit positive, credit negative."
    )
    value = ValueField(help_text="Signed USD value, same sign as the quantity.")


class EntryCreateSerializer(StrictSerializer):
    """A balanced entry to post: decimals as strings, dates YYYY-MM-DD (UTC)."""

    effective_date = UTCDateField(posting=True, help_text="The UTC date the entry takes effect.")
    memo = StrictCharField(
        multiline=True, max_length=MAX_MEMO_LENGTH, help_text="What the entry records."
    )
    kind = StrictCharField(
        required=False,
        default="manual",
        max_length=32,
        validators=[
            RegexValidator(
                KIND_PATTERN,
                "must be lower-case letters, digits and underscores, starting with a letter.",
            )
        ],
        help_text="One of " + ", ".join(ManualJournalKind.values) + "; manual by default.",
    )
    postings = serializers.ListField(
        child=PostingInputSerializer(),
        min_length=2,
        max_length=MAX_POSTINGS,
        help_text="At least two postings; their values sum to zero.",
    )

    def validate_kind(self, value: str) -> str:
        if value in RESERVED_KINDS:
            raise serializers.ValidationError(
                f"'{value}' is reserved: an entry is undone by cancelling its document "
                "(POST cancellations/).",
                code="reserved",
            )
        if value not in ManualJournalKind.values:
            raise serializers.ValidationError(
                f"must be one of {', '.join(ManualJournalKind.values)}: the kinds the "
                "services post are theirs alone.",
                code="invalid_choice",
            )
        return value


class AsOfQuerySerializer(serializers.Serializer):
    as_of = UTCDateField(
        required=False, help_text="UTC date YYYY-MM-DD, end of day; today (UTC) by default."
    )


class BalancesQuerySerializer(AsOfQuerySerializer):
    type = serializers.ChoiceField(
        choices=AccountType.choices, required=False, help_text="Only accounts of this type."
    )
    commodity = CodeField(
        slug_field="code",
        queryset=Commodity.objects.all(),
        pattern=COMMODITY_CODE_PATTERN,
        what="commodity",
        required=False,
        help_text="Only accounts in this commodity (its code, e.g. BTC).",
    )


class EntriesQuerySerializer(serializers.Serializer):
    account = CodeField(
        slug_field="code",
        queryset=Account.objects.all(),
        pattern=ACCOUNT_CODE_PATTERN,
        what="account",
        required=False,
        help_text="Only entries with a posting to this account or one below it (its code).",
    )
    start = UTCDateField(required=False, help_text="Effective on or after this UTC date.")
    end = UTCDateField(required=False, help_text="Effective on or before this UTC date.")
    kind = serializers.RegexField(
        KIND_PATTERN,
        required=False,
        help_text="Only entries of this kind (manual, reversal, ...).",
        error_messages={"invalid": "must be lower-case letters, digits and underscores."},
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if start is not None and end is not None and start > end:
            raise serializers.ValidationError(
                {"end": [f"must not be before start ({start.isoformat()})."]}, code="invalid"
            )
        return attrs


# --- output ------------------------------------------------------------------------------

QUANTITY_SCHEMA = {"type": "string", "example": "1.50000000", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
USD_SCHEMA = {"type": "string", "example": "95000.00", "pattern": r"^-?[0-9]+\.[0-9]{2}$"}
QUANTITY_OUT = extend_schema_field(QUANTITY_SCHEMA)
USD_OUT = extend_schema_field(USD_SCHEMA)


class CommoditySerializer(serializers.ModelSerializer):
    class Meta:
        model = Commodity
        fields = ["code", "name", "decimal_places", "kind", "measurement_policy"]
        read_only_fields = fields


class AccountSerializer(serializers.ModelSerializer):
    normal_side = serializers.ChoiceField(choices=["debit", "credit"], read_only=True)
    commodity: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    parent = serializers.SlugRelatedField(  # type: ignore[assignment,var-annotated]  # a field
        slug_field="code", read_only=True, allow_null=True, help_text="The parent's code."
    )

    class Meta:
        model = Account
        fields = [
            "code",
            "name",
            "type",
            "normal_side",
            "commodity",
            "parent",
            "must_not_go_negative",
            "is_active",
        ]
        read_only_fields = fields


class PostingSerializer(serializers.ModelSerializer):
    account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    # The commodity's code is the posting's own column: no row fetched per posting.
    commodity = serializers.CharField(source="commodity_id", read_only=True)
    quantity = serializers.SerializerMethodField(
        help_text="Signed, with the commodity's decimal places."
    )
    value = serializers.SerializerMethodField(
        method_name="get_usd_value", help_text="Signed USD value, 2 decimal places."
    )

    class Meta:
        model = Posting
        fields = ["account", "commodity", "quantity", "value"]
        read_only_fields = fields

    @QUANTITY_OUT
    def get_quantity(self, posting: Posting) -> str:
        return format_amount(posting.quantity, posting.scale)

    @USD_OUT
    def get_usd_value(self, posting: Posting) -> str:
        return format_amount(posting.value, VALUE_PLACES)


class JournalEntrySerializer(serializers.ModelSerializer):
    reversal_of: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The entry this one reverses."
    )
    reversed_by = serializers.SerializerMethodField(help_text="The entry that reverses this one.")
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Who posted it."
    )
    approved_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Who approved it."
    )
    manual_journal = serializers.SerializerMethodField(
        help_text="The manual journal this entry posted, once approved."
    )
    postings = PostingSerializer(many=True, read_only=True)

    class Meta:
        model = JournalEntry
        fields = [
            "id",
            "sequence",
            "effective_date",
            "memo",
            "kind",
            "status",
            "idempotency_key",
            "reversal_of",
            "reversed_by",
            "created_by",
            "approved_by",
            "manual_journal",
            "created_at",
            "postings",
        ]
        read_only_fields = fields

    def get_reversed_by(self, entry: JournalEntry) -> int | None:
        try:
            return entry.reversed_by.pk  # type: ignore[attr-defined]
        except ObjectDoesNotExist:
            return None

    def get_manual_journal(self, entry: JournalEntry) -> int | None:
        try:
            return entry.manual_journal.pk  # type: ignore[attr-defined]
        except ObjectDoesNotExist:
            return None


class _BalanceBase(serializers.Serializer):
    account = serializers.CharField(source="code", help_text="Account code.")
    name = serializers.CharField()
    commodity = serializers.CharField()
    quantity = serializers.SerializerMethodField(
        help_text="Signed quantity with the commodity's decimal places."
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


class AccountBalanceSerializer(_BalanceBase):
    """One account and its whole subtree as of the end of a UTC date."""

    as_of = serializers.SerializerMethodField()

    def get_as_of(self, row: Balance) -> date:
        return self.context["as_of"]


class BalanceRowSerializer(_BalanceBase):
    type = serializers.ChoiceField(choices=AccountType.choices)
    normal_side = serializers.ChoiceField(choices=["debit", "credit"])
    parent = serializers.SerializerMethodField(  # type: ignore[assignment]  # a field
        help_text="The parent's code."
    )

    def get_parent(self, row: Balance) -> str | None:
        if row.parent_id is None:
            return None
        return self.context.get("codes_by_id", {}).get(row.parent_id)


class BalancesSerializer(serializers.Serializer):
    """Every account (each including its subtree) as of the end of a UTC date."""

    # Instance: {"as_of": date, "rows": [Balance]}; context["codes_by_id"] names parents.

    as_of = serializers.DateField()
    rows = BalanceRowSerializer(many=True)


class TrialBalanceRowSerializer(_BalanceBase):
    type = serializers.ChoiceField(choices=AccountType.choices)
    debit = serializers.SerializerMethodField(help_text="The value when positive, else 0.00.")
    credit = serializers.SerializerMethodField(help_text="Minus the value when negative.")

    @USD_OUT
    def get_debit(self, row: Balance) -> str:
        return format_amount(row.debit, VALUE_PLACES)

    @USD_OUT
    def get_credit(self, row: Balance) -> str:
        return format_amount(row.credit, VALUE_PLACES)


class TrialBalanceSerializer(serializers.Serializer):
    """Every account with a balance, on its own postings; the values sum to zero."""

    as_of = serializers.DateField()
    rows = TrialBalanceRowSerializer(many=True)
    total_debit = serializers.SerializerMethodField()
    total_credit = serializers.SerializerMethodField()
    total_value = serializers.SerializerMethodField(help_text='Always "0.00".')

    @USD_OUT
    def get_total_debit(self, report: TrialBalance) -> str:
        return format_amount(report.total_debit, VALUE_PLACES)

    @USD_OUT
    def get_total_credit(self, report: TrialBalance) -> str:
        return format_amount(report.total_credit, VALUE_PLACES)

    @USD_OUT
    def get_total_value(self, report: TrialBalance) -> str:
        return format_amount(report.total_value, VALUE_PLACES)


# --- errors (for the schema) -------------------------------------------------------------


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="Path such as postings[0].value.")
    code = serializers.CharField()
    detail = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable: required, unknown_account, ...")
    detail = serializers.CharField(help_text="What is wrong, in words.")
    field = serializers.CharField(
        required=False, help_text="The field at fault, e.g. postings[1].quantity."
    )
    errors = ErrorItemSerializer(  # type: ignore[assignment]  # a field, not .errors
        many=True, required=False, help_text="Every validation problem found."
    )
