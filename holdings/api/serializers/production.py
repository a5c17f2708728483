"""Production: the pool files imported, the daily earnings they brought and the payouts to
the company's wallets."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from holdings.api.serializers.common import (
    HOLDINGS_CODE_PATTERN,
    DecimalOut,
    ImportErrorSerializer,
    QuantityOut,
    UsdOut,
    plain,
)
from holdings.api.serializers.prices import PRICE_EVIDENCE_OUT, evidence
from holdings.models import ImportBatch, ImportSource, Payout, PoolAccount, ProductionRecord
from holdings.services.production import size_text, too_large
from ledger.api.serializers import CodeField, StrictSerializer

# --- import batches ----------------------------------------------------------------------


class ImportBatchSerializer(serializers.ModelSerializer):
    """A file to import and what importing it did. The file's content is never sent back."""

    url = serializers.HyperlinkedIdentityField(view_name="import-detail")
    pool_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, allow_null=True, help_text="Pool account code."
    )
    file_size = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Size of the file in bytes."
    )
    errors = ImportErrorSerializer(  # type: ignore[assignment]  # a field, not .errors
        many=True, read_only=True, help_text="Why the batch failed (empty unless it failed)."
    )
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Who uploaded it."
    )

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "url",
            "status",
            "source",
            "pool_account",
            "file_name",
            "file_sha256",
            "file_size",
            "records_total",
            "records_created",
            "records_skipped",
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
            "content_dropped_at": {
                "help_text": "When the file of a failed batch was dropped "
                "(FAILED_CONTENT_KEEP_DAYS after it failed); null while it is kept."
            },
        }


class ImportUploadSerializer(StrictSerializer):
    """A pool file to import (multipart/form-data)."""

    source = serializers.ChoiceField(  # type: ignore[assignment]  # a field, not .source
        choices=ImportSource.choices, help_text="The format of the file: which pool's export."
    )
    pool_account = CodeField(
        slug_field="code",
        queryset=PoolAccount.objects.all(),
        pattern=HOLDINGS_CODE_PATTERN,
        what="pool account",
        required=False,
        allow_null=True,
        help_text="The pool account the file belongs to (its code). Only a generic CSV, "
        "whose rows name their pool accounts, may leave it out.",
    )
    file = serializers.FileField(
        max_length=255,
        allow_empty_file=False,
        help_text="The file as the pool exported it, at most IMPORT_UPLOAD_MAX_BYTES "
        f"({size_text(settings.IMPORT_UPLOAD_MAX_BYTES)} unless configured).",
    )

    def validate_file(self, upload: Any) -> Any:
        refused = too_large(upload.name, upload.size, settings.IMPORT_UPLOAD_MAX_BYTES)
        if refused:
            raise serializers.ValidationError(refused, code="too_large")
        return upload


# --- production records and payouts ------------------------------------------------------


class ProductionRecordSerializer(serializers.ModelSerializer):
    """A pool sub-account's earning for one UTC day, as the pool reported it."""

    pool_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    commodity = serializers.CharField(source="pool_account.commodity_id", read_only=True)
    gross = QuantityOut(
        commodity="pool_account.commodity",
        allow_null=True,
        help_text="Before the pool's fee, if reported.",
    )
    fee = QuantityOut(
        commodity="pool_account.commodity",
        allow_null=True,
        help_text="The pool's fee, if reported.",
    )
    net = QuantityOut(commodity="pool_account.commodity", help_text="Credited to the pool balance.")
    hashrate_hs = DecimalOut(
        {"type": "string", "example": "1185000000000000000", "nullable": True},
        write=plain,
        allow_null=True,
        help_text="Average hashrate (H/s), if reported.",
    )
    price = serializers.SerializerMethodField(help_text="The price the earning was valued at.")
    value = UsdOut(help_text="Net times price, in USD.")
    entry = serializers.PrimaryKeyRelatedField(  # type: ignore[var-annotated]
        read_only=True, allow_null=True, help_text="The journal entry that posted the earning."
    )
    entry_sequence = serializers.IntegerField(
        source="entry.sequence", read_only=True, allow_null=True, default=None
    )
    batch = serializers.PrimaryKeyRelatedField(  # type: ignore[var-annotated]
        read_only=True, help_text="The import batch that brought the record."
    )
    raw = serializers.JSONField(read_only=True, help_text="The record as the pool sent it.")

    class Meta:
        model = ProductionRecord
        fields = [
            "id",
            "pool_account",
            "commodity",
            "day",
            "external_id",
            "gross",
            "fee",
            "net",
            "hashrate_hs",
            "price",
            "value",
            "entry",
            "entry_sequence",
            "batch",
            "raw",
            "created_at",
        ]
        read_only_fields = fields

    @PRICE_EVIDENCE_OUT
    def get_price(self, record: ProductionRecord) -> dict[str, Any] | None:
        return evidence(record.price)


class PayoutSerializer(serializers.ModelSerializer):
    """An on-chain payment from a pool to one of the company's wallets."""

    pool_account: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    commodity = serializers.CharField(source="pool_account.commodity_id", read_only=True)
    wallet: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="The wallet the address belongs to."
    )
    amount = QuantityOut(commodity="pool_account.commodity")
    entry = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[var-annotated]
    entry_sequence = serializers.IntegerField(source="entry.sequence", read_only=True)
    batch = serializers.PrimaryKeyRelatedField(read_only=True)  # type: ignore[var-annotated]
    raw = serializers.JSONField(read_only=True, help_text="The payout as the pool sent it.")

    class Meta:
        model = Payout
        fields = [
            "id",
            "pool_account",
            "commodity",
            "external_id",
            "txid",
            "address",
            "wallet",
            "amount",
            "paid_at",
            "entry",
            "entry_sequence",
            "batch",
            "raw",
            "created_at",
        ]
        read_only_fields = fields
