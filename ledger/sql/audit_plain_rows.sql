-- The audit triggers of audit.sql, faster for the tables that redact and omit nothing (most
-- of them, the journal included): their rows go to the log as they are, without a call per
-- row to ledger_audit_clean. Released with migration 0009; replaces ledger_audit_rows.

CREATE OR REPLACE FUNCTION ledger_audit_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_key text := TG_ARGV[0];
    v_redacted text[] := TG_ARGV[1]::text[];
    v_omitted text[] := TG_ARGV[2]::text[];
    v_plain boolean := cardinality(v_redacted) = 0 AND cardinality(v_omitted) = 0;
    v_at timestamptz := clock_timestamp();
    v_xact bigint := pg_current_xact_id()::text::bigint;
    v_actor text := left(coalesce(nullif(current_setting('cango.actor', true), ''),
                                  'db:' || session_user), 200);
    v_actor_id text := current_setting('cango.actor_user_id', true);
    v_actor_user bigint := CASE WHEN v_actor_id ~ '^[0-9]{1,18}$' THEN v_actor_id::bigint END;
    v_context text := left(coalesce(current_setting('cango.context', true), ''), 300);
BEGIN
    IF TG_OP = 'INSERT' AND v_plain THEN
        INSERT INTO ledger_auditlog (at, transaction_id, table_name, record_id, action, old, new,
                                     actor, actor_user_id, context)
        SELECT v_at, v_xact, TG_TABLE_NAME, coalesce(r.j ->> v_key, ''), 'insert', NULL, r.j,
               v_actor, v_actor_user, v_context
          FROM (SELECT to_jsonb(n) AS j FROM new_rows n) r;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO ledger_auditlog (at, transaction_id, table_name, record_id, action, old, new,
                                     actor, actor_user_id, context)
        SELECT v_at, v_xact, TG_TABLE_NAME, coalesce(r.j ->> v_key, ''), 'insert', NULL,
               ledger_audit_clean(r.j - v_omitted, v_redacted), v_actor, v_actor_user, v_context
          FROM (SELECT to_jsonb(n) AS j FROM new_rows n) r;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO ledger_auditlog (at, transaction_id, table_name, record_id, action, old, new,
                                     actor, actor_user_id, context)
        SELECT v_at, v_xact, TG_TABLE_NAME, coalesce(r.j ->> v_key, ''), 'delete',
               CASE WHEN v_plain THEN r.j ELSE ledger_audit_clean(r.j - v_omitted, v_redacted) END,
               NULL, v_actor, v_actor_user, v_context
          FROM (SELECT to_jsonb(o) AS j FROM old_rows o) r;
    ELSE
        -- Old and new rows are paired by key; a row whose key changed is logged with its
        -- whole old row (new: null) and its whole new row (old: null).
        INSERT INTO ledger_auditlog (at, transaction_id, table_name, record_id, action, old, new,
                                     actor, actor_user_id, context)
        SELECT v_at, v_xact, TG_TABLE_NAME, coalesce(n.j ->> v_key, o.j ->> v_key, ''), 'update',
               CASE WHEN v_plain THEN w.was ELSE ledger_audit_clean(w.was, v_redacted) END,
               CASE WHEN v_plain THEN d.now ELSE ledger_audit_clean(d.now, v_redacted) END,
               v_actor, v_actor_user, v_context
          FROM (SELECT to_jsonb(o) - v_omitted AS j FROM old_rows o) o
          FULL JOIN (SELECT to_jsonb(n) - v_omitted AS j FROM new_rows n) n
            ON n.j -> v_key = o.j -> v_key
         CROSS JOIN LATERAL (
              SELECT jsonb_object_agg(e.key, o.j -> e.key) AS was,
                     jsonb_object_agg(e.key, e.value) AS now
                FROM jsonb_each(n.j) e
               WHERE o.j IS NULL OR e.value IS DISTINCT FROM o.j -> e.key
         ) d
         CROSS JOIN LATERAL (
              SELECT CASE WHEN n.j IS NULL THEN o.j WHEN o.j IS NULL THEN NULL ELSE d.was END
                     AS was
         ) w
         WHERE d.now IS NOT NULL OR n.j IS NULL;
    END IF;
    RETURN NULL;
END $$;
