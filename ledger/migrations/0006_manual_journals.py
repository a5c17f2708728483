"""Manual journals: drafted and submitted by a maker, approved (then posted) or rejected
with a reason by a finance approver who is not the maker (ledger/sql/manual_journals.sql)."""

from pathlib import Path

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import ledger.fields

SQL = (Path(__file__).resolve().parent.parent / "sql" / "manual_journals.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0005_account_commodity_key"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ManualJournal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("draft", "Draft"),
                            ("submitted", "Submitted for approval"),
                            ("approved", "Approved and posted"),
                            ("rejected", "Rejected"),
                        ],
                        default="draft",
                        max_length=16,
                    ),
                ),
                ("effective_date", models.DateField()),
                ("memo", models.TextField()),
                ("kind", models.CharField(default="manual", max_length=32)),
                ("idempotency_key", models.CharField(blank=True, max_length=200, null=True)),
                ("payload_hash", models.CharField(blank=True, max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("submitted_at", models.DateTimeField(blank=True, null=True)),
                ("approved_at", models.DateTimeField(blank=True, null=True)),
                ("rejected_at", models.DateTimeField(blank=True, null=True)),
                ("rejection_reason", models.TextField(blank=True)),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
        migrations.CreateModel(
            name="ManualJournalLine",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("quantity", ledger.fields.ExactDecimalField(decimal_places=18, max_digits=38)),
                ("value", ledger.fields.ExactDecimalField(decimal_places=2, max_digits=24)),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.AddConstraint(
            model_name="journalentry",
            constraint=models.CheckConstraint(
                condition=models.Q(("approved_by", models.F("created_by")), _negated=True),
                name="ledger_entry_not_self_approved",
            ),
        ),
        migrations.AddField(
            model_name="manualjournal",
            name="approved_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="manualjournal",
            name="created_by",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="manualjournal",
            name="entry",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="manual_journal",
                to="ledger.journalentry",
            ),
        ),
        migrations.AddField(
            model_name="manualjournal",
            name="rejected_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="manualjournalline",
            name="account",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="ledger.account"
            ),
        ),
        migrations.AddField(
            model_name="manualjournalline",
            name="journal",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="lines",
                to="ledger.manualjournal",
            ),
        ),
        migrations.AddIndex(
            model_name="manualjournal",
            index=models.Index(fields=["status", "id"], name="ledger_mj_status"),
        ),
        migrations.AddConstraint(
            model_name="manualjournal",
            constraint=models.UniqueConstraint(
                condition=models.Q(("idempotency_key__isnull", False)),
                fields=("idempotency_key",),
                name="ledger_mj_idempotency_key",
            ),
        ),
        migrations.AddConstraint(
            model_name="manualjournal",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["draft", "submitted", "approved", "rejected"])),
                name="ledger_mj_status_known",
            ),
        ),
        migrations.AddConstraint(
            model_name="manualjournal",
            constraint=models.CheckConstraint(
                condition=models.Q(("approved_by", models.F("created_by")), _negated=True),
                name="ledger_mj_not_self_approved",
            ),
        ),
        migrations.AddConstraint(
            model_name="manualjournal",
            constraint=models.CheckConstraint(
                condition=models.Q(("rejected_by", models.F("created_by")), _negated=True),
                name="ledger_mj_not_self_rejected",
            ),
        ),
        migrations.AddConstraint(
            model_name="manualjournal",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("approved_at__isnull", True),
                        ("approved_by__isnull", True),
                        ("entry__isnull", True),
                        ("rejected_at__isnull", True),
                        ("rejected_by__isnull", True),
                        ("rejection_reason", ""),
                        ("status", "draft"),
                        ("submitted_at__isnull", True),
                    ),
                    models.Q(
                        ("approved_at__isnull", True),
                        ("approved_by__isnull", True),
                        ("entry__isnull", True),
                        ("rejected_at__isnull", True),
                        ("rejected_by__isnull", True),
                        ("rejection_reason", ""),
                        ("status", "submitted"),
                        ("submitted_at__isnull", False),
                    ),
                    models.Q(
                        ("approved_at__isnull", False),
                        ("approved_by__isnull", False),
                        ("entry__isnull", False),
                        ("rejected_at__isnull", True),
                        ("rejected_by__isnull", True),
                        ("rejection_reason", ""),
                        ("status", "approved"),
                        ("submitted_at__isnull", False),
                    ),
                    models.Q(
                        ("approved_at__isnull", True),
                        ("approved_by__isnull", True),
                        ("entry__isnull", True),
                        ("rejected_at__isnull", False),
                        ("rejected_by__isnull", False),
                        ("status", "rejected"),
                        ("submitted_at__isnull", False),
                        models.Q(("rejection_reason", ""), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="ledger_mj_state_complete",
            ),
        ),
        migrations.AddConstraint(
            model_name="manualjournalline",
            constraint=models.CheckConstraint(
                condition=models.Q(("quantity", 0), ("value", 0), _negated=True),
                name="ledger_mj_line_not_empty",
            ),
        ),
        migrations.AddConstraint(
            model_name="manualjournalline",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("quantity__gt", 0), ("value__lt", 0), _negated=True),
                    models.Q(("quantity__lt", 0), ("value__gt", 0), _negated=True),
                ),
                name="ledger_mj_line_signs_agree",
            ),
        ),
        migrations.RunSQL(SQL),
    ]
