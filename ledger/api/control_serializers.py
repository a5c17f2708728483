"""What the API reads and writes for the ledger's controls: manual journals (maker-checker),
period closes and the audit log. Same conventions as ledger.api.serializers: decimals as
strings, dates YYYY-MM-DD (UTC), unknown keys refused."""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from ledger import audit
from ledger.api.serializers import (
    QUANTITY_OUT,
    USD_OUT,
    EntryCreateSerializer,
    StrictCharField,
    StrictSerializer,
    UTCDateField,
)
from ledger.models import (
    VALUE_PLACES,
    AuditAction,
    AuditLog,
    ManualJournal,
    ManualJournalLine,
    ManualJournalStatus,
    PeriodClose,
)
from ledger.money import format_amount
from ledger.selectors import break_reasons

MAX_REASON_LENGTH = 2000


def username(help_text: str = "") -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text=help_text
    )


class StrictBooleanField(serializers.BooleanField):
    """true or false as JSON booleans, nothing else ("yes", 1...)."""

    default_error_messages = {"invalid": "must be true or false (a JSON boolean)."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


# --- manual journals ---------------------------------------------------------------------


class ManualJournalCreateSerializer(EntryCreateSerializer):
    """A manual journal's date, memo, kind and postings (as a journal entry's), and whether to
    submit it for approval at once."""

    submit = StrictBooleanField(
        required=False,
        default=False,
        help_text="Submit for approval at once (default: keep it a draft).",
    )


class ManualJournalUpdateSerializer(StrictSerializer):
    """What may change on a draft: any of its date, memo, kind and postings (which replace
    the draft's postings)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = {}
        for name, field in EntryCreateSerializer().get_fields().items():
            optional = copy.deepcopy(field)
            optional.required, optional.default = False, empty
            fields[name] = optional
        return fields

    def validate_kind(self, value: str) -> str:
        return EntryCreateSerializer().validate_kind(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError(
                "send at least one of effective_date, memo, kind, postings.", code="empty"
            )
        return attrs


class RejectSerializer(StrictSerializer):
    reason = StrictCharField(
        multiline=True,
        max_length=MAX_REASON_LENGTH,
        help_text="Why the journal is rejected (required).",
    )


class EmptySerializer(StrictSerializer):
    """No body, or {}."""


class ManualJournalLineSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.code", read_only=True)
    commodity = serializers.CharField(source="account.commodity_id", read_only=True)
    quantity = serializers.SerializerMethodField(
        help_text="Signed, with the commodity's decimal places."
    )
    value = serializers.SerializerMethodField(
        method_name="get_usd_value", help_text="Signed USD value, 2 decimal places."
    )

    class Meta:
        model = ManualJournalLine
        fields = ["account", "commodity", "quantity", "value"]
        read_only_fields = fields

    @QUANTITY_OUT
    def get_quantity(self, line: ManualJournalLine) -> str:
        return format_amount(line.quantity, line.account.commodity.decimal_places)

    @USD_OUT
    def get_usd_value(self, line: ManualJournalLine) -> str:
        return format_amount(line.value, VALUE_PLACES)


class ManualJournalSerializer(serializers.ModelSerializer):
    postings = ManualJournalLineSerializer(source="lines", many=True, read_only=True)
    created_by: serializers.SlugRelatedField = username("Its maker.")
    approved_by: serializers.SlugRelatedField = username()
    rejected_by: serializers.SlugRelatedField = username()
    entry: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The journal entry posted on approval."
    )
    entry_sequence = serializers.SerializerMethodField(
        help_text="That entry's sequence number in the journal."
    )

    class Meta:
        model = ManualJournal
        fields = [
            "id",
            "status",
            "effective_date",
            "memo",
            "kind",
            "idempotency_key",
            "postings",
            "created_by",
            "created_at",
            "updated_at",
            "submitted_at",
            "approved_by",
            "approved_at",
            "rejected_by",
            "rejected_at",
            "rejection_reason",
            "entry",
            "entry_sequence",
        ]
        read_only_fields = fields

    def get_entry_sequence(self, journal: ManualJournal) -> int | None:
        return journal.entry.sequence if journal.entry is not None else None


class ManualJournalQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=ManualJournalStatus.choices, required=False, help_text="Only in this state."
    )
    created_by = serializers.RegexField(
        r"^[\w.@+-]{1,150}\Z",
        required=False,
        help_text="Only the journals of this maker (username).",
        error_messages={"invalid": "is not a username."},
    )


# --- periods -----------------------------------------------------------------------------


class PeriodCloseSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField(help_text="closed, or reopened.")
    closed_by: serializers.SlugRelatedField = username()
    reopened_by: serializers.SlugRelatedField = username()

    class Meta:
        model = PeriodClose
        fields = [
            "id",
            "through",
            "state",
            "closed_by",
            "closed_at",
            "reopened_by",
            "reopened_at",
            "reopen_reason",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "enum": ["closed", "reopened"]})
    def get_state(self, close: PeriodClose) -> str:
        return "closed" if close.is_open else "reopened"


class PeriodCloseCreateSerializer(StrictSerializer):
    through = UTCDateField(
        help_text="Close the books through this UTC date: no entry may be dated on or before it."
    )


class PeriodReopenSerializer(StrictSerializer):
    reason = StrictCharField(
        multiline=True,
        max_length=MAX_REASON_LENGTH,
        help_text="Why the period is reopened (required).",
    )


# --- the audit log -----------------------------------------------------------------------

TABLE_PATTERN = re.compile(r"[a-z_][a-z0-9_]{0,62}")
MODEL_PATTERN = re.compile(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*")


class AuditLogQuerySerializer(serializers.Serializer):
    table = serializers.RegexField(
        f"^{TABLE_PATTERN.pattern}\\Z",
        required=False,
        help_text="Only rows of this table (e.g. holdings_lot).",
        error_messages={"invalid": "is not a table name."},
    )
    model = serializers.CharField(
        required=False,
        max_length=100,
        help_text="Only rows of this model (app.model, e.g. holdings.lot); the same as table.",
    )
    record = serializers.CharField(
        required=False, max_length=200, help_text="Only this record (its key, e.g. its id)."
    )
    actor = serializers.CharField(
        required=False,
        max_length=200,
        help_text=(
            "Only this actor: a username, or user:<username>, task:<name>, command:<name>, "
            "db:<role>."
        ),
    )
    action = serializers.ChoiceField(choices=AuditAction.choices, required=False)
    start = UTCDateField(required=False, help_text="Changes on or after this UTC date.")
    end = UTCDateField(required=False, help_text="Changes on or before this UTC date.")

    def validate_model(self, value: str) -> str:
        label = value.lower()
        table = audit.table_of(label) if MODEL_PATTERN.fullmatch(label) else None
        if table is None:
            raise serializers.ValidationError(f"there is no model {value!r}.", code="unknown")
        return table

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start"), attrs.get("end")
        if start is not None and end is not None and start > end:
            raise serializers.ValidationError(
                {"end": [f"must not be before start ({start.isoformat()})."]}, code="invalid"
            )
        table, model_table = attrs.get("table"), attrs.pop("model", None)
        if model_table is not None:
            if table is not None and table != model_table:
                raise serializers.ValidationError(
                    {"model": [f"is table {model_table}, not {table}."]}, code="invalid"
                )
            attrs["table"] = model_table
        return attrs


def _plain(value: Any) -> Any:
    """JSON as stored, decimals as strings (never floats)."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


ROW_VALUES = extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "additionalProperties": True,
        "description": "Column -> value (decimals as strings).",
    }
)


class AuditLogSerializer(serializers.ModelSerializer):
    table = serializers.CharField(source="table_name")
    model = serializers.SerializerMethodField(help_text="app.model, when the table is a model's.")
    old = serializers.SerializerMethodField(
        help_text="Deleted: the row; changed: the columns that changed, before."
    )
    new = serializers.SerializerMethodField(
        help_text="Created: the row; changed: the columns that changed, after."
    )

    class Meta:
        model = AuditLog
        fields = [
            "id",
            "at",
            "transaction_id",
            "table",
            "model",
            "record_id",
            "action",
            "actor",
            "actor_user_id",
            "context",
            "old",
            "new",
        ]
        read_only_fields = fields

    def get_model(self, row: AuditLog) -> str | None:
        return audit.model_label(row.table_name)

    @ROW_VALUES
    def get_old(self, row: AuditLog) -> dict[str, Any] | None:
        return _plain(row.old)

    @ROW_VALUES
    def get_new(self, row: AuditLog) -> dict[str, Any] | None:
        return _plain(row.new)


# --- the sealed journal ------------------------------------------------------------------

# The journal's reasons, then those of the chains sealed with it.
_REASONS = break_reasons()


class JournalBreakSerializer(serializers.Serializer):
    sequence = serializers.IntegerField(
        allow_null=True, help_text="Where the chain breaks: the entry sequence."
    )
    entry_id = serializers.IntegerField(
        allow_null=True, help_text="The entry concerned (the one sealed there)."
    )
    reason = serializers.ChoiceField(
        choices=list(_REASONS.items()),
        help_text="; ".join(f"`{code}`: {words}" for code, words in _REASONS.items()),
    )
    detail = serializers.CharField(help_text="What is wrong, in words.")
    chain = serializers.CharField(
        help_text="The chain that breaks: `journal`, or a chain sealed with it "
        "(`subledgers`: lots, lot movements, disposals, loan events)."
    )
    record = serializers.CharField(
        allow_null=True,
        help_text="The kind of row concerned in a subledger (`lot`, `lot_movement`, "
        "`disposal`, `loan_event`), or null.",
    )
    record_id = serializers.IntegerField(allow_null=True, help_text="That row's id, or null.")


class ChainVerificationSerializer(serializers.Serializer):
    """A chain sealed with the journal, checked against its seals."""

    chain = serializers.CharField(
        help_text="`subledgers`: lots, lot movements, disposals, "
        "loan events, sealed entry by entry after the journal."
    )
    ok = serializers.BooleanField(help_text="No break in this chain.")
    entries_checked = serializers.IntegerField(
        help_text="Sealed entries whose rows were hashed again and found as sealed."
    )
    sealed_through = serializers.IntegerField(
        allow_null=True, help_text="The sequence of this chain's last seal."
    )
    head_hash = serializers.CharField(help_text="This chain's last seal's hash.")
    unsealed_entries = serializers.IntegerField(
        help_text="Entries after this chain's last seal, waiting for the next sealing run."
    )
    first_break = JournalBreakSerializer(
        allow_null=True, help_text="This chain's first break, or null."
    )


class JournalVerificationSerializer(serializers.Serializer):
    """The journal checked against its hash chain (selectors.journal_verify)."""

    ok = serializers.BooleanField(
        help_text="No break: every sealed entry, and every subledger row of a sealed entry, "
        "matches its seal."
    )
    entries_checked = serializers.IntegerField(
        help_text="Sealed entries hashed again and found as sealed (up to the first break)."
    )
    sealed_through = serializers.IntegerField(
        allow_null=True, help_text="The sequence of the last seal (null: nothing sealed yet)."
    )
    head_hash = serializers.CharField(
        help_text="The last seal's hash (hex SHA-256; 64 zeros before the first seal). Keep "
        "it outside the database to check later that the chain still reaches it."
    )
    unsealed_entries = serializers.IntegerField(
        help_text="Entries after the last seal, waiting for the next sealing run."
    )
    first_break = JournalBreakSerializer(
        allow_null=True,
        help_text="The first break in sequence order, of the journal or of a chain sealed "
        "with it, or null.",
    )
    chains = ChainVerificationSerializer(
        many=True,
        help_text="The chains sealed with the journal (the subledgers), each checked against "
        "its seals; `ok` is false when any of them breaks.",
    )
