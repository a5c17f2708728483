"""The double-entry core: commodities, accounts, the journal and its balance roll-ups.

Invariants live in PostgreSQL (see the migrations): entries balance, USD postings have
quantity equal to value, transfers conserve quantity, quantities fit their commodity's scale,
posted rows are immutable, closed periods refuse entries, idempotency keys are unique.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from ledger.fields import ExactDecimalField

QUANTITY_DIGITS = 38
QUANTITY_PLACES = 18
VALUE_DIGITS = 24
VALUE_PLACES = 2


class CommodityKind(models.TextChoices):
    FIAT = "fiat", "Fiat currency"
    CRYPTO = "crypto", "Crypto asset"
    STABLECOIN = "stablecoin", "Stablecoin"


class MeasurementPolicy(models.TextChoices):
    FAIR_VALUE = "fair_value", "Fair value (ASC 350-60)"
    COST = "cost", "Cost"


class Commodity(models.Model):
    code = models.CharField(
        primary_key=True,
        max_length=10,
        validators=[RegexValidator(r"^[A-Z][A-Z0-9]{1,9}$", "2-10 capital letters or digits.")],
    )
    name = models.CharField(max_length=100)
    decimal_places = models.PositiveSmallIntegerField(validators=[MaxValueValidator(18)])
    kind = models.CharField(max_length=16, choices=CommodityKind.choices)
    measurement_policy = models.CharField(
        max_length=16, choices=MeasurementPolicy.choices, default=MeasurementPolicy.COST
    )

    class Meta:
        verbose_name_plural = "commodities"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decimal_places__lte=18), name="ledger_commodity_scale_range"
            ),
            models.UniqueConstraint(
                fields=["code", "decimal_places"], name="ledger_commodity_code_scale"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EQUITY = "equity", "Equity"
    INCOME = "income", "Income"
    EXPENSE = "expense", "Expense"


DEBIT_NORMAL_TYPES = frozenset({AccountType.ASSET, AccountType.EXPENSE})


class Account(models.Model):
    code = models.CharField(
        max_length=32,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", "Letters, digits, . _ -")],
    )
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=16, choices=AccountType.choices)
    commodity = models.ForeignKey(Commodity, on_delete=models.PROTECT, related_name="accounts")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    must_not_go_negative = models.BooleanField(
        default=False, help_text="The ledger refuses any entry that would take it below zero."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            # Target of a composite foreign key (ledger/migrations/): a child shares its parent's
            # commodity and type.
            models.UniqueConstraint(
                fields=["id", "commodity", "type"], name="ledger_account_commodity_type"
            ),
            # Target of composite foreign keys from rows that must hold the account's
            # commodity (one check instead of two, and the two cannot disagree).
            models.UniqueConstraint(fields=["id", "commodity"], name="ledger_account_commodity"),
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="ledger_account_not_own_parent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def normal_side(self) -> str:
        return "debit" if self.type in DEBIT_NORMAL_TYPES else "credit"


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
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.quantity} {self.value}"


class DailyBalance(models.Model):
    """Net movement of one account on one day, kept by a trigger on postings."""

    # Written only by the posting trigger, from postings whose account it has just checked.
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", db_constraint=False
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
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", db_constraint=False
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


class PeriodClose(models.Model):
    """Books closed through a date; reopening is recorded on the same row, with a reason."""

    through = models.DateField()
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(auto_now_add=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopen_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-through", "-closed_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(reopened_at__isnull=True, reopened_by__isnull=True, reopen_reason="")
                    | (
                        Q(reopened_at__isnull=False, reopened_by__isnull=False)
                        & ~Q(reopen_reason="")
                    )
                ),
                name="ledger_period_reopen_complete",
            ),
            models.UniqueConstraint(
                fields=["through"],
                condition=Q(reopened_at__isnull=True),
                name="ledger_period_one_open_close_per_date",
            ),
        ]

    def __str__(self) -> str:
        state = "closed" if self.reopened_at is None else "reopened"
        return f"Through {self.through} ({state})"

    @property
    def is_open(self) -> bool:
        return self.reopened_at is None


# --- manual journals (maker-checker) ------------------------------------------------------


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


# --- the audit log ------------------------------------------------------------------------


class AuditAction(models.TextChoices):
    INSERT = "insert", "Created"
    UPDATE = "update", "Changed"
    DELETE = "delete", "Deleted"
    TRUNCATE = "truncate", "Emptied (TRUNCATE)"


class ExactJSONDecoder(json.JSONDecoder):
    """JSON numbers with a fraction read as Decimal: a quantity keeps every digit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parse_float", Decimal)
        super().__init__(*args, **kwargs)


class AuditLog(models.Model):
    """Every change of state of an audited table: written only by PostgreSQL triggers
    (ledger/sql/audit.sql), never changed or deleted.

    `actor` is who acted: "user:<username>" (a request), "task:<name>" (a Celery task),
    "command:<name>" (a management command) or "db:<role>" (anything else, raw SQL).
    """

    at = models.DateTimeField(db_index=False)
    transaction_id = models.BigIntegerField(help_text="Rows changed together share it.")
    table_name = models.CharField(max_length=63)
    record_id = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=8, choices=AuditAction.choices)
    old = models.JSONField(null=True, blank=True, decoder=ExactJSONDecoder)
    new = models.JSONField(null=True, blank=True, decoder=ExactJSONDecoder)
    actor = models.CharField(max_length=200)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,  # the log outlives whatever it names
        related_name="+",
        db_index=False,
    )
    context = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        # Few indexes: every one is paid for by every audited write.
        indexes = [
            models.Index(fields=["table_name", "record_id"], name="ledger_audit_record"),
            models.Index(fields=["actor"], name="ledger_audit_actor"),
            BrinIndex(fields=["at"], name="ledger_audit_at"),
        ]

    def __str__(self) -> str:
        when = f"{self.at:%Y-%m-%d %H:%M:%S}"
        return f"{when} {self.actor} {self.action} {self.table_name} {self.record_id}"


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
