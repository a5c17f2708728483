"""Cancellations of documents: asked for by one person, approved by another, the only way an
entry is reversed; PostgreSQL refuses any other reversal (ledger/migrations/0012_cancellations.sql)."""

from pathlib import Path

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

SQL = Path(__file__).with_suffix(".sql").read_text()

REVERSE_SQL = """
DROP TRIGGER ledger_reversal_not_reversed ON ledger_journalentry;
DROP TRIGGER ledger_reversal_by_cancellation ON ledger_journalentry;
DROP FUNCTION ledger_reversal_not_reversed();
DROP FUNCTION ledger_reversal_by_cancellation();
SELECT ledger_audit_detach('ledger_cancellation');
DROP TRIGGER ledger_cancellation_guard ON ledger_cancellation;
DROP TRIGGER ledger_cancellation_no_truncate ON ledger_cancellation;
DROP TRIGGER ledger_cancellation_created ON ledger_cancellation;
DROP TRIGGER ledger_cancellation_reverses_entry ON ledger_cancellation;
DROP FUNCTION ledger_cancellation_guard();
DROP FUNCTION ledger_cancellation_created();
DROP FUNCTION ledger_cancellation_reverses_entry();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0011_journal_seal_schedule"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Cancellation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("document", models.CharField(max_length=200)),
                (
                    "effective_date",
                    models.DateField(help_text="The date the reversal is posted at."),
                ),
                ("reason", models.TextField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("requested", "Requested, awaiting approval"),
                            ("approved", "Approved and reversed"),
                            ("rejected", "Rejected"),
                        ],
                        default="requested",
                        max_length=16,
                    ),
                ),
                ("idempotency_key", models.CharField(blank=True, max_length=200, null=True)),
                ("payload_hash", models.CharField(blank=True, max_length=64)),
                ("requested_at", models.DateTimeField(auto_now_add=True)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("rejection_reason", models.TextField(blank=True)),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "entry",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cancellations",
                        to="ledger.journalentry",
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "reversal",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cancelled_by",
                        to="ledger.journalentry",
                    ),
                ),
            ],
            options={
                "ordering": ["-id"],
                "indexes": [models.Index(fields=["status", "id"], name="ledger_cancel_status")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "rejected"), _negated=True),
                        fields=("entry",),
                        name="ledger_cancel_once_per_entry",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("idempotency_key__isnull", False)),
                        fields=("idempotency_key",),
                        name="ledger_cancel_idempotency_key",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("status__in", ["requested", "approved", "rejected"])),
                        name="ledger_cancel_status_known",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("decided_by", models.F("requested_by")), _negated=True),
                        name="ledger_cancel_not_self_decided",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("decided_at__isnull", True),
                                ("decided_by__isnull", True),
                                ("rejection_reason", ""),
                                ("reversal__isnull", True),
                                ("status", "requested"),
                            ),
                            models.Q(
                                ("decided_at__isnull", False),
                                ("decided_by__isnull", False),
                                ("rejection_reason", ""),
                                ("reversal__isnull", False),
                                ("status", "approved"),
                            ),
                            models.Q(
                                ("decided_at__isnull", False),
                                ("decided_by__isnull", False),
                                ("reversal__isnull", True),
                                ("status", "rejected"),
                                models.Q(("rejection_reason", ""), _negated=True),
                            ),
                            _connector="OR",
                        ),
                        name="ledger_cancel_state_complete",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("reason", ""), _negated=True),
                        name="ledger_cancel_has_reason",
                    ),
                ],
            },
        ),
        migrations.RunSQL(SQL, REVERSE_SQL),
    ]
