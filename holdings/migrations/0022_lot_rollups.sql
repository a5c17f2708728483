-- Two roll-ups of the lot movements, each kept by a trigger on them: the movements added up
-- per account, lot origin, kind and day (holdings_lotmovementdaily), and the runs of days
-- through whose ends each lot held units (holdings_lotopenspan); and an index of the
-- disposals by date. Released with migration 0022; a change to a rule is a new file and a
-- new migration.
--
-- A report over a period (the roll-forward) or as of a date (what is pledged, the lots an
-- account held) then reads a row per account and day, or per lot open at the date, instead
-- of every movement since the beginning. Movements are insert-only (0002), so the totals only ever grow by what a
-- statement inserts; a lot's account, commodity and origin, by which they are kept, never
-- change (below).

-- Room on the pages for the rows' next versions (updated in place, indexes untouched).
ALTER TABLE holdings_lotmovementdaily SET (fillfactor = 70);

-- Every movement written so far.
INSERT INTO holdings_lotmovementdaily
    (account_id, commodity_id, origin, kind, day, quantity, cost, fair_value_adjustment,
     movements)
SELECT l.account_id, l.commodity_id, l.origin, m.kind, m.effective_date, sum(m.quantity),
       sum(m.cost), sum(m.fair_value_adjustment), count(*)
  FROM holdings_lotmovement m
  JOIN holdings_lot l ON l.id = m.lot_id
 GROUP BY l.account_id, l.commodity_id, l.origin, m.kind, m.effective_date;

-- Each statement's movements, added to their days in one statement (in key order, so that
-- concurrent writers take the rows' locks in the same order). A movement whose lot is not
-- written yet cannot be placed: refused, rather than left out of the totals.
CREATE FUNCTION holdings_lot_movements_rolled_up() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
BEGIN
    SELECT m.lot_id INTO missing
      FROM new_movements m
     WHERE NOT EXISTS (SELECT 1 FROM holdings_lot l WHERE l.id = m.lot_id)
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_lot_movement_lot_exists',
            format('a lot movement names lot %s, which does not exist (write the lot first)',
                   missing));
    END IF;
    INSERT INTO holdings_lotmovementdaily AS r
        (account_id, commodity_id, origin, kind, day, quantity, cost, fair_value_adjustment,
         movements)
    SELECT l.account_id, l.commodity_id, l.origin, m.kind, m.effective_date, sum(m.quantity),
           sum(m.cost), sum(m.fair_value_adjustment), count(*)
      FROM new_movements m
      JOIN holdings_lot l ON l.id = m.lot_id
     GROUP BY l.account_id, m.effective_date, m.kind, l.origin, l.commodity_id
     ORDER BY l.account_id, m.effective_date, m.kind, l.origin
    ON CONFLICT (account_id, day, kind, origin) DO UPDATE
       SET quantity = r.quantity + EXCLUDED.quantity,
           cost = r.cost + EXCLUDED.cost,
           fair_value_adjustment = r.fair_value_adjustment + EXCLUDED.fair_value_adjustment,
           movements = r.movements + EXCLUDED.movements;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_lot_movements_rolled_up AFTER INSERT ON holdings_lotmovement
REFERENCING NEW TABLE AS new_movements
FOR EACH STATEMENT EXECUTE FUNCTION holdings_lot_movements_rolled_up();

-- Written by that trigger alone.
CREATE FUNCTION holdings_rollup_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        PERFORM ledger_violation('holdings_rollup_maintained_by_movements',
            format('%s is kept from the lot movements and cannot be written directly',
                   TG_TABLE_NAME));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_lotmovementdaily_guard
BEFORE INSERT OR UPDATE OR DELETE ON holdings_lotmovementdaily
FOR EACH STATEMENT WHEN (pg_trigger_depth() < 1) EXECUTE FUNCTION holdings_rollup_guard();
CREATE TRIGGER holdings_lotmovementdaily_no_truncate BEFORE TRUNCATE ON holdings_lotmovementdaily
FOR EACH STATEMENT EXECUTE FUNCTION holdings_rollup_guard();

-- A lot stays where it was opened, from what it came: a transfer opens a new lot. (Its
-- commodity is its account's, by the composite foreign key of 0015.)
CREATE FUNCTION holdings_lot_identity_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_violation('holdings_lot_identity_kept',
        format('lot %s keeps its account and origin: a transfer opens a new lot', OLD.id));
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_lot_identity_kept
BEFORE UPDATE OF account_id, origin ON holdings_lot
FOR EACH ROW
WHEN (NEW.account_id IS DISTINCT FROM OLD.account_id OR NEW.origin IS DISTINCT FROM OLD.origin)
EXECUTE FUNCTION holdings_lot_identity_kept();

-- The period's disposals, found without reading the period's other movements.
CREATE INDEX holdings_lotmove_disposal_date ON holdings_lotmovement (effective_date)
 WHERE kind = 'disposal';

-- The runs of days through whose ends each of `lots` held units (all lots when null), from
-- their movements: a day's movements all count, in whatever order they were written, as a
-- lot's state as of a date does (holdings/selectors/lots.py).
CREATE FUNCTION holdings_lot_spans(lots bigint[])
RETURNS TABLE (lot_id bigint, opened_on date, closed_on date)
LANGUAGE sql STABLE AS $$
    SELECT c.lot_id, c.day, c.next_change
      FROM (SELECT h.lot_id, h.day, h.holds,
                   lead(h.day) OVER (PARTITION BY h.lot_id ORDER BY h.day) AS next_change
              FROM (SELECT r.lot_id, r.day, r.holds,
                           lag(r.holds, 1, false) OVER (PARTITION BY r.lot_id ORDER BY r.day)
                               AS held_before
                      FROM (SELECT d.lot_id, d.day,
                                   sum(d.moved) OVER (PARTITION BY d.lot_id ORDER BY d.day) > 0
                                       AS holds
                              FROM (SELECT m.lot_id, m.effective_date AS day,
                                           sum(m.quantity) AS moved
                                      FROM holdings_lotmovement m
                                     WHERE lots IS NULL OR m.lot_id = ANY (lots)
                                     GROUP BY m.lot_id, m.effective_date) d) r) h
             WHERE h.holds <> h.held_before) c
     WHERE c.holds
$$;

INSERT INTO holdings_lotopenspan (lot_id, account_id, commodity_id, opened_on, closed_on)
SELECT s.lot_id, l.account_id, l.commodity_id, s.opened_on, s.closed_on
  FROM holdings_lot_spans(NULL) s
  JOIN holdings_lot l ON l.id = s.lot_id;

-- The spans of the lots a statement moved, written again from all their movements (a
-- movement may be dated before others already written).
CREATE FUNCTION holdings_lot_spans_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    touched bigint[];
BEGIN
    SELECT array_agg(DISTINCT m.lot_id) INTO touched FROM new_movements m;
    IF touched IS NULL THEN
        RETURN NULL;
    END IF;
    DELETE FROM holdings_lotopenspan WHERE lot_id = ANY (touched);
    INSERT INTO holdings_lotopenspan (lot_id, account_id, commodity_id, opened_on, closed_on)
    SELECT s.lot_id, l.account_id, l.commodity_id, s.opened_on, s.closed_on
      FROM holdings_lot_spans(touched) s
      JOIN holdings_lot l ON l.id = s.lot_id
     ORDER BY s.lot_id, s.opened_on;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_lot_spans_kept AFTER INSERT ON holdings_lotmovement
REFERENCING NEW TABLE AS new_movements
FOR EACH STATEMENT EXECUTE FUNCTION holdings_lot_spans_kept();

CREATE TRIGGER holdings_lotopenspan_guard
BEFORE INSERT OR UPDATE OR DELETE ON holdings_lotopenspan
FOR EACH STATEMENT WHEN (pg_trigger_depth() < 1) EXECUTE FUNCTION holdings_rollup_guard();
CREATE TRIGGER holdings_lotopenspan_no_truncate BEFORE TRUNCATE ON holdings_lotopenspan
FOR EACH STATEMENT EXECUTE FUNCTION holdings_rollup_guard();
