-- The evidence behind the ledger's figures is kept as received: the pools' records, the
-- payouts, the prices used, every lot movement and remeasurement. Rows are added, never
-- changed or removed; a mistake is corrected by new rows and a reversing entry.

CREATE FUNCTION holdings_evidence_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_violation(TG_TABLE_NAME || '_immutable',
        TG_TABLE_NAME || ' rows are evidence: they cannot be '
        || lower(TG_OP) || 'd');
    RETURN NULL;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['holdings_productionrecord', 'holdings_payout', 'holdings_price',
                             'holdings_lotmovement', 'holdings_remeasurement'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I
                        FOR EACH ROW EXECUTE FUNCTION holdings_evidence_immutable()',
                       t || '_immutable', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION holdings_evidence_immutable()',
                       t || '_no_truncate', t);
    END LOOP;
END $$;

-- A lot sits in an account of its own commodity.
ALTER TABLE holdings_lot
    ADD CONSTRAINT holdings_lot_account_commodity
        FOREIGN KEY (account_id, commodity_id) REFERENCES ledger_account (id, commodity_id);

-- Lots are never removed: an empty lot stays, with the movements that emptied it.
CREATE TRIGGER holdings_lot_kept BEFORE DELETE ON holdings_lot
    FOR EACH ROW EXECUTE FUNCTION holdings_evidence_immutable();
CREATE TRIGGER holdings_lot_no_truncate BEFORE TRUNCATE ON holdings_lot
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_evidence_immutable();

-- A lot's units, cost and adjustment change only with a movement: at commit, every lot a
-- transaction wrote (or moved) equals the sum of its movements. Statement triggers collect
-- the lots touched into one row per transaction, checked once, set-based, at commit.
CREATE TABLE holdings_lot_pending_check (
    xact bigint PRIMARY KEY DEFAULT txid_current(),
    lot_ids bigint[] NOT NULL
);

CREATE FUNCTION holdings_lots_touched() RETURNS trigger
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

CREATE TRIGGER holdings_lots_inserted AFTER INSERT ON holdings_lot
    REFERENCING NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_lots_touched();
CREATE TRIGGER holdings_lots_updated AFTER UPDATE ON holdings_lot
    REFERENCING NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_lots_touched();
CREATE TRIGGER holdings_lot_movements_inserted AFTER INSERT ON holdings_lotmovement
    REFERENCING NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_lots_touched();

CREATE FUNCTION holdings_lot_matches_movements() RETURNS trigger
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    pending bigint[];
    drift record;
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
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER holdings_lot_matches_movements
    AFTER INSERT ON holdings_lot_pending_check DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION holdings_lot_matches_movements();
