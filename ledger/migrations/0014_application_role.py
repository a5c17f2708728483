"""The application's database role: owns nothing, cannot disable triggers.

The migrations run as the tables' owner; the application connects as another role
(settings.DATABASE_APPLICATION_ROLE, the user of DATABASE_URL when DATABASE_OWNER_URL names
the owner). That role may read and write rows, take sequence values and call functions, on
every table, sequence and function of the schema, those of earlier migrations and, by
default privileges, those the owner creates later. It gets no TRUNCATE, REFERENCES or
TRIGGER and owns nothing, so `ALTER TABLE ... DISABLE TRIGGER` is refused to it, and
`session_replication_role` is a superuser's. Nothing happens when no application role is
configured, when it is the owner, or when the role does not exist on this server.
"""

from django.conf import settings
from django.db import migrations

GRANTS = [
    "GRANT USAGE ON SCHEMA {schema} TO {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
    "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
    "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
    "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT EXECUTE ON FUNCTIONS TO {role}",
]

REVOKES = [
    "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE EXECUTE ON FUNCTIONS FROM {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE USAGE, SELECT ON SEQUENCES FROM {role}",
    "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
    "REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {role}",
    "REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA {schema} FROM {role}",
    "REVOKE USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}",
    "REVOKE SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} FROM {role}",
]


def _run(schema_editor, statements):
    role = getattr(settings, "DATABASE_APPLICATION_ROLE", "")
    if not role:
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, current_schema(), "
            "EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)",
            [role],
        )
        owner, schema, exists = cursor.fetchone()
    if not exists or role == owner:
        return
    quote = schema_editor.connection.ops.quote_name
    for statement in statements:
        schema_editor.execute(statement.format(schema=quote(schema), role=quote(role)))


def grant(apps, schema_editor):
    _run(schema_editor, GRANTS)


def revoke(apps, schema_editor):
    _run(schema_editor, REVOKES)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0013_guarded_flag_checked")]

    operations = [migrations.RunPython(grant, revoke)]
