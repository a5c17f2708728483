"""Supporting documents of manual journals, kept in the database with their size and
SHA-256; PostgreSQL checks the hash against the bytes and refuses to add, change or delete a
document of an approved journal (ledger/migrations/0017_manual_journal_attachments.sql)."""

from pathlib import Path

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

SQL = Path(__file__).with_suffix(".sql").read_text()

REVERSE_SQL = """
SELECT ledger_audit_detach('ledger_manualjournalattachment');
DROP TRIGGER ledger_mj_attachment_no_truncate ON ledger_manualjournalattachment;
DROP TRIGGER ledger_mj_attachment_guard ON ledger_manualjournalattachment;
DROP FUNCTION ledger_mj_attachment_guard();
ALTER TABLE ledger_manualjournalattachment DROP CONSTRAINT ledger_mj_attachment_digest;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0016_hashed_tokens"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ManualJournalAttachment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("file_name", models.CharField(max_length=255)),
                ("content_type", models.CharField(max_length=100)),
                ("size", models.BigIntegerField()),
                ("sha256", models.CharField(max_length=64)),
                ("content", models.BinaryField()),
                ("uploaded_at", models.DateTimeField(auto_now_add=True)),
                (
                    "journal",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="attachments",
                        to="ledger.manualjournal",
                    ),
                ),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("size__gt", 0)),
                        name="ledger_mj_attachment_not_empty",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("file_name", ""), _negated=True),
                        name="ledger_mj_attachment_has_name",
                    ),
                ],
            },
        ),
        migrations.RunSQL(SQL, REVERSE_SQL),
    ]
