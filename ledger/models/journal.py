"""The journal: entries and their postings, the daily and monthly roll-ups a trigger keeps
with every posting, the seals of the hash chain, and cancellations (the only way an entry is
reversed)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from ledger.fields import ExactDecimalField
from ledger.models.accounts import (
    QUANTITY_DIGITS,
    QUANTITY_PLACES,
    VALUE_DIGITS,
    VALUE_PLACES,
    Account,
    Commodity,
)


class EntryStatus(models.TextChoices):
    POSTED = "posted", "Posted"


class JournalEntry(models.Model):
    # Assigned by the database on insert (trigger), never by the caller.
    sequence = models.BigIntegerField(unique=True, editable=False, null=True)
    effective_date = models.DateField(db_index=True)
    memo = models.TextField(blank=True)
    kind = models.CharField(max_length=32, default="manual")
    status = models.CharField(
        max_length=16, choices=EntryStatus.choices, default=EntryStatus.POSTED
    )
    # NULL means no key: keys are unique, entries without one are not compared.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    payload_hash = models.CharField(max_length=64, blank=True)
    reversal_of = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    # Few indexes on the journal: every one is paid for on every posting.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "journal entries"
        ordering = ["-sequence"]
        indexes = [models.Index(fields=["kind", "effective_date"], name="ledger_entry_kind_date")]
        constraints = [
            # Partial: entries without a key cost this index nothing.
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="ledger_entry_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(reversal_of__isnull=True) | ~Q(reversal_of=models.F("id")),
                name="ledger_entry_not_own_reversal",
            ),
            # Maker-checker: nobody approves an entry they made (NULLs pass: system postings).
            models.CheckConstraint(
                condition=~Q(approved_by=models.F("created_by")),
                name="ledger_entry_not_self_approved",
            ),
            # Written posted and never changed (migration 0026): no other status exists.
            models.CheckConstraint(condition=Q(status="posted"), name="ledger_entry_status_posted"),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence or self.pk} {self.effective_date} {self.memo[:60]}"


class Posting(models.Model):
    # The keys to entry, account and commodity are enforced by the composite foreign keys
    # of ledger/migrations/ (entry+date, account+commodity, commodity+scale), which imply these.
    entry = models.ForeignKey(
        JournalEntry, on_delete=models.PROTECT, related_name="postings", db_constraint=False
    )
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        related_name="postings",
        db_constraint=False,
        db_index=False,  # served by the (account, effective_date) index
    )
    # Copies of the account's commodity and scale and of the entry's date, each held equal
    # to its source by a composite foreign key so that CHECKs can enforce the rules per row.
    commodity = models.ForeignKey(
        Commodity, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    scale = models.PositiveSmallIntegerField()
    effective_date = models.DateField()
    quantity = ExactDecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES)
    value = ExactDecimalField(max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "effective_date"], name="ledger_post_acct_date")]
        constraints = [
            models.CheckConstraint(
                condition=~(Q(quantity=0) & Q(value=0)), name="ledger_posting_not_empty"
            ),
            models.CheckConstraint(
                condition=~(Q(quantity__gt=0) & Q(value__lt=0))
                & ~(Q(quantity__lt=0) & Q(value__gt=0)),
                name="ledger_posting_signs_agree",
            ),
            models.CheckConstraint(
                condition=~Q(commodity="USD") | Q(quantity=models.F("value")),
                name="ledger_posting_usd_quantity_is_value",
            ),
            # Added NOT VALID (migration 0024): postings of earlier releases are not re-read.
            models.CheckConstraint(
                condition=Q(quantity__gt=-(10**20), quantity__lt=10**20)
                & Q(value__gt=-(10**22), value__lt=10**22),
                name="ledger_posting_amounts_fit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.quantity} {self.value}"


class DailyBalance(models.Model):
    """Net movement of one account on one day, kept by a trigger on postings."""

    # Written only by the posting trigger, from postings whose account it has just checked.
    # No index of its own: the unique key below leads with the account (one index fewer to
    # write per new row).
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    day = models.DateField()
    quantity = ExactDecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES)
    value = ExactDecimalField(max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES)
    postings = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "day"], name="ledger_daily_account_day")
        ]
        indexes = [models.Index(fields=["day"], name="ledger_daily_day")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day}: {self.quantity} / {self.value}"


class MonthlyBalance(models.Model):
    """Net movement of one account in one calendar month (month = its first day)."""

    # Written only by the posting trigger, from postings whose account it has just checked.
    # No index of its own: the unique key below leads with the account (one index fewer to
    # write per new row).
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    month = models.DateField()
    quantity = ExactDecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES)
    value = ExactDecimalField(max_digits=VALUE_DIGITS, decimal_places=VALUE_PLACES)
    postings = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "month"], name="ledger_monthly_account_month"
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="ledger_monthly_first_of_month"),
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.month:%Y-%m}: {self.quantity} / {self.value}"


# --- the sealed journal (hash chain) ------------------------------------------------------

HASH_PATTERN = r"^[0-9a-f]{64}$"


class JournalSeal(models.Model):
    """One posted entry sealed into the journal's hash chain, in sequence order.

    `content_hash` covers the entry's canonical content (ledger.sealing) and `entry_hash`
    covers that and the previous seal's hash, so an entry altered, removed or reordered, or a
    seal rewritten, breaks the chain from there on (selectors.journal_verify). Written only
    by services.journal_seal; PostgreSQL refuses UPDATE, DELETE and TRUNCATE, recomputes both
    hashes from the row and checks that each seal follows the previous one
    (ledger/sql/seals.sql).
    """

    sequence = models.BigIntegerField(unique=True)
    # A plain column, not a foreign key: the seal must outlive a deleted entry to report it
    # (and a superuser who disables triggers disables foreign key checks too).
    entry_id = models.BigIntegerField(unique=True)
    previous_hash = models.CharField(max_length=64)
    header_hash = models.CharField(max_length=64, help_text="The entry's own fields.")
    postings_hash = models.CharField(max_length=64, help_text="The entry's postings.")
    postings = models.PositiveIntegerField(help_text="How many postings were sealed.")
    content_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-sequence"]
        constraints = [
            models.CheckConstraint(
                condition=Q(previous_hash__regex=HASH_PATTERN)
                & Q(header_hash__regex=HASH_PATTERN)
                & Q(postings_hash__regex=HASH_PATTERN)
                & Q(content_hash__regex=HASH_PATTERN)
                & Q(entry_hash__regex=HASH_PATTERN),
                name="ledger_seal_hashes_hex",
            ),
            models.CheckConstraint(condition=Q(sequence__gt=0), name="ledger_seal_sequence"),
            # Two seals cannot follow the same one: the chain does not fork.
            models.UniqueConstraint(fields=["previous_hash"], name="ledger_seal_one_successor"),
        ]

    def __str__(self) -> str:
        return f"Seal #{self.sequence} {self.entry_hash[:12]}"


# --- cancellations (a document undone, maker-checker) ------------------------------------


class CancellationStatus(models.TextChoices):
    REQUESTED = "requested", "Requested, awaiting approval"
    APPROVED = "approved", "Approved and reversed"
    REJECTED = "rejected", "Rejected"


class Cancellation(models.Model):
    """A document's entry undone: asked for by one person with a reason, approved by another
    (only then is the reversal posted, with the document's subledger undone in the same
    transaction) or rejected with a reason. The only way an entry is ever reversed:
    PostgreSQL refuses a reversing entry that no approved cancellation names
    (ledger/migrations/0012_cancellations.sql)."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="cancellations")
    # What the entry belongs to, as shown to people ("sale OTC-2026-01-001").
    document = models.CharField(max_length=200)
    effective_date = models.DateField(help_text="The date the reversal is posted at.")
    reason = models.TextField()
    status = models.CharField(
        max_length=16, choices=CancellationStatus.choices, default=CancellationStatus.REQUESTED
    )
    # NULL means no key; a key makes the request idempotent.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    payload_hash = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    reversal = models.OneToOneField(
        JournalEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cancelled_by",
    )

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "id"], name="ledger_cancel_status")]
        constraints = [
            # One live cancellation per entry: requested or approved (a rejected one may be
            # asked for again).
            models.UniqueConstraint(
                fields=["entry"],
                condition=~Q(status="rejected"),
                name="ledger_cancel_once_per_entry",
            ),
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="ledger_cancel_idempotency_key",
            ),
            models.CheckConstraint(
                condition=Q(status__in=CancellationStatus.values),
                name="ledger_cancel_status_known",
            ),
            models.CheckConstraint(
                condition=~Q(decided_by=models.F("requested_by")),
                name="ledger_cancel_not_self_decided",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        status=CancellationStatus.REQUESTED,
                        decided_by__isnull=True,
                        decided_at__isnull=True,
                        reversal__isnull=True,
                        rejection_reason="",
                    )
                    | Q(
                        status=CancellationStatus.APPROVED,
                        decided_by__isnull=False,
                        decided_at__isnull=False,
                        reversal__isnull=False,
                        rejection_reason="",
                    )
                    | (
                        Q(
                            status=CancellationStatus.REJECTED,
                            decided_by__isnull=False,
                            decided_at__isnull=False,
                            reversal__isnull=True,
                        )
                        & ~Q(rejection_reason="")
                    )
                ),
                name="ledger_cancel_state_complete",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="ledger_cancel_has_reason"),
        ]

    def __str__(self) -> str:
        return f"cancellation #{self.pk} of {self.document}"
