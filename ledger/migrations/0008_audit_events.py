"""A table can be audited for some events only (0008_audit_events.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
# On the way back, what the SQL created is dropped and what it replaced restored.
REVERSE = [
    "DROP FUNCTION ledger_audit_attach(regclass,text,text[],text[],text[])",
    """
CREATE OR REPLACE FUNCTION ledger_audit_attach(tbl regclass, key text DEFAULT 'id'::text, redacted text[] DEFAULT '{}'::text[], omitted text[] DEFAULT '{}'::text[])
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
    name text := (SELECT relname FROM pg_class WHERE oid = tbl);
    args text := format('%L, %L, %L', key, redacted, omitted);
BEGIN
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION ledger_audit_rows(%s)',
                   name || '_audit_insert', tbl, args);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s '
                   'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION ledger_audit_rows(%s)',
                   name || '_audit_update', tbl, args);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION ledger_audit_rows(%s)',
                   name || '_audit_delete', tbl, args);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION ledger_audit_truncated()',
                   name || '_audit_truncate', tbl);
END $function$
""",
]


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_audit_log")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
