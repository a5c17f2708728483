"""Commodities and the chart of accounts, and the sizes of the columns that hold amounts."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

QUANTITY_DIGITS = 38
QUANTITY_PLACES = 18
VALUE_DIGITS = 24
VALUE_PLACES = 2
# Digits before the point an amount may have: the columns' sizes (their sums, of 60
# digits, then never round).
QUANTITY_WHOLE_DIGITS = QUANTITY_DIGITS - QUANTITY_PLACES
VALUE_WHOLE_DIGITS = VALUE_DIGITS - VALUE_PLACES


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
