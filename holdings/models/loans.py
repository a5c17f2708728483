"""Collateralized loans and every event on them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from holdings.models.fields import CODE_VALIDATOR, quantity_field


class DayCount(models.TextChoices):
    ACT_365 = "ACT/365", "Actual/365"
    ACT_360 = "ACT/360", "Actual/360"


class Loan(models.Model):
    """A loan against collateral, with its own ledger accounts and LTV tiers."""

    code = models.CharField(max_length=27, unique=True, validators=[CODE_VALIDATOR])
    lender = models.CharField(max_length=200)
    principal_commodity = models.ForeignKey(
        "ledger.Commodity", on_delete=models.PROTECT, related_name="+"
    )
    collateral_commodity = models.ForeignKey(
        "ledger.Commodity", on_delete=models.PROTECT, related_name="+"
    )
    annual_rate = models.DecimalField(max_digits=9, decimal_places=6)
    day_count = models.CharField(max_length=8, choices=DayCount.choices)
    start_date = models.DateField()
    maturity_date = models.DateField()
    warning_ltv = models.DecimalField(max_digits=6, decimal_places=4)
    margin_call_ltv = models.DecimalField(max_digits=6, decimal_places=4)
    liquidation_ltv = models.DecimalField(max_digits=6, decimal_places=4)
    cure_hours = models.PositiveIntegerField(default=72)
    principal_account = models.OneToOneField(
        "ledger.Account", on_delete=models.PROTECT, related_name="loan_principal"
    )
    interest_account = models.OneToOneField(
        "ledger.Account", on_delete=models.PROTECT, related_name="loan_interest"
    )
    pledged_account = models.OneToOneField(
        "ledger.Account", on_delete=models.PROTECT, related_name="loan_pledged"
    )
    lent_account = models.OneToOneField(
        "ledger.Account", on_delete=models.PROTECT, related_name="loan_lent"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(annual_rate__gte=0), name="holdings_loan_rate"),
            models.CheckConstraint(
                condition=Q(warning_ltv__gt=0)
                & Q(margin_call_ltv__gt=models.F("warning_ltv"))
                & Q(liquidation_ltv__gt=models.F("margin_call_ltv")),
                name="holdings_loan_tiers_ascend",
            ),
            models.CheckConstraint(
                condition=Q(maturity_date__gt=models.F("start_date")), name="holdings_loan_term"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.lender})"


class LoanEventKind(models.TextChoices):
    DRAW = "draw", "Draw"
    PLEDGE = "pledge", "Collateral pledged"
    RELEASE = "release", "Collateral released"
    ACCRUAL = "accrual", "Interest accrued"
    REPAYMENT = "repayment", "Repayment"
    LIQUIDATION = "liquidation", "Liquidation"
    TIER = "tier", "LTV tier crossed"


class LoanEvent(models.Model):
    """Everything that happened to a loan, each with the entry it posted (if any)."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=LoanEventKind.choices)
    effective_date = models.DateField()
    amount = quantity_field(default=0)  # in the principal's commodity
    units = quantity_field(default=0)  # of collateral
    details = models.JSONField(default=dict, blank=True)
    entry = models.OneToOneField(
        "ledger.JournalEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="loan_event",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # A day's interest accrued again once its accrual is cancelled, or once the principal it
    # found has changed where it posted nothing: counted from 1 (other events are 1).
    attempt = models.PositiveSmallIntegerField(default=1, db_default=1)

    class Meta:
        ordering = ["effective_date", "id"]
        constraints = [
            # Interest accrues once per loan, day and attempt.
            models.UniqueConstraint(
                fields=["loan", "effective_date", "attempt"],
                condition=Q(kind="accrual"),
                name="holdings_loan_accrual_attempt_once",
            ),
            models.CheckConstraint(
                condition=Q(attempt=1) | Q(kind="accrual", attempt__gt=1),
                name="holdings_loan_event_attempt_counted",
            ),
            # Only a tier crossing and an accrual of nothing post no entry (migration 0037).
            models.CheckConstraint(
                condition=Q(entry__isnull=False) | Q(kind="tier") | Q(kind="accrual", amount=0),
                name="holdings_loan_event_posted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} {self.kind} {self.effective_date}"
