"""The audit log: every change of state of an audited table, as PostgreSQL's triggers wrote
it."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models


class AuditAction(models.TextChoices):
    INSERT = "insert", "Created"
    UPDATE = "update", "Changed"
    DELETE = "delete", "Deleted"
    TRUNCATE = "truncate", "Emptied (TRUNCATE)"


class ExactJSONDecoder(json.JSONDecoder):
    """JSON numbers with a fraction read as Decimal: a quantity keeps every digit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("parse_float", Decimal)
        super().__init__(*args, **kwargs)


class AuditLog(models.Model):
    """Every change of state of an audited table: written only by PostgreSQL triggers
    (ledger/sql/audit.sql), never changed or deleted.

    `actor` is who acted: "user:<username>" (a request), "task:<name>" (a Celery task),
    "command:<name>" (a management command) or "db:<role>" (anything else, raw SQL).
    """

    at = models.DateTimeField(db_index=False)
    transaction_id = models.BigIntegerField(help_text="Rows changed together share it.")
    table_name = models.CharField(max_length=63)
    record_id = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=8, choices=AuditAction.choices)
    old = models.JSONField(null=True, blank=True, decoder=ExactJSONDecoder)
    new = models.JSONField(null=True, blank=True, decoder=ExactJSONDecoder)
    actor = models.CharField(max_length=200)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,  # the log outlives whatever it names
        related_name="+",
        db_index=False,
    )
    context = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        # Few indexes: every one is paid for by every audited write.
        indexes = [
            models.Index(fields=["table_name", "record_id"], name="ledger_audit_record"),
            models.Index(fields=["actor"], name="ledger_audit_actor"),
            BrinIndex(fields=["at"], name="ledger_audit_at"),
        ]

    def __str__(self) -> str:
        when = f"{self.at:%Y-%m-%d %H:%M:%S}"
        return f"{when} {self.actor} {self.action} {self.table_name} {self.record_id}"
