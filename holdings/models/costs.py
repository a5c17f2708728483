"""Cost of production at the sites: power, hosting and other direct costs, as invoices and
month-end accruals, and the meters' readings.

An invoice or an accrual is a document: its entry is posted once (on import, or when an
approver approves what a person typed) and undone only by the document's cancellation.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from holdings.models.fields import value_field
from holdings.models.setup import Site


class CostKind(models.TextChoices):
    POWER = "power", "Power"
    HOSTING = "hosting", "Hosting"
    OTHER = "other", "Other direct site cost"


class HostingBasis(models.TextChoices):
    PER_KW = "per_kw", "Per kW"
    PER_TH = "per_th", "Per TH/s"
    FIXED = "fixed", "Fixed fee"


class CostOrigin(models.TextChoices):
    FILE = "file", "Imported file"
    TYPED = "typed", "Typed by a person"
    ACCRUAL = "accrual", "Month-end accrual"


class CostStatus(models.TextChoices):
    SUBMITTED = "submitted", "Waiting for approval"
    POSTED = "posted", "Posted"
    REJECTED = "rejected", "Rejected"


class CostFileKind(models.TextChoices):
    INVOICES = "invoices", "Invoices"
    METER_READINGS = "meter_readings", "Meter readings"


def energy_field(**kwargs):  # type: ignore[no-untyped-def]
    """Energy in kWh, to the watt-hour."""
    return models.DecimalField(max_digits=24, decimal_places=3, **kwargs)


class SiteCostFile(models.Model):
    """A CSV file of invoices or meter readings, imported all or nothing."""

    kind = models.CharField(max_length=16, choices=CostFileKind.choices)
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "file_sha256"], name="holdings_site_cost_file_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_kind_display().lower()})"


class SiteCost(models.Model):
    """A site's invoice (power, hosting or other direct cost) or a month-end accrual of one.

    Power: `energy` (kWh x tariff) + `demand` + `taxes` is the cost, `credits` (curtailment
    and demand response) kept apart; `amount` is what is owed, the cost less the credits.
    Hosting and other costs: `amount` alone. An invoice that arrives for a month already
    accrued reverses the accrual in its own entry (`reverses`)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="costs")
    kind = models.CharField(max_length=16, choices=CostKind.choices)
    origin = models.CharField(max_length=16, choices=CostOrigin.choices)
    vendor = models.CharField(max_length=200, blank=True)
    reference = models.CharField("invoice number", max_length=100)
    period_start = models.DateField()
    period_end = models.DateField()
    kwh = energy_field(null=True, blank=True)
    energy = value_field(default=0)
    demand = value_field(default=0)
    taxes = value_field(default=0)
    credits = value_field(default=0)
    amount = value_field()
    hosting_basis = models.CharField(max_length=16, choices=HostingBasis.choices, blank=True)
    description = models.CharField(max_length=500, blank=True)
    paid = models.BooleanField(
        default=False, help_text="Paid in cash when posted (otherwise owed to the vendor)."
    )
    file = models.ForeignKey(
        SiteCostFile, null=True, blank=True, on_delete=models.PROTECT, related_name="costs"
    )
    row = models.PositiveIntegerField(null=True, blank=True)
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by"
    )
    status = models.CharField(max_length=16, choices=CostStatus.choices)
    entry = models.OneToOneField(
        "ledger.JournalEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="site_cost",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-period_end", "site", "kind", "id"]
        indexes = [models.Index(fields=["site", "period_end"], name="holdings_site_cost_period")]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="holdings_site_cost_period_order",
            ),
            models.CheckConstraint(
                condition=Q(energy__gte=0, demand__gte=0, taxes__gte=0, credits__gte=0),
                name="holdings_site_cost_parts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(kind="power")
                | Q(energy=0, demand=0, taxes=0, credits=0, kwh__isnull=True),
                name="holdings_site_cost_power_parts",
            ),
            models.CheckConstraint(
                condition=~Q(kind="power")
                | Q(origin="accrual")
                | Q(
                    amount=models.F("energy")
                    + models.F("demand")
                    + models.F("taxes")
                    - models.F("credits")
                ),
                name="holdings_site_cost_power_total",
            ),
            models.CheckConstraint(
                condition=~Q(status="posted") | Q(entry__isnull=False),
                name="holdings_site_cost_posted_entry",
            ),
            # Maker-checker: nobody decides a cost they recorded (NULLs pass: files, accruals).
            # NOT VALID in the database (holdings/migrations/0028_*.sql).
            models.CheckConstraint(
                condition=~Q(decided_by=models.F("created_by")),
                name="holdings_site_cost_not_self_decided",
            ),
        ]

    def __str__(self) -> str:
        what = "accrual" if self.origin == CostOrigin.ACCRUAL else "invoice"
        return f"{self.site.code} {self.kind} {what} {self.reference}"


class MeterReading(models.Model):
    """Energy a site's meter recorded over a period; `hpc_kwh` is what its sub-meter gave
    to the HPC line of business (zero where none)."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="meter_readings")
    period_start = models.DateField()
    period_end = models.DateField()
    kwh = energy_field()
    hpc_kwh = energy_field(default=0)
    file = models.ForeignKey(
        SiteCostFile, null=True, blank=True, on_delete=models.PROTECT, related_name="readings"
    )
    row = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_end", "site"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "period_start", "period_end"], name="holdings_meter_reading_once"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="holdings_meter_reading_period_order",
            ),
            models.CheckConstraint(
                condition=Q(kwh__gte=0, hpc_kwh__gte=0, hpc_kwh__lte=models.F("kwh")),
                name="holdings_meter_reading_energy",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site_id} {self.period_start}..{self.period_end} {self.kwh} kWh"
