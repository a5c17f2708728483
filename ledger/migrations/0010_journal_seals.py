"""The sealed journal: one seal per posted entry in a hash chain, insert-only, each checked
by PostgreSQL against its own hashes and the seal before it (ledger/sql/seals.sql)."""

from pathlib import Path

import django.db.models.functions.datetime
from django.db import migrations, models

SQL = (Path(__file__).resolve().parent.parent / "sql" / "seals.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0009_audit_plain_rows"),
    ]

    operations = [
        migrations.CreateModel(
            name="JournalSeal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sequence", models.BigIntegerField(unique=True)),
                ("entry_id", models.BigIntegerField(unique=True)),
                ("previous_hash", models.CharField(max_length=64)),
                (
                    "header_hash",
                    models.CharField(help_text="The entry's own fields.", max_length=64),
                ),
                (
                    "postings_hash",
                    models.CharField(help_text="The entry's postings.", max_length=64),
                ),
                (
                    "postings",
                    models.PositiveIntegerField(help_text="How many postings were sealed."),
                ),
                ("content_hash", models.CharField(max_length=64)),
                ("entry_hash", models.CharField(max_length=64)),
                (
                    "sealed_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
                ),
            ],
            options={
                "ordering": ["-sequence"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("previous_hash__regex", "^[0-9a-f]{64}$"),
                            ("header_hash__regex", "^[0-9a-f]{64}$"),
                            ("postings_hash__regex", "^[0-9a-f]{64}$"),
                            ("content_hash__regex", "^[0-9a-f]{64}$"),
                            ("entry_hash__regex", "^[0-9a-f]{64}$"),
                        ),
                        name="ledger_seal_hashes_hex",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("sequence__gt", 0)), name="ledger_seal_sequence"
                    ),
                    models.UniqueConstraint(
                        fields=("previous_hash",), name="ledger_seal_one_successor"
                    ),
                ],
            },
        ),
        migrations.RunSQL(SQL),
    ]
