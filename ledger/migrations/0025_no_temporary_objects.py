"""Nobody but the owner creates objects in the ledger's database: TEMPORARY is revoked from
PUBLIC and from the application's role.

A role that may create temporary tables may also put triggers of its own on them, and
statements those triggers run count as nested trigger work (pg_trigger_depth() > 0), which is
how the ledger's guards tell its own writes to the roll-ups, the audit log and the checks
pending at commit from anyone else's. Without TEMPORARY the application's role owns nothing
and creates nothing, so only the ledger's triggers nest. The application never needs a
temporary table. A REVOKE by a role that is not the database's owner changes nothing and
PostgreSQL only warns: `manage.py check --deploy` then reports the privilege
(cango_treasury.W002).
"""

from django.conf import settings
from django.db import migrations


def _grantees(schema_editor) -> list[str]:
    quote = schema_editor.connection.ops.quote_name
    grantees = ["PUBLIC"]
    role = getattr(settings, "DATABASE_APPLICATION_ROLE", "")
    if role:
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_user <> %s AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s)",
                [role, role],
            )
            (other,) = cursor.fetchone()
        if other:
            grantees.append(quote(role))
    return grantees


def _database(schema_editor) -> str:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        (name,) = cursor.fetchone()
    return schema_editor.connection.ops.quote_name(name)


def revoke(apps, schema_editor):
    database = _database(schema_editor)
    for grantee in _grantees(schema_editor):
        schema_editor.execute(f"REVOKE TEMPORARY ON DATABASE {database} FROM {grantee}")


def grant(apps, schema_editor):
    # PostgreSQL's default: every role may create temporary tables.
    schema_editor.execute(f"GRANT TEMPORARY ON DATABASE {_database(schema_editor)} TO PUBLIC")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0024_posting_amounts_fit")]

    operations = [migrations.RunPython(revoke, grant)]
