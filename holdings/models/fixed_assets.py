"""Fixed assets: mining machines and GPU equipment, the deposits paid to their vendors, and
each asset's life in the books (placed in service, depreciated month by month, its useful
life changed, impaired, disposed of)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from holdings.models.fields import CODE_VALIDATOR, value_field
from holdings.models.setup import Site


class AssetClass(models.Model):
    """A class of assets: its default useful life and the accounts its assets post to (cost,
    accumulated depreciation, depreciation expense). `mining` classes count in the all-in
    cost to mine a bitcoin."""

    code = models.CharField(max_length=27, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    useful_life_months = models.PositiveIntegerField()
    cost_account = models.CharField(max_length=64)
    accumulated_account = models.CharField(max_length=64)
    expense_account = models.CharField(max_length=64)
    mining = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "asset classes"
        constraints = [
            models.CheckConstraint(
                condition=Q(useful_life_months__gte=1, useful_life_months__lte=600),
                name="holdings_asset_class_life",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class VendorDeposit(models.Model):
    """A deposit or prepayment to a vendor of machines or hosting, applied to the assets
    later received."""

    vendor = models.CharField(max_length=200)
    reference = models.CharField(max_length=100, unique=True)
    amount = value_field()
    paid_on = models.DateField()
    entry = models.OneToOneField(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        related_name="vendor_deposit",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="holdings_deposit_positive")
        ]

    def __str__(self) -> str:
        return f"deposit {self.reference} to {self.vendor}"


class FixedAsset(models.Model):
    """One batch of machines received together: its cost, where and when it went into
    service, its useful life and salvage value."""

    code = models.CharField(max_length=27, unique=True, validators=[CODE_VALIDATOR])
    asset_class = models.ForeignKey(AssetClass, on_delete=models.PROTECT, related_name="assets")
    description = models.CharField(max_length=500, blank=True)
    vendor = models.CharField(max_length=200, blank=True)
    units = models.PositiveIntegerField(default=1, help_text="Machines in the batch.")
    hashrate_ths = models.DecimalField(
        "hashrate (TH/s)", max_digits=24, decimal_places=3, null=True, blank=True
    )
    power_kw = models.DecimalField(
        "power draw (kW)", max_digits=24, decimal_places=3, null=True, blank=True
    )
    cost = value_field()
    received_on = models.DateField()
    deposit = models.ForeignKey(
        VendorDeposit, null=True, blank=True, on_delete=models.PROTECT, related_name="assets"
    )
    deposit_applied = value_field(default=0)
    paid = models.BooleanField(
        default=False, help_text="The rest paid in cash on receipt (otherwise owed)."
    )
    receipt_entry = models.OneToOneField(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        related_name="fixed_asset_receipt",
    )
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="fixed_assets"
    )
    in_service_on = models.DateField(null=True, blank=True)
    useful_life_months = models.PositiveIntegerField(null=True, blank=True)
    salvage_value = value_field(default=0)
    disposed_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(cost__gt=0), name="holdings_asset_cost_positive"),
            models.CheckConstraint(
                condition=Q(deposit_applied__gte=0, deposit_applied__lte=models.F("cost")),
                name="holdings_asset_deposit_applied",
            ),
            models.CheckConstraint(
                condition=Q(salvage_value__gte=0, salvage_value__lt=models.F("cost")),
                name="holdings_asset_salvage",
            ),
            models.CheckConstraint(
                condition=Q(in_service_on__isnull=True)
                | Q(site__isnull=False, useful_life_months__isnull=False),
                name="holdings_asset_in_service_at_a_site",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.description}".strip()


class AssetEventKind(models.TextChoices):
    IN_SERVICE = "in_service", "Placed in service"
    DEPRECIATION = "depreciation", "Depreciation"
    LIFE_CHANGE = "life_change", "Useful life changed"
    IMPAIRMENT = "impairment", "Impairment"
    DISPOSAL = "disposal", "Disposal"


class AssetEvent(models.Model):
    """What happened to an asset after its receipt. `amount`: a month's depreciation, an
    impairment's loss, a disposal's gain (negative: a loss). `accumulated`: the accumulated
    depreciation an impairment or disposal closed out. `month`: the first day of the month
    a depreciation covers, or from which a new useful life applies."""

    asset = models.ForeignKey(FixedAsset, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=AssetEventKind.choices)
    effective_date = models.DateField()
    month = models.DateField(null=True, blank=True)
    amount = value_field(default=0)
    accumulated = value_field(default=0)
    carrying_value = value_field(
        default=0,
        help_text="Impairment: the fair value, the new cost basis. Disposal: the "
        "net book value disposed of.",
    )
    proceeds = value_field(default=0)
    useful_life_months = models.PositiveIntegerField(null=True, blank=True)
    evidence = models.TextField(blank=True)
    entry = models.OneToOneField(
        "ledger.JournalEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="asset_event",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["asset", "effective_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="depreciation") | Q(month__isnull=False, month__day=1),
                name="holdings_asset_event_depreciation_month",
            ),
            models.CheckConstraint(
                condition=~Q(kind="impairment") | ~Q(evidence=""),
                name="holdings_asset_event_impairment_evidence",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset.code} {self.get_kind_display().lower()} {self.effective_date}"
