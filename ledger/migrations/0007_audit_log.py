"""The audit log and its triggers on the ledger's tables, the users, groups and tokens, and
the nightly jobs' schedule (ledger/sql/audit.sql)."""

from pathlib import Path

import django.contrib.postgres.indexes
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import ledger.models

SQL = (Path(__file__).resolve().parent.parent / "sql" / "audit.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0006_manual_journals"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditLog",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField()),
                (
                    "transaction_id",
                    models.BigIntegerField(help_text="Rows changed together share it."),
                ),
                ("table_name", models.CharField(max_length=63)),
                ("record_id", models.CharField(blank=True, max_length=200)),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("insert", "Created"),
                            ("update", "Changed"),
                            ("delete", "Deleted"),
                            ("truncate", "Emptied (TRUNCATE)"),
                        ],
                        max_length=8,
                    ),
                ),
                (
                    "old",
                    models.JSONField(blank=True, decoder=ledger.models.ExactJSONDecoder, null=True),
                ),
                (
                    "new",
                    models.JSONField(blank=True, decoder=ledger.models.ExactJSONDecoder, null=True),
                ),
                ("actor", models.CharField(max_length=200)),
                ("context", models.CharField(blank=True, max_length=300)),
            ],
            options={
                "verbose_name": "audit log entry",
                "verbose_name_plural": "audit log",
                "ordering": ["-id"],
            },
        ),
        migrations.AddField(
            model_name="auditlog",
            name="actor_user",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="auditlog",
            index=models.Index(fields=["table_name", "record_id"], name="ledger_audit_record"),
        ),
        migrations.AddIndex(
            model_name="auditlog",
            index=models.Index(fields=["actor"], name="ledger_audit_actor"),
        ),
        migrations.AddIndex(
            model_name="auditlog",
            index=django.contrib.postgres.indexes.BrinIndex(fields=["at"], name="ledger_audit_at"),
        ),
        migrations.RunSQL(SQL),
    ]
