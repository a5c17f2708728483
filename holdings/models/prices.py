"""Daily prices, kept as the evidence the books used."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from ledger.fields import ExactDecimalField


class Price(models.Model):
    """One price per base, quote and timestamp: the evidence behind every valuation."""

    base = models.ForeignKey("ledger.Commodity", on_delete=models.PROTECT, related_name="+")
    quote = models.ForeignKey("ledger.Commodity", on_delete=models.PROTECT, related_name="+")
    timestamp = models.DateTimeField()
    price = ExactDecimalField(max_digits=38, decimal_places=18)
    source = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["base", "quote", "-timestamp"]
        constraints = [
            models.UniqueConstraint(
                fields=["base", "quote", "timestamp"], name="holdings_price_one_per_timestamp"
            ),
            models.CheckConstraint(condition=Q(price__gt=0), name="holdings_price_positive"),
            models.CheckConstraint(
                condition=~Q(base=models.F("quote")), name="holdings_price_pair"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.base_id}/{self.quote_id} {self.timestamp:%Y-%m-%dT%H:%M:%SZ} {self.price}"
