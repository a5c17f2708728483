-- The audit log: every change of state of an audited table, written by PostgreSQL itself so
-- that no client can change a row unrecorded. Released with migration 0007; a change is a
-- new file and a new migration. Violations are SQLSTATE 23514 (ledger_violation).
--
-- One statement-level trigger per table and operation reads the statement's transition
-- table and writes one log row per row changed, set-based: an import that writes thousands
-- of rows in one statement (COPY included) adds one INSERT ... SELECT, not a call per row.
-- Each log row keeps the table, the row's key, the action, the row as inserted or deleted
-- (for an update only the columns that changed, before and after), who acted and when.
--
-- Who acted comes from settings of the session, set by the application (ledger.audit) for a
-- request, a Celery task or a management command, and cleared after it:
--   cango.actor          "user:<username>", "task:<name>", "command:<name>"
--   cango.actor_user_id  the user's id, for a request
--   cango.context        what was running ("POST /api/v1/...", "task <id>", ...)
-- Without them (psql, raw SQL), the actor is the database role: "db:<role>".

-- Columns whose values are secrets are logged as "[redacted]": the log shows they changed.
CREATE FUNCTION ledger_audit_clean(j jsonb, redacted text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN j IS NULL OR cardinality(redacted) = 0 THEN j
        ELSE j || coalesce((SELECT jsonb_object_agg(k, '"[redacted]"'::jsonb)
                              FROM unnest(redacted) AS k WHERE j ? k), '{}'::jsonb)
    END
$$;

-- Arguments (from ledger_audit_attach): the key column, the redacted columns, the columns
-- left out of the log (bulky or noise: a file's content, a login's timestamp; an update that
-- changes only those is not logged).
CREATE FUNCTION ledger_audit_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_key text := TG_ARGV[0];
    v_redacted text[] := TG_ARGV[1]::text[];
    v_omitted text[] := TG_ARGV[2]::text[];
    v_at timestamptz := clock_timestamp();
    v_xact bigint := pg_current_xact_id()::text::bigint;
    v_actor text := left(coalesce(nullif(current_setting('cango.actor', true), ''),
                                  'db:' || session_user), 200);
    v_actor_id text := current_setting('cango.actor_user_id', true);
    v_actor_user bigint := CASE WHEN v_actor_id ~ '^[0-9]{1,18}$' THEN v_actor_id::bigint END;
    v_context text := left(coalesce(current_setting('cango.context', true), ''), 300);
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO ledger_auditlog (at, transaction_id, table_name, record_id, action, old, new,
                                     actor, actor_user_id, context)
        SELECT v_at, v_xact, TG_TABLE_NAME, coalesce(r.j ->> v_key, ''), 'insert', NULL,
               ledger_audit_clean(r.j - v_omitted, v_redacted), v_actor, v_actor_user, v_context
          FROM (SELECT to_jsonb(n) AS j FROM new_rows n) r;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO ledger_auditlog (at, transaction_id, table_name, record_id, action, old, new,
                                     actor, actor_user_id, context)
        SELECT v_at, v_xact, TG_TABLE_NAME, coalesce(r.j ->> v_key, ''), 'delete',
               ledger_audit_clean(r.j - v_omitted, v_redacted), NULL, v_actor, v_actor_user, v_context
          FROM (SELECT to_jsonb(o) AS j FROM old_rows o) r;
    ELSE
        -- Old and new rows are paired by key; a row whose key changed is logged with its
        -- whole old row (new: null) and its whole new row (old: null).
        INSERT INTO ledger_auditlog (at, transaction_id, table_name, record_id, action, old, new,
                                     actor, actor_user_id, context)
        SELECT v_at, v_xact, TG_TABLE_NAME, coalesce(n.j ->> v_key, o.j ->> v_key, ''), 'update',
               ledger_audit_clean(CASE WHEN n.j IS NULL THEN o.j WHEN o.j IS NULL THEN NULL
                                       ELSE d.was END, v_redacted),
               ledger_audit_clean(d.now, v_redacted), v_actor, v_actor_user, v_context
          FROM (SELECT to_jsonb(o) - v_omitted AS j FROM old_rows o) o
          FULL JOIN (SELECT to_jsonb(n) - v_omitted AS j FROM new_rows n) n
            ON n.j -> v_key = o.j -> v_key
         CROSS JOIN LATERAL (
              SELECT jsonb_object_agg(e.key, o.j -> e.key) AS was,
                     jsonb_object_agg(e.key, e.value) AS now
                FROM jsonb_each(n.j) e
               WHERE o.j IS NULL OR e.value IS DISTINCT FROM o.j -> e.key
         ) d
         WHERE d.now IS NOT NULL OR n.j IS NULL;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION ledger_audit_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    actor_id text := current_setting('cango.actor_user_id', true);
BEGIN
    INSERT INTO ledger_auditlog (at, transaction_id, table_name, record_id, action, old, new,
                                 actor, actor_user_id, context)
    VALUES (clock_timestamp(), pg_current_xact_id()::text::bigint, TG_TABLE_NAME, '',
            'truncate', NULL, NULL,
            left(coalesce(nullif(current_setting('cango.actor', true), ''),
                          'db:' || session_user), 200),
            CASE WHEN actor_id ~ '^[0-9]{1,18}$' THEN actor_id::bigint END,
            left(coalesce(current_setting('cango.context', true), ''), 300));
    RETURN NULL;
END $$;

-- Audit a table: its inserts, updates, deletes and truncation. Used by the migrations of
-- every app (holdings attaches its own tables).
CREATE FUNCTION ledger_audit_attach(
    tbl regclass,
    key text DEFAULT 'id',
    redacted text[] DEFAULT '{}',
    omitted text[] DEFAULT '{}'
) RETURNS void
LANGUAGE plpgsql AS $$
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
END $$;

CREATE FUNCTION ledger_audit_detach(tbl regclass) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    name text := (SELECT relname FROM pg_class WHERE oid = tbl);
    action text;
BEGIN
    FOREACH action IN ARRAY ARRAY['insert', 'update', 'delete', 'truncate'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', name || '_audit_' || action, tbl);
    END LOOP;
END $$;

-- The tables audited, for the admin's filter and the API's documentation.
CREATE VIEW ledger_audited_table AS
SELECT DISTINCT c.relname::text AS table_name
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE t.tgname = c.relname || '_audit_insert' AND NOT t.tgisinternal;

-- The log itself: written only by the triggers above, never changed, deleted or truncated.
CREATE FUNCTION ledger_audit_log_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF pg_trigger_depth() < 2 THEN
            PERFORM ledger_violation('ledger_audit_log_written_by_triggers',
                'the audit log is written by the audit triggers only');
        END IF;
        RETURN NULL;
    END IF;
    PERFORM ledger_violation('ledger_audit_log_immutable',
        format('the audit log is append-only: its rows cannot be %s',
               CASE TG_OP WHEN 'UPDATE' THEN 'updated' WHEN 'DELETE' THEN 'deleted'
                          ELSE 'truncated' END));
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_audit_log_insert BEFORE INSERT ON ledger_auditlog
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_audit_log_guard();
CREATE TRIGGER ledger_audit_log_immutable BEFORE UPDATE OR DELETE ON ledger_auditlog
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_audit_log_guard();
CREATE TRIGGER ledger_audit_log_no_truncate BEFORE TRUNCATE ON ledger_auditlog
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_audit_log_guard();

-- The ledger's own tables, and who may use the system. The journal's entries are logged as
-- they are posted (they can never change); postings are not (see README: The audit log).
SELECT ledger_audit_attach('ledger_commodity', 'code');
SELECT ledger_audit_attach('ledger_account');
SELECT ledger_audit_attach('ledger_periodclose');
SELECT ledger_audit_attach('ledger_journalentry');
SELECT ledger_audit_attach('ledger_manualjournal');
SELECT ledger_audit_attach('ledger_manualjournalline');
SELECT ledger_audit_attach('auth_user', 'id', '{password}', '{last_login}');
SELECT ledger_audit_attach('auth_group');
SELECT ledger_audit_attach('auth_user_groups');
SELECT ledger_audit_attach('auth_user_user_permissions');
SELECT ledger_audit_attach('auth_group_permissions');
SELECT ledger_audit_attach('authtoken_token', 'user_id', '{key}');
-- The nightly jobs' schedule (beat's own bookkeeping of each run is left out).
SELECT ledger_audit_attach('django_celery_beat_periodictask', 'id', '{}',
                           '{last_run_at,total_run_count,date_changed}');
SELECT ledger_audit_attach('django_celery_beat_crontabschedule');
SELECT ledger_audit_attach('django_celery_beat_intervalschedule');
