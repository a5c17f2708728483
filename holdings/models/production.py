"""Production: the pools' files as import batches, the records they held, and payouts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from holdings.models.fields import kept_reference, quantity_field, value_field
from holdings.models.prices import Price
from holdings.models.setup import ImportSource, PoolAccount, Wallet


class BatchStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ImportBatch(models.Model):
    """One file (uploaded, or fetched from a pool's API) and what importing it did."""

    source = models.CharField(max_length=16, choices=ImportSource.choices)
    pool_account = models.ForeignKey(
        PoolAccount, null=True, blank=True, on_delete=models.PROTECT, related_name="batches"
    )
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    content = models.BinaryField()
    status = models.CharField(
        max_length=16, choices=BatchStatus.choices, default=BatchStatus.PENDING
    )
    records_total = models.PositiveIntegerField(default=0)
    records_created = models.PositiveIntegerField(default=0)
    records_skipped = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A failed batch's file is dropped after FAILED_CONTENT_KEEP_DAYS; its record and
    # errors stay, and it can no longer be imported again.
    content_dropped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "import batches"
        indexes = [models.Index(fields=["status", "created_at"], name="holdings_batch_status")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.source} {self.file_name} ({self.status})"


class ProductionRecord(models.Model):
    """A pool sub-account's earning for one UTC day, as the pool reported it."""

    # Indexed by the (pool account, day) unique constraint.
    pool_account = models.ForeignKey(
        PoolAccount, on_delete=models.PROTECT, related_name="production", db_index=False
    )
    day = models.DateField()
    external_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    gross = quantity_field(null=True, blank=True)
    fee = quantity_field(null=True, blank=True)
    net = quantity_field()
    hashrate_hs = models.DecimalField(
        "hashrate (H/s)", max_digits=40, decimal_places=6, null=True, blank=True
    )
    price = models.ForeignKey(
        Price, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    value = value_field()
    raw = models.JSONField()
    entry = models.OneToOneField(
        "ledger.JournalEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="production_record",
    )
    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="production")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "pool_account"]
        constraints = [
            models.UniqueConstraint(
                fields=["pool_account", "day"], name="holdings_production_one_per_day"
            ),
            models.UniqueConstraint(
                fields=["pool_account", "external_id"],
                condition=Q(external_id__isnull=False),
                name="holdings_production_external_id",
            ),
            models.CheckConstraint(condition=Q(net__gte=0), name="holdings_production_net"),
            models.CheckConstraint(
                condition=Q(gross__isnull=True)
                | Q(fee__isnull=True)
                | Q(net=models.F("gross") - models.F("fee")),
                name="holdings_production_gross_less_fee",
            ),
        ]
        indexes = [
            # Covering the figures added up over a period (the cost to mine, the dashboard,
            # the production report), so that they are read from the index alone: records
            # are never updated, so their pages stay all-visible.
            models.Index(
                fields=["day"],
                include=["pool_account", "entry", "net", "value", "hashrate_hs"],
                name="holdings_production_day_totals",
            )
        ]

    def __str__(self) -> str:
        return f"{self.pool_account_id} {self.day} {self.net}"


class ProductionMonthTotal(models.Model):
    """The standing records of one pool account in one calendar month, added up: kept by
    triggers on the records and on the cancellations
    (holdings/migrations/0026_production_months.sql), so that the production report and the
    dashboard read a row per account and month rather than every record. A record whose
    entry's cancellation is approved is taken out: a cancelled pool record was not mined."""

    # Written only by those triggers. No index of its own: the unique key leads with it.
    pool_account = kept_reference(PoolAccount)
    month = models.DateField()  # the first day of the month
    records = models.BigIntegerField()
    net = quantity_field()
    value = value_field()
    hashrate_hs = models.DecimalField("hashrate (H/s)", max_digits=40, decimal_places=6)
    # Records that gave a hashrate: none, and the month has no hashrate rather than zero.
    hashrate_records = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["pool_account", "month"], name="holdings_production_month_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pool_account_id} {self.month:%Y-%m}: {self.net}"


class Payout(models.Model):
    """An on-chain payment from a pool to one of the company's wallets."""

    pool_account = models.ForeignKey(PoolAccount, on_delete=models.PROTECT, related_name="payouts")
    external_id = models.CharField(max_length=100)
    txid = models.CharField(max_length=64)
    address = models.CharField(max_length=128)
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="payouts")
    amount = quantity_field()
    paid_at = models.DateTimeField()
    raw = models.JSONField()
    entry = models.OneToOneField(
        "ledger.JournalEntry", on_delete=models.PROTECT, related_name="payout"
    )
    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="payouts")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["pool_account", "external_id"], name="holdings_payout_external_id"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="holdings_payout_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.pool_account_id} {self.txid[:12]} {self.amount}"
