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

-- A lot's units, cost and adjustment change only with a movement: its current state must
-- always equal the sum of its movements. Checked at commit, once per lot touched.
CREATE FUNCTION holdings_lot_matches_movements() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    drift record;
BEGIN
    SELECT l.id, l.quantity, l.cost, l.fair_value_adjustment,
           coalesce(sum(m.quantity), 0) AS q, coalesce(sum(m.cost), 0) AS c,
           coalesce(sum(m.fair_value_adjustment), 0) AS a
      INTO drift
      FROM holdings_lot l LEFT JOIN holdings_lotmovement m ON m.lot_id = l.id
     WHERE l.id = NEW.id
     GROUP BY l.id
    HAVING l.quantity <> coalesce(sum(m.quantity), 0) OR l.cost <> coalesce(sum(m.cost), 0)
        OR l.fair_value_adjustment <> coalesce(sum(m.fair_value_adjustment), 0);
    IF FOUND THEN
        PERFORM ledger_violation('holdings_lot_matches_movements', format(
            'lot %s holds %s units, cost %s, adjustment %s but its movements sum to %s, %s, %s',
            drift.id, drift.quantity, drift.cost, drift.fair_value_adjustment,
            drift.q, drift.c, drift.a));
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER holdings_lot_matches_movements
    AFTER INSERT OR UPDATE ON holdings_lot DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION holdings_lot_matches_movements();
