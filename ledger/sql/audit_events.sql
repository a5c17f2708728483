-- Audit a table's inserts, updates, deletes and truncation, or only some of them (lots,
-- opened by the thousand on an import, are audited from their first change on: their
-- opening is their own row and the audited journal entry that opened them). Released with
-- migration 0008; replaces ledger_audit_attach of audit.sql.

DROP FUNCTION ledger_audit_attach(regclass, text, text[], text[]);

CREATE FUNCTION ledger_audit_attach(
    tbl regclass,
    key text DEFAULT 'id',
    redacted text[] DEFAULT '{}',
    omitted text[] DEFAULT '{}',
    events text[] DEFAULT '{insert,update,delete,truncate}'
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    name text := (SELECT relname FROM pg_class WHERE oid = tbl);
    args text := format('%L, %L, %L', key, redacted, omitted);
BEGIN
    IF NOT events <@ ARRAY['insert', 'update', 'delete', 'truncate'] THEN
        RAISE EXCEPTION 'audit events are insert, update, delete and truncate, not %', events;
    END IF;
    IF 'insert' = ANY (events) THEN
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ledger_audit_rows(%s)',
                       name || '_audit_insert', tbl, args);
    END IF;
    IF 'update' = ANY (events) THEN
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %s '
                       'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ledger_audit_rows(%s)',
                       name || '_audit_update', tbl, args);
    END IF;
    IF 'delete' = ANY (events) THEN
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ledger_audit_rows(%s)',
                       name || '_audit_delete', tbl, args);
    END IF;
    IF 'truncate' = ANY (events) THEN
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %s '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ledger_audit_truncated()',
                       name || '_audit_truncate', tbl);
    END IF;
END $$;

-- The tables audited (for any of the events), for the admin's filter.
CREATE OR REPLACE VIEW ledger_audited_table AS
SELECT DISTINCT c.relname::text AS table_name
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE t.tgname IN (c.relname || '_audit_insert', c.relname || '_audit_update',
                    c.relname || '_audit_delete')
   AND NOT t.tgisinternal;
