"""What the API reads and writes for cancellations: a document undone, asked for by one
person and approved by another. Same conventions as the rest of the API."""

from __future__ import annotations

from rest_framework import serializers

from ledger.api.control_serializers import MAX_REASON_LENGTH, username
from ledger.api.serializers import StrictCharField, StrictSerializer, UTCDateField
from ledger.models import Cancellation, CancellationStatus


class CancellationCreateSerializer(StrictSerializer):
    entry = serializers.IntegerField(
        min_value=1, help_text="The id of the document's journal entry (the sale's, say)."
    )
    reason = StrictCharField(max_length=MAX_REASON_LENGTH, help_text="Why (required).")
    effective_date = UTCDateField(
        posting=True,
        required=False,
        help_text="The date the reversal is posted at (default: the entry's own date, so the "
        "document never happened; a later date if that period is closed).",
    )


class CancellationRejectSerializer(StrictSerializer):
    reason = StrictCharField(
        max_length=MAX_REASON_LENGTH, help_text="Why the cancellation is refused (required)."
    )


class CancellationQuerySerializer(StrictSerializer):
    status = serializers.ChoiceField(choices=CancellationStatus.choices, required=False)
    entry = serializers.IntegerField(min_value=1, required=False)


class CancellationSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="cancellation-detail")
    entry: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, help_text="The document's entry, undone."
    )
    entry_sequence = serializers.IntegerField(source="entry.sequence", read_only=True)
    requested_by: serializers.SlugRelatedField = username("Who asked.")
    decided_by: serializers.SlugRelatedField = username("Who approved or rejected.")
    reversal: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="The reversing entry, once approved."
    )
    reversal_sequence = serializers.SerializerMethodField()

    class Meta:
        model = Cancellation
        fields = [
            "id",
            "url",
            "document",
            "entry",
            "entry_sequence",
            "effective_date",
            "reason",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "rejection_reason",
            "reversal",
            "reversal_sequence",
        ]
        read_only_fields = fields

    def get_reversal_sequence(self, obj: Cancellation) -> int | None:
        return obj.reversal.sequence if obj.reversal is not None else None
