"""A month's close: the review kept with the ledger's period close."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class PeriodCloseReview(models.Model):
    """What the month-end checks said when a finance approver closed a month, and, when
    any failed, why the month was closed anyway. Written once with the close; PostgreSQL
    refuses any change to it (holdings/migrations/0016_period_close_reviews.sql)."""

    period_close = models.OneToOneField(
        "ledger.PeriodClose", on_delete=models.PROTECT, related_name="review"
    )
    month = models.DateField(help_text="The first day of the month closed.")
    # Each check as it stood: {"check": ..., "ok": ..., "reason": ...}.
    checks = models.JSONField(default=list)
    failures = models.PositiveIntegerField(default=0)
    reason = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(failures=0) | ~Q(reason=""),
                name="holdings_close_review_reason_for_failures",
            ),
            models.CheckConstraint(
                condition=Q(month__day=1), name="holdings_close_review_month_start"
            ),
        ]

    def __str__(self) -> str:
        return f"Close review of {self.month:%Y-%m}"

    @property
    def failed(self) -> list[dict]:
        return [check for check in self.checks if not check.get("ok")]
