"""Statements from pools, custodians and lenders, their uploads, and the nightly
reconciliation runs with their items.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from holdings.models.fields import quantity_field
from holdings.models.production import BatchStatus
from ledger.fields import ExactDecimalField
from ledger.models import QUANTITY_DIGITS, QUANTITY_PLACES


class StatementKind(models.TextChoices):
    CUSTODIAN = "custodian", "Custodian or pool balances"
    LENDER = "lender", "Lender statement"


class Statement(models.Model):
    """A statement file as received from a custodian, a pool or a lender: kept whole, with
    its lines parsed beside it. Statements are evidence: added, never changed."""

    kind = models.CharField(max_length=16, choices=StatementKind.choices)
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    content = models.BinaryField()
    lines_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "file_sha256"], name="holdings_statement_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name}"


class StatementUpload(models.Model):
    """A statement file as uploaded, kept until the worker has read it into a Statement
    (then the statement holds the file) or has refused it with its errors (then the file
    is dropped after FAILED_CONTENT_KEEP_DAYS, the record and errors staying)."""

    kind = models.CharField(max_length=16, choices=StatementKind.choices)
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    file_size = models.PositiveBigIntegerField(default=0)
    content = models.BinaryField(blank=True)
    status = models.CharField(
        max_length=16, choices=BatchStatus.choices, default=BatchStatus.PENDING
    )
    statement = models.ForeignKey(
        Statement, null=True, blank=True, on_delete=models.PROTECT, related_name="uploads"
    )
    errors = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    content_dropped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="holdings_upload_status"),
            models.Index(fields=["kind", "file_sha256"], name="holdings_upload_file"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="succeeded") | Q(statement__isnull=False),
                name="holdings_upload_succeeded_statement",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.file_name} ({self.status})"


class BalanceStatementLine(models.Model):
    """One balance a custodian or a pool states for an account (a wallet's or a pool
    account's code) at the end of a UTC day."""

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="balances")
    on = models.DateField()
    account = models.CharField(max_length=100)
    commodity = models.ForeignKey("ledger.Commodity", on_delete=models.PROTECT, related_name="+")
    balance = quantity_field()

    class Meta:
        ordering = ["on", "account"]
        indexes = [models.Index(fields=["account", "on"], name="holdings_bsl_account_on")]

    def __str__(self) -> str:
        return f"{self.account} {self.on}: {self.balance} {self.commodity_id}"


class LoanStatementLine(models.Model):
    """What a lender states for a loan at the end of a UTC day."""

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="loans")
    on = models.DateField()
    loan = models.CharField(max_length=100)
    commodity = models.ForeignKey("ledger.Commodity", on_delete=models.PROTECT, related_name="+")
    principal = quantity_field()
    accrued_interest = quantity_field()
    collateral_units = quantity_field()

    class Meta:
        ordering = ["on", "loan"]
        indexes = [models.Index(fields=["loan", "on"], name="holdings_lsl_loan_on")]

    def __str__(self) -> str:
        return f"{self.loan} {self.on}"


class ReconciliationKind(models.TextChoices):
    POOL = "pool", "Pool balances"
    PAYOUTS = "payouts", "Payouts on-chain"
    WALLETS = "wallets", "Wallet balances"
    LOANS = "loans", "Loans"
    INTERNAL = "internal", "Internal"


class ReconciliationStatus(models.TextChoices):
    MATCHED = "matched", "All matched"
    BREAKS = "breaks", "Breaks found"
    INCOMPLETE = "incomplete", "Incomplete: a source could not be checked"


class ItemStatus(models.TextChoices):
    MATCHED = "matched", "Matched"
    UNMATCHED = "unmatched", "Unmatched"
    UNEXPLAINED = "unexplained", "Unexplained"
    UNREACHABLE = "unreachable", "Source unreachable"
    NO_SOURCE = "no_source", "No source"
    # No explorer is configured for the commodity's chain (other than BTC's): stated
    # plainly, neither a break nor a gap.
    NOT_ON_CHAIN = "not_on_chain", "Not checked on chain"


BREAK_STATUSES = (ItemStatus.UNMATCHED, ItemStatus.UNEXPLAINED)


UNCHECKED_STATUSES = (ItemStatus.UNREACHABLE, ItemStatus.NO_SOURCE)


class ReconciliationRun(models.Model):
    """One reconciliation of one kind for one UTC day, with its items. A run is kept as it
    was found; running the day again adds a new run."""

    kind = models.CharField(max_length=16, choices=ReconciliationKind.choices)
    as_of = models.DateField()
    status = models.CharField(max_length=16, choices=ReconciliationStatus.choices)
    matched = models.PositiveIntegerField(default=0)
    breaks = models.PositiveIntegerField(default=0)
    unchecked = models.PositiveIntegerField(default=0)
    sources = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-as_of", "-id"]
        indexes = [models.Index(fields=["as_of", "kind"], name="holdings_recon_day_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.as_of}: {self.get_status_display()}"


class ReconciliationItem(models.Model):
    """One thing compared: what the ledger says, what the source says, the difference and
    the tolerance it was held to. A break names its subject exactly (a pool account, a
    payout's txid, a wallet, an address, a loan)."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="items")
    subject_type = models.CharField(max_length=32)
    subject = models.CharField(max_length=200)
    checked = models.CharField(max_length=64)  # what of the subject: balance, amount, ...
    commodity = models.CharField(max_length=16, blank=True)
    ledger_amount = ExactDecimalField(
        max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, null=True, blank=True
    )
    source_amount = ExactDecimalField(
        max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, null=True, blank=True
    )
    difference = ExactDecimalField(
        max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES, null=True, blank=True
    )
    tolerance = quantity_field(default=0)
    status = models.CharField(max_length=16, choices=ItemStatus.choices)
    source = models.CharField(max_length=200, blank=True)
    message = models.TextField()
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["run", "id"]

    def __str__(self) -> str:
        return f"Item {self.pk}"  # the message says what it is
