"""Reads of manual journals: their totals and their supporting documents."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce

from ledger.errors import Conflict
from ledger.models import ManualJournal, ManualJournalAttachment


class AttachmentAltered(Conflict):
    """A document's bytes no longer match the SHA-256 recorded when it was uploaded."""

    code = "attachment_altered"


@dataclass(frozen=True)
class JournalTotals:
    """A journal's lines in USD: what its debits and its credits add up to."""

    debits: Decimal
    credits: Decimal

    @property
    def difference(self) -> Decimal:
        return self.debits - self.credits


def journal_totals(*, journal: ManualJournal) -> JournalTotals:
    zero = models.Value(Decimal(0))
    found = journal.lines.aggregate(
        debits=Coalesce(Sum("value", filter=Q(value__gt=0)), zero),
        credits=Coalesce(Sum("value", filter=Q(value__lt=0)), zero),
    )
    return JournalTotals(debits=found["debits"], credits=-found["credits"])


def journal_attachments(*, journal: ManualJournal | int) -> models.QuerySet:
    """A journal's documents, oldest first, without their bytes."""
    pk = journal.pk if isinstance(journal, ManualJournal) else journal
    return (
        ManualJournalAttachment.objects.filter(journal_id=pk)
        .defer("content")
        .select_related("uploaded_by")
        .order_by("id")
    )


def attachment_verified(*, journal: int, attachment: int) -> tuple[ManualJournalAttachment, bytes]:
    """A journal's document and its bytes, checked against the SHA-256 and size recorded
    when it was uploaded (AttachmentAltered if they differ). DoesNotExist if not the
    journal's."""
    found = ManualJournalAttachment.objects.get(journal_id=journal, pk=attachment)
    content = bytes(found.content)
    digest = hashlib.sha256(content).hexdigest()
    if digest != found.sha256 or len(content) != found.size:
        raise AttachmentAltered(
            f"{found.file_name} no longer matches the SHA-256 recorded when it was uploaded "
            f"({found.sha256}; its bytes now hash to {digest}): it is not served",
            field="attachment",
        )
    return found, content
