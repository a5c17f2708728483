"""Requests done once: the Idempotency-Key of a write and what it answered."""

from __future__ import annotations

from django.db import models


class RequestKey(models.Model):
    """An Idempotency-Key a client sent with a write, the hash of what it asked and what it
    created: the same request again answers the same record; other content is refused."""

    key = models.CharField(max_length=200, unique=True)
    # What the key created: a transfer, or a loan's or an asset's event of a kind (their code,
    # up to 27 characters, and the kind's name).
    scope = models.CharField(max_length=100)
    payload_hash = models.CharField(max_length=64)
    result_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
