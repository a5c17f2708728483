"""A document's cancellation, as the documents that can be cancelled show it: sales,
transfers, loan events and remeasurements."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ledger.models import CancellationStatus


class DocumentCancellationSerializer(serializers.Serializer):
    """The cancellation asked for or approved for a document (none: it stands)."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    effective_date = serializers.DateField()
    reversal = serializers.IntegerField(source="reversal_id", allow_null=True)


def document_cancellation(record: Any) -> dict[str, Any] | None:
    """A document's live cancellation, read from its entry's prefetched cancellations."""
    entry = getattr(record, "entry", None)
    if entry is None:
        return None
    for cancellation in entry.cancellations.all():
        if cancellation.status != CancellationStatus.REJECTED:
            return DocumentCancellationSerializer(cancellation).data
    return None


class CancellableSerializer(serializers.Serializer):
    """A document's serializer shows its cancellation (list `cancellation` in its fields)."""

    cancellation = serializers.SerializerMethodField(
        help_text="Its cancellation, asked for or approved (null: the document stands)."
    )

    @extend_schema_field(DocumentCancellationSerializer(allow_null=True))
    def get_cancellation(self, record: Any) -> dict[str, Any] | None:
        return document_cancellation(record)
