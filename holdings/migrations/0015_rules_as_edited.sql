-- The holdings rules as they were edited after their migrations were released (0002's
-- evidence rules, 0001's lot indexes and keys, 0012's lot checks), brought to any database
-- whatever release it was migrated with. Every statement is safe on a database that already
-- has the rule. Every violation is SQLSTATE 23514 with the rule's name.

-- Lots in first-in-first-out order: one index over every lot of an account.
DROP INDEX IF EXISTS holdings_lot_open_fifo;
CREATE INDEX IF NOT EXISTS holdings_lot_fifo ON holdings_lot (account_id, acquired_at, id);

-- Fewer indexes: no single-column index on these keys (the composite keys and the indexes
-- of the models cover them), and a lot's account and commodity checked by one composite key
-- (below) instead of two.
DO $$
DECLARE
    target record;
BEGIN
    FOR target IN
        SELECT i.relname AS name
          FROM pg_index x
          JOIN pg_class i ON i.oid = x.indexrelid
          JOIN pg_class t ON t.oid = x.indrelid
          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
         WHERE t.relnamespace = current_schema()::regnamespace
           AND x.indnatts = 1 AND NOT x.indisunique AND NOT x.indisprimary
           AND (t.relname, a.attname) IN (
                   ('holdings_productionrecord', 'pool_account_id'),
                   ('holdings_productionrecord', 'price_id'),
                   ('holdings_lot', 'account_id'),
                   ('holdings_lot', 'opened_by_entry_id'),
                   ('holdings_lot', 'parent_id'),
                   ('holdings_lot', 'price_id'),
                   ('holdings_lotmovement', 'lot_id'))
           AND i.relname ~ ('^' || t.relname || '_' || a.attname || '_[0-9a-f]{8}$')
    LOOP
        EXECUTE format('DROP INDEX %I', target.name);
    END LOOP;
    FOR target IN
        SELECT c.conname AS name
          FROM pg_constraint c
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         WHERE c.conrelid = 'holdings_lot'::regclass AND c.contype = 'f'
           AND cardinality(c.conkey) = 1 AND a.attname IN ('account_id', 'commodity_id')
    LOOP
        EXECUTE format('ALTER TABLE holdings_lot DROP CONSTRAINT %I', target.name);
    END LOOP;
    -- A lot sits in an account of its own commodity.
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                    WHERE conrelid = 'holdings_lot'::regclass
                      AND conname = 'holdings_lot_account_commodity') THEN
        ALTER TABLE holdings_lot
            ADD CONSTRAINT holdings_lot_account_commodity
                FOREIGN KEY (account_id, commodity_id) REFERENCES ledger_account (id, commodity_id);
    END IF;
END $$;

-- Lots are never removed: an empty lot stays, with the movements that emptied it.
DROP TRIGGER IF EXISTS holdings_lot_kept ON holdings_lot;
CREATE TRIGGER holdings_lot_kept BEFORE DELETE ON holdings_lot
    FOR EACH ROW EXECUTE FUNCTION holdings_evidence_immutable();
DROP TRIGGER IF EXISTS holdings_lot_no_truncate ON holdings_lot;
CREATE TRIGGER holdings_lot_no_truncate BEFORE TRUNCATE ON holdings_lot
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_evidence_immutable();

-- A lot's units, cost and adjustment change only with a movement: at commit, every lot a
-- transaction wrote (or moved) is checked. Statement triggers collect the lots touched into
-- one row per transaction, checked once, set-based, at commit.
CREATE TABLE IF NOT EXISTS holdings_lot_pending_check (
    xact bigint PRIMARY KEY DEFAULT txid_current(),
    lot_ids bigint[] NOT NULL
);

CREATE OR REPLACE FUNCTION holdings_lots_touched() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'holdings_lotmovement' THEN
        INSERT INTO holdings_lot_pending_check AS p (lot_ids)
        SELECT array_agg(DISTINCT lot_id) FROM touched HAVING count(*) > 0
        ON CONFLICT (xact) DO UPDATE SET lot_ids = p.lot_ids || EXCLUDED.lot_ids;
    ELSE
        INSERT INTO holdings_lot_pending_check AS p (lot_ids)
        SELECT array_agg(id) FROM touched HAVING count(*) > 0
        ON CONFLICT (xact) DO UPDATE SET lot_ids = p.lot_ids || EXCLUDED.lot_ids;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS holdings_lots_inserted ON holdings_lot;
CREATE TRIGGER holdings_lots_inserted AFTER INSERT ON holdings_lot
    REFERENCING NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_lots_touched();
DROP TRIGGER IF EXISTS holdings_lots_updated ON holdings_lot;
CREATE TRIGGER holdings_lots_updated AFTER UPDATE ON holdings_lot
    REFERENCING NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_lots_touched();
DROP TRIGGER IF EXISTS holdings_lot_movements_inserted ON holdings_lotmovement;
CREATE TRIGGER holdings_lot_movements_inserted AFTER INSERT ON holdings_lotmovement
    REFERENCING NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_lots_touched();

-- At commit, every lot a transaction wrote or moved:
--   holdings_lot_matches_movements   its units, cost and adjustment equal its movements';
--   holdings_lot_moved_after_opening no movement is dated before the one that opened it in
--                                    its account, and no units leave it (a transfer out, a
--                                    disposal) before the day it was acquired;
--   holdings_lot_never_negative      its units, entry by entry in the journal's order, are
--                                    never below zero.
CREATE OR REPLACE FUNCTION holdings_lot_matches_movements() RETURNS trigger
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    pending bigint[];
    drift record;
    early record;
    dip record;
BEGIN
    -- The row as it is now: later statements of the transaction added to it.
    DELETE FROM holdings_lot_pending_check WHERE xact = NEW.xact RETURNING lot_ids INTO pending;
    IF pending IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT l.id, l.quantity, l.cost, l.fair_value_adjustment,
           coalesce(s.q, 0) AS q, coalesce(s.c, 0) AS c, coalesce(s.a, 0) AS a
      INTO drift
      FROM holdings_lot l
      LEFT JOIN LATERAL (
          SELECT sum(m.quantity) q, sum(m.cost) c, sum(m.fair_value_adjustment) a
            FROM holdings_lotmovement m WHERE m.lot_id = l.id
      ) s ON true
     WHERE l.id = ANY (pending)
       AND (l.quantity <> coalesce(s.q, 0) OR l.cost <> coalesce(s.c, 0)
            OR l.fair_value_adjustment <> coalesce(s.a, 0))
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_lot_matches_movements', format(
            'lot %s holds %s units, cost %s, adjustment %s but its movements sum to %s, %s, %s',
            drift.id, drift.quantity, drift.cost, drift.fair_value_adjustment,
            drift.q, drift.c, drift.a));
    END IF;

    SELECT m.lot_id, m.kind, m.effective_date, o.opened_on,
           (l.acquired_at AT TIME ZONE 'UTC')::date AS acquired_on
      INTO early
      FROM holdings_lotmovement m
      JOIN holdings_lot l ON l.id = m.lot_id
      JOIN LATERAL (
          SELECT min(f.effective_date) AS opened_on FROM holdings_lotmovement f
           WHERE f.lot_id = m.lot_id AND f.kind IN ('open', 'transfer_in')
      ) o ON true
     WHERE m.lot_id = ANY (pending)
       AND (m.effective_date < o.opened_on
            OR (m.kind IN ('transfer_out', 'disposal')
                AND m.effective_date < (l.acquired_at AT TIME ZONE 'UTC')::date))
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_lot_moved_after_opening', format(
            'lot %s: a %s movement dated %s comes before the lot was %s',
            early.lot_id, early.kind, early.effective_date,
            CASE WHEN early.effective_date < early.opened_on
                 THEN format('in its account (%s)', early.opened_on)
                 ELSE format('acquired (%s)', early.acquired_on) END));
    END IF;

    -- Entry by entry in the journal's order (date, then sequence), as every report and the
    -- beancount export replay them.
    SELECT r.lot_id, r.effective_date, r.sequence, r.units
      INTO dip
      FROM (
          SELECT m.lot_id, m.effective_date, e.sequence,
                 sum(sum(m.quantity)) OVER (PARTITION BY m.lot_id
                                            ORDER BY m.effective_date, e.sequence) AS units
            FROM holdings_lotmovement m
            JOIN ledger_journalentry e ON e.id = m.entry_id
           WHERE m.lot_id = ANY (pending)
           GROUP BY m.lot_id, m.effective_date, e.sequence
      ) r
     WHERE r.units < 0
     ORDER BY r.effective_date, r.sequence, r.lot_id
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_lot_never_negative', format(
            'lot %s would hold %s units after entry #%s of %s: units are taken from a lot only '
            'while it holds them, then and at every entry after',
            dip.lot_id, dip.units, dip.sequence, dip.effective_date));
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS holdings_lot_matches_movements ON holdings_lot;
DROP TRIGGER IF EXISTS holdings_lot_matches_movements ON holdings_lot_pending_check;
CREATE CONSTRAINT TRIGGER holdings_lot_matches_movements
    AFTER INSERT ON holdings_lot_pending_check DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION holdings_lot_matches_movements();
