"""Closed periods: the books closed through a date, and reopened with a reason."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


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
