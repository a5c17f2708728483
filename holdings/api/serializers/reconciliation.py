"""What the reconciliation API shows: runs with their items, and the statements they use.
Amounts travel as strings, written with the scale of the item's commodity."""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from holdings.api.serializers.common import ImportErrorSerializer
from holdings.models import (
    ReconciliationItem,
    ReconciliationKind,
    ReconciliationRun,
    Statement,
    StatementKind,
    StatementUpload,
)
from holdings.services.production import size_text, too_large
from ledger.api.serializers import QUANTITY_OUT, StrictSerializer, UTCDateField
from ledger.models import Commodity
from ledger.money import decimal_places, format_amount


@cache
def _scale(commodity: str) -> int | None:
    return Commodity.objects.filter(code=commodity).values_list("decimal_places", flat=True).first()


def _shown(amount: Decimal | None, commodity: str) -> str | None:
    """The amount at its commodity's scale ("0.50000000" BTC); as stored when it has more
    places than that (a tampered figure is shown as found, never rounded)."""
    if amount is None:
        return None
    scale = _scale(commodity) if commodity else None
    if scale is None or decimal_places(amount) > scale:
        return f"{amount:f}"
    return format_amount(amount, scale)


@QUANTITY_OUT
class AmountField(serializers.Field):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def get_attribute(self, instance: ReconciliationItem) -> Any:
        return (getattr(instance, str(self.field_name)), instance.commodity)

    def to_representation(self, value: tuple[Decimal | None, str]) -> str | None:
        return _shown(*value)


class ReconciliationItemSerializer(serializers.ModelSerializer):
    """One thing compared. `difference` is the source's figure less the ledger's."""

    ledger_amount = AmountField(allow_null=True, help_text="What the ledger says.")
    source_amount = AmountField(allow_null=True, help_text="What the source says.")
    difference = AmountField(allow_null=True, help_text="Source less ledger.")
    tolerance = AmountField(help_text="A difference up to this matches.")

    class Meta:
        model = ReconciliationItem
        fields = [
            "id",
            "subject_type",
            "subject",
            "checked",
            "status",
            "commodity",
            "ledger_amount",
            "source_amount",
            "difference",
            "tolerance",
            "source",
            "message",
            "details",
        ]
        read_only_fields = fields


class ReconciliationRunSerializer(serializers.HyperlinkedModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="reconciliation-detail")
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = ReconciliationRun
        fields = [
            "id",
            "url",
            "kind",
            "as_of",
            "status",
            "matched",
            "breaks",
            "unchecked",
            "sources",
            "started_at",
            "finished_at",
            "created_by",
        ]
        read_only_fields = fields


class ReconciliationRunDetailSerializer(ReconciliationRunSerializer):
    """A run with every item it compared, breaks first."""

    items = serializers.SerializerMethodField()

    class Meta(ReconciliationRunSerializer.Meta):
        fields = [*ReconciliationRunSerializer.Meta.fields, "items"]
        read_only_fields = fields

    @extend_schema_field(ReconciliationItemSerializer(many=True))
    def get_items(self, run: ReconciliationRun) -> list[dict[str, Any]]:
        order = {
            "unmatched": 0,
            "unexplained": 1,
            "unreachable": 2,
            "no_source": 3,
            "not_on_chain": 4,
        }
        items = sorted(run.items.all(), key=lambda item: (order.get(item.status, 9), item.pk))
        return ReconciliationItemSerializer(items, many=True).data  # type: ignore[return-value]


class ReconcileSerializer(StrictSerializer):
    """A reconciliation to run now."""

    as_of = UTCDateField(help_text="The UTC day to reconcile (its end).")
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=ReconciliationKind.choices),
        required=False,
        allow_empty=False,
        help_text="Which kinds (default: all of them).",
    )


class StatementSerializer(serializers.HyperlinkedModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="statement-detail")
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Statement
        fields = [
            "id",
            "url",
            "kind",
            "file_name",
            "file_sha256",
            "lines_count",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class StatementUploadSerializer(serializers.ModelSerializer):
    """An uploaded statement file and what reading it did. The file is never sent back."""

    url = serializers.HyperlinkedIdentityField(view_name="statement-upload-detail")
    statement: serializers.HyperlinkedRelatedField = serializers.HyperlinkedRelatedField(
        view_name="statement-detail",
        read_only=True,
        allow_null=True,
        help_text="The statement that keeps the file, once it succeeded.",
    )
    errors = ImportErrorSerializer(  # type: ignore[assignment]  # a field, not .errors
        many=True, read_only=True, help_text="Why the file was refused (empty unless failed)."
    )
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Who uploaded it."
    )

    class Meta:
        model = StatementUpload
        fields = [
            "id",
            "url",
            "status",
            "kind",
            "file_name",
            "file_sha256",
            "file_size",
            "statement",
            "errors",
            "attempts",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "content_dropped_at",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "file_size": {"help_text": "Size of the file in bytes."},
            "content_dropped_at": {
                "help_text": "When the file of a failed upload was dropped "
                "(FAILED_CONTENT_KEEP_DAYS after it failed); null while it is kept."
            },
        }


class StatementFileSerializer(StrictSerializer):
    """A statement file (multipart/form-data)."""

    kind = serializers.ChoiceField(
        choices=StatementKind.choices,
        help_text=(
            "custodian: `date,account,commodity,balance` (a wallet's or a pool account's "
            "code); lender: `date,loan,commodity,principal_outstanding,accrued_interest,"
            "collateral_units`."
        ),
    )
    file = serializers.FileField(
        max_length=255,
        allow_empty_file=False,
        help_text="The CSV as received, at most STATEMENT_UPLOAD_MAX_BYTES "
        f"({size_text(settings.STATEMENT_UPLOAD_MAX_BYTES)} unless configured).",
    )

    def validate_file(self, upload: Any) -> Any:
        refused = too_large(upload.name, upload.size, settings.STATEMENT_UPLOAD_MAX_BYTES)
        if refused:
            raise serializers.ValidationError(refused, code="too_large")
        return upload
