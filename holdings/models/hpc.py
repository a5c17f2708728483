"""The HPC line of business: compute capacity leased to customers at the company's sites,
and the revenue of each contract recognised month by month over its term."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from holdings.models.costs import energy_field
from holdings.models.fields import CODE_VALIDATOR, value_field
from holdings.models.setup import Site


class HpcContract(models.Model):
    """A customer's lease of `capacity_mw` at a site from `start` for `term_months`: a fixed
    fee a month (recognised day by day over the service period) and a fee per kWh its
    sub-meter records."""

    code = models.CharField(max_length=27, unique=True, validators=[CODE_VALIDATOR])
    customer = models.CharField(max_length=200)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="hpc_contracts")
    capacity_mw = models.DecimalField("contracted capacity (MW)", max_digits=12, decimal_places=3)
    monthly_fee = value_field()
    usage_rate = models.DecimalField("usage fee (USD per kWh)", max_digits=18, decimal_places=6)
    start = models.DateField()
    term_months = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "HPC contract"
        constraints = [
            models.CheckConstraint(
                condition=Q(capacity_mw__gt=0, monthly_fee__gte=0, usage_rate__gte=0),
                name="holdings_hpc_contract_amounts",
            ),
            models.CheckConstraint(
                condition=Q(term_months__gte=1, term_months__lte=600),
                name="holdings_hpc_contract_term",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.customer}"


class HpcRevenue(models.Model):
    """A contract's revenue for one month: the fixed fee for the days in service and the
    usage fee of the kWh metered, posted Dr 1350 / Cr 4200 (the site's) at the month end."""

    contract = models.ForeignKey(HpcContract, on_delete=models.PROTECT, related_name="revenue")
    month = models.DateField()
    days = models.PositiveIntegerField()
    fixed_fee = value_field()
    usage_kwh = energy_field()
    usage_fee = value_field()
    amount = value_field()
    entry = models.OneToOneField(
        "ledger.JournalEntry", on_delete=models.PROTECT, related_name="hpc_revenue"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "contract"]
        verbose_name = "HPC revenue"
        verbose_name_plural = "HPC revenue"
        constraints = [
            models.CheckConstraint(
                condition=Q(month__day=1), name="holdings_hpc_revenue_month_start"
            ),
            models.CheckConstraint(
                condition=Q(amount=models.F("fixed_fee") + models.F("usage_fee")),
                name="holdings_hpc_revenue_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.month:%Y-%m} {self.amount}"
