"""Fair value remeasurements (ASC 350-60) and the price that measured them."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from holdings.models.fields import quantity_field, value_field
from holdings.models.prices import Price


class Remeasurement(models.Model):
    """A fair value remeasurement of one commodity at one date, with its price evidence."""

    commodity = models.ForeignKey("ledger.Commodity", on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField()
    price = models.ForeignKey(Price, on_delete=models.PROTECT, related_name="+")
    units = quantity_field()
    carrying_value_before = value_field()
    fair_value = value_field()
    adjustment = value_field()
    lots = models.PositiveIntegerField()
    # A day is remeasured again only once its earlier attempt is cancelled: 1, 2, ...
    attempt = models.PositiveSmallIntegerField(default=1)
    entry = models.OneToOneField(
        "ledger.JournalEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="remeasurement",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of", "commodity"]
        constraints = [
            models.UniqueConstraint(
                fields=["commodity", "as_of", "attempt"],
                name="holdings_remeasurement_attempt_once",
            ),
            models.CheckConstraint(
                condition=models.Q(attempt__gte=1), name="holdings_remeasurement_attempt_counted"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.commodity_id} remeasured at {self.as_of}"
