-- The audit rows of 0022 (ledger_audit_rows), each row turned into JSON once and read by its
-- table's alias whatever its columns are named. Released with migration 0023; a change is a
-- new file and a new migration. The rows logged are the same.
--
-- A row's JSON is read twice in each statement (its key for record_id, the whole for old or
-- new). Written as a subquery the planner folds into the statement, to_jsonb() ran once for
-- each use: twice a row, a third of the time an audit row takes (a batch of 1,000 journal
-- entries: 19 ms of audit rows, 14.5 with each row's JSON made once). OFFSET 0 keeps each
-- subquery whole, so its JSON is made once and read twice.
--
-- to_jsonb(n) names the whole row only while the table has no column n (or o): a column of
-- that name would be logged in its place, and an update would fail. n.* is always the row.

-- Inserts into a table that redacts and omits nothing (the journal's, most tables') keep
-- their statement, planned once per connection; the other cases build theirs at each call,
-- as in 0022.

CREATE OR REPLACE FUNCTION ledger_audit_rows() RETURNS trigger
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
    v_new text := 'new_rows';
    v_old text := 'old_rows';
    v_columns text;
BEGIN
    IF TG_OP = 'INSERT' AND cardinality(v_redacted) = 0 AND cardinality(v_omitted) = 0 THEN
        INSERT INTO ledger_auditlog (at, transaction_id, table_name, record_id, action, old, new,
                                     actor, actor_user_id, context)
        SELECT v_at, v_xact, TG_TABLE_NAME, coalesce(r.j ->> v_key, ''), 'insert', NULL, r.j,
               v_actor, v_actor_user, v_context
          FROM (SELECT to_jsonb(n.*) AS j FROM new_rows n OFFSET 0) r;
        RETURN NULL;
    END IF;
    IF cardinality(v_omitted) > 0 THEN
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO v_columns
          FROM pg_attribute
         WHERE attrelid = TG_RELID AND attnum > 0 AND NOT attisdropped
           AND attname <> ALL (v_omitted);
        v_new := format('(SELECT %s FROM new_rows)', v_columns);
        v_old := format('(SELECT %s FROM old_rows)', v_columns);
    END IF;
    IF TG_OP = 'INSERT' THEN
        EXECUTE format($sql$
            INSERT INTO ledger_auditlog (at, transaction_id, table_name, record_id, action, old,
                                         new, actor, actor_user_id, context)
            SELECT $1, $2, $3, coalesce(r.j ->> $4, ''), 'insert', NULL,
                   ledger_audit_clean(r.j, $5), $6, $7, $8
              FROM (SELECT to_jsonb(n.*) AS j FROM %s n OFFSET 0) r
        $sql$, v_new)
        USING v_at, v_xact, TG_TABLE_NAME, v_key, v_redacted, v_actor, v_actor_user, v_context;
    ELSIF TG_OP = 'DELETE' THEN
        EXECUTE format($sql$
            INSERT INTO ledger_auditlog (at, transaction_id, table_name, record_id, action, old,
                                         new, actor, actor_user_id, context)
            SELECT $1, $2, $3, coalesce(r.j ->> $4, ''), 'delete',
                   ledger_audit_clean(r.j, $5), NULL, $6, $7, $8
              FROM (SELECT to_jsonb(o.*) AS j FROM %s o OFFSET 0) r
        $sql$, v_old)
        USING v_at, v_xact, TG_TABLE_NAME, v_key, v_redacted, v_actor, v_actor_user, v_context;
    ELSE
        -- Old and new rows are paired by key; a row whose key changed is logged with its
        -- whole old row (new: null) and its whole new row (old: null).
        EXECUTE format($sql$
            INSERT INTO ledger_auditlog (at, transaction_id, table_name, record_id, action, old,
                                         new, actor, actor_user_id, context)
            SELECT $1, $2, $3, coalesce(n.j ->> $4, o.j ->> $4, ''), 'update',
                   ledger_audit_clean(w.was, $5), ledger_audit_clean(d.now, $5), $6, $7, $8
              FROM (SELECT to_jsonb(o.*) AS j FROM %s o OFFSET 0) o
              FULL JOIN (SELECT to_jsonb(n.*) AS j FROM %s n OFFSET 0) n
                ON n.j -> $4 = o.j -> $4
             CROSS JOIN LATERAL (
                  SELECT jsonb_object_agg(e.key, o.j -> e.key) AS was,
                         jsonb_object_agg(e.key, e.value) AS now
                    FROM jsonb_each(n.j) e
                   WHERE o.j IS NULL OR e.value IS DISTINCT FROM o.j -> e.key
             ) d
             CROSS JOIN LATERAL (
                  SELECT CASE WHEN n.j IS NULL THEN o.j WHEN o.j IS NULL THEN NULL
                              ELSE d.was END AS was
             ) w
             WHERE d.now IS NOT NULL OR n.j IS NULL
        $sql$, v_old, v_new)
        USING v_at, v_xact, TG_TABLE_NAME, v_key, v_redacted, v_actor, v_actor_user, v_context;
    END IF;
    RETURN NULL;
END $$;
