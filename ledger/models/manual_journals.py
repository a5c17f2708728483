"""Manual journals: entries people draft, submit and have approved by someone else
(maker-checker), and their lines."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from ledger.fields import ExactDecimalField
from ledger.models.accounts import (
    QUANTITY_DIGITS,
    QUANTITY_PLACES,
    VALUE_DIGITS,
    VALUE_PLACES,
    Account,
)
from ledger.models.journal import JournalEntry


class ManualJournalStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted for approval"
    APPROVED = "approved", "Approved and posted"
    REJECTED = "rejected", "Rejected"


class ManualJournalKind(models.TextChoices):
    """What a person's entry may be. The kinds the services post (pool_earning, sale,
    loan_interest, reversal, ...) are theirs alone: a manual journal never takes one."""

    MANUAL = "manual", "Manual"
    ADJUSTMENT = "adjustment", "Adjustment"
    ACCRUAL = "accrual", "Accrual"
    RECLASSIFICATION = "reclassification", "Reclassification"
    CORRECTION = "correction", "Correction"
    OPENING = "opening", "Opening"


class ManualJournal(models.Model):
    """An entry a person wants posted: drafted and submitted by its maker, approved (and only
    then posted, as `entry`) or rejected with a reason by a finance approver who is not the
    maker. Posted entries are never drafts: the journal itself stays immutable.

    PostgreSQL keeps the states honest (ledger/sql/manual_journals.sql): only draft ->
    submitted -> approved | rejected, a decided journal never changes, lines change only
    while draft, nothing is deleted, and the entry posted is exactly the lines approved.
    """

    status = models.CharField(
        max_length=16, choices=ManualJournalStatus.choices, default=ManualJournalStatus.DRAFT
    )
    effective_date = models.DateField()
    memo = models.TextField()
    kind = models.CharField(
        max_length=32, choices=ManualJournalKind.choices, default=ManualJournalKind.MANUAL
    )
    # NULL means no key; a key makes a request to create the journal idempotent.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    payload_hash = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    entry = models.OneToOneField(
        JournalEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="manual_journal",
    )

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "id"], name="ledger_mj_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="ledger_mj_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ManualJournalStatus.values), name="ledger_mj_status_known"
            ),
            # A kind from the closed list; a journal of another kind drafted before the list
            # (ledger/migrations/0015) can still be rejected, never approved.
            models.CheckConstraint(
                condition=Q(kind__in=ManualJournalKind.values)
                | Q(status=ManualJournalStatus.REJECTED),
                name="ledger_mj_kind_known",
            ),
            # Nobody approves, or rejects, their own journal.
            models.CheckConstraint(
                condition=~Q(approved_by=models.F("created_by")),
                name="ledger_mj_not_self_approved",
            ),
            models.CheckConstraint(
                condition=~Q(rejected_by=models.F("created_by")),
                name="ledger_mj_not_self_rejected",
            ),
            # Each state carries exactly what it says: who decided, when, why, what posted.
            models.CheckConstraint(
                condition=(
                    Q(
                        status=ManualJournalStatus.DRAFT,
                        submitted_at__isnull=True,
                        approved_by__isnull=True,
                        approved_at__isnull=True,
                        rejected_by__isnull=True,
                        rejected_at__isnull=True,
                        rejection_reason="",
                        entry__isnull=True,
                    )
                    | Q(
                        status=ManualJournalStatus.SUBMITTED,
                        submitted_at__isnull=False,
                        approved_by__isnull=True,
                        approved_at__isnull=True,
                        rejected_by__isnull=True,
                        rejected_at__isnull=True,
                        rejection_reason="",
                        entry__isnull=True,
                    )
                    | Q(
                        status=ManualJournalStatus.APPROVED,
                        submitted_at__isnull=False,
                        approved_by__isnull=False,
                        approved_at__isnull=False,
                        rejected_by__isnull=True,
                        rejected_at__isnull=True,
                        rejection_reason="",
                        entry__isnull=False,
                    )
                    | (
                        Q(
                            status=ManualJournalStatus.REJECTED,
                            submitted_at__isnull=False,
                            approved_by__isnull=True,
                            approved_at__isnull=True,
                            rejected_by__isnull=False,
                            rejected_at__isnull=False,
                            entry__isnull=True,
                        )
                        & ~Q(rejection_reason="")
                    )
                ),
                name="ledger_mj_state_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"Manual journal {self.pk} ({self.get_status_display()})"

    @property
    def is_draft(self) -> bool:
        return self.status == ManualJournalStatus.DRAFT


class ManualJournalLine(models.Model):
    """One posting of a manual journal, as its maker wrote it."""

    journal = models.ForeignKey(ManualJournal, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    quantity = ExactDecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES)
    value = ExactDecimalField(max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=~(Q(quantity=0) & Q(value=0)), name="ledger_mj_line_not_empty"
            ),
            models.CheckConstraint(
                condition=~(Q(quantity__gt=0) & Q(value__lt=0))
                & ~(Q(quantity__lt=0) & Q(value__gt=0)),
                name="ledger_mj_line_signs_agree",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.quantity} {self.value}"


class ManualJournalAttachment(models.Model):
    """A supporting document of a manual journal (an invoice, a confirmation, a working
    paper), kept in the database as it was uploaded, with its SHA-256.

    PostgreSQL keeps them (ledger/migrations/0017_manual_journal_attachments.sql): the size
    and hash are those of the bytes, and once the journal is approved its documents are
    never added, changed or deleted."""

    journal = models.ForeignKey(ManualJournal, on_delete=models.PROTECT, related_name="attachments")
    file_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(size__gt=0), name="ledger_mj_attachment_not_empty"),
            models.CheckConstraint(
                condition=~Q(file_name=""), name="ledger_mj_attachment_has_name"
            ),
        ]

    def __str__(self) -> str:
        return self.file_name
