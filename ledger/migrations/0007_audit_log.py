"""The audit log and its triggers on the ledger's tables, the users, groups and tokens, and
the nightly jobs' schedule (ledger/migrations/0007_audit_log.sql)."""

from pathlib import Path

import django.contrib.postgres.indexes
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import ledger.models

SQL = Path(__file__).with_suffix(".sql").read_text()
# On the way back, what the SQL created is dropped and what it replaced restored.
REVERSE = [
    "SELECT ledger_audit_detach('auth_group')",
    "SELECT ledger_audit_detach('auth_group_permissions')",
    "SELECT ledger_audit_detach('auth_user')",
    "SELECT ledger_audit_detach('auth_user_groups')",
    "SELECT ledger_audit_detach('auth_user_user_permissions')",
    "SELECT ledger_audit_detach('authtoken_token')",
    "SELECT ledger_audit_detach('django_celery_beat_crontabschedule')",
    "SELECT ledger_audit_detach('django_celery_beat_intervalschedule')",
    "SELECT ledger_audit_detach('django_celery_beat_periodictask')",
    "SELECT ledger_audit_detach('ledger_account')",
    "SELECT ledger_audit_detach('ledger_commodity')",
    "SELECT ledger_audit_detach('ledger_journalentry')",
    "SELECT ledger_audit_detach('ledger_manualjournal')",
    "SELECT ledger_audit_detach('ledger_manualjournalline')",
    "SELECT ledger_audit_detach('ledger_periodclose')",
    "DROP TRIGGER ledger_audit_log_immutable ON ledger_auditlog",
    "DROP TRIGGER ledger_audit_log_insert ON ledger_auditlog",
    "DROP TRIGGER ledger_audit_log_no_truncate ON ledger_auditlog",
    "DROP VIEW ledger_audited_table",
    "DROP FUNCTION ledger_audit_attach(regclass,text,text[],text[])",
    "DROP FUNCTION ledger_audit_clean(jsonb,text[])",
    "DROP FUNCTION ledger_audit_detach(regclass)",
    "DROP FUNCTION ledger_audit_log_guard()",
    "DROP FUNCTION ledger_audit_rows()",
    "DROP FUNCTION ledger_audit_truncated()",
]


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
        migrations.RunSQL(SQL, REVERSE),
    ]
