-- What each journal entry relieved of each commodity's lots on a day, added up
-- (holdings_disposaltotal): its disposal lot movements and its disposal records, each kept
-- by a trigger on them. Released with migration 0023; a change to a rule is a new file and
-- a new migration.
--
-- The realized gains and the roll-forward of a period then read a row per entry (a sale
-- relieves hundreds of lots) and find the commodity on the row, rather than joining every
-- disposal of the period to its lot. Movements and disposals are insert-only (0002), and a
-- lot's commodity never changes (0015, 0022), so the totals only ever grow by what a
-- statement inserts.

-- Everything written so far.
INSERT INTO holdings_disposaltotal
    (entry_id, commodity_id, day, moved_quantity, moved_cost, moved_adjustment, movements,
     disposals, units, cost, carrying_value, proceeds, realized_gain)
SELECT entry_id, commodity_id, day, sum(moved_quantity), sum(moved_cost),
       sum(moved_adjustment), sum(movements), sum(disposals), sum(units), sum(cost),
       sum(carrying_value), sum(proceeds), sum(realized_gain)
  FROM (SELECT m.entry_id, l.commodity_id, m.effective_date AS day,
               m.quantity AS moved_quantity, m.cost AS moved_cost,
               m.fair_value_adjustment AS moved_adjustment, 1 AS movements, 0 AS disposals,
               0 AS units, 0 AS cost, 0 AS carrying_value, 0 AS proceeds, 0 AS realized_gain
          FROM holdings_lotmovement m
          JOIN holdings_lot l ON l.id = m.lot_id
         WHERE m.kind = 'disposal'
        UNION ALL
        SELECT d.entry_id, l.commodity_id, d.disposed_on, 0, 0, 0, 0, 1, d.units, d.cost,
               d.carrying_value, d.proceeds, d.realized_gain
          FROM holdings_disposal d
          JOIN holdings_lot l ON l.id = d.lot_id) relieved
 GROUP BY entry_id, commodity_id, day;

-- A statement's disposal movements, added to their entries' totals in one statement (in key
-- order, so that concurrent writers take the rows' locks in the same order). Its other
-- movements (a pool import writes only openings) are passed over. The lots' existence is
-- the roll-up trigger's of 0022 to refuse. Each lot is found by its key: never a scan of
-- every lot, whatever a plan would guess of the statement's size.
CREATE FUNCTION holdings_disposal_movements_totalled() RETURNS trigger
LANGUAGE plpgsql SET enable_seqscan TO 'off' AS $$
BEGIN
    INSERT INTO holdings_disposaltotal AS t
        (entry_id, commodity_id, day, moved_quantity, moved_cost, moved_adjustment, movements,
         disposals, units, cost, carrying_value, proceeds, realized_gain)
    SELECT m.entry_id, l.commodity_id, m.effective_date, sum(m.quantity), sum(m.cost),
           sum(m.fair_value_adjustment), count(*), 0, 0, 0, 0, 0, 0
      FROM new_movements m
      JOIN holdings_lot l ON l.id = m.lot_id
     WHERE m.kind = 'disposal'
     GROUP BY m.entry_id, l.commodity_id, m.effective_date
     ORDER BY m.entry_id, l.commodity_id, m.effective_date
    ON CONFLICT (entry_id, commodity_id, day) DO UPDATE
       SET moved_quantity = t.moved_quantity + EXCLUDED.moved_quantity,
           moved_cost = t.moved_cost + EXCLUDED.moved_cost,
           moved_adjustment = t.moved_adjustment + EXCLUDED.moved_adjustment,
           movements = t.movements + EXCLUDED.movements;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_disposal_movements_totalled AFTER INSERT ON holdings_lotmovement
REFERENCING NEW TABLE AS new_movements
FOR EACH STATEMENT EXECUTE FUNCTION holdings_disposal_movements_totalled();

-- A statement's disposal records, likewise. A record whose lot is not written yet cannot be
-- placed in its commodity: refused, rather than left out of the totals.
CREATE FUNCTION holdings_disposals_totalled() RETURNS trigger
LANGUAGE plpgsql SET enable_seqscan TO 'off' AS $$
DECLARE
    missing bigint;
BEGIN
    SELECT d.lot_id INTO missing
      FROM new_disposals d
     WHERE NOT EXISTS (SELECT 1 FROM holdings_lot l WHERE l.id = d.lot_id)
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_disposal_lot_exists',
            format('a disposal names lot %s, which does not exist (write the lot first)',
                   missing));
    END IF;
    INSERT INTO holdings_disposaltotal AS t
        (entry_id, commodity_id, day, moved_quantity, moved_cost, moved_adjustment, movements,
         disposals, units, cost, carrying_value, proceeds, realized_gain)
    SELECT d.entry_id, l.commodity_id, d.disposed_on, 0, 0, 0, 0, count(*), sum(d.units),
           sum(d.cost), sum(d.carrying_value), sum(d.proceeds), sum(d.realized_gain)
      FROM new_disposals d
      JOIN holdings_lot l ON l.id = d.lot_id
     GROUP BY d.entry_id, l.commodity_id, d.disposed_on
     ORDER BY d.entry_id, l.commodity_id, d.disposed_on
    ON CONFLICT (entry_id, commodity_id, day) DO UPDATE
       SET disposals = t.disposals + EXCLUDED.disposals,
           units = t.units + EXCLUDED.units,
           cost = t.cost + EXCLUDED.cost,
           carrying_value = t.carrying_value + EXCLUDED.carrying_value,
           proceeds = t.proceeds + EXCLUDED.proceeds,
           realized_gain = t.realized_gain + EXCLUDED.realized_gain;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_disposals_totalled AFTER INSERT ON holdings_disposal
REFERENCING NEW TABLE AS new_disposals
FOR EACH STATEMENT EXECUTE FUNCTION holdings_disposals_totalled();

-- Written by those triggers alone (the guard of 0022).
CREATE TRIGGER holdings_disposaltotal_guard
BEFORE INSERT OR UPDATE OR DELETE ON holdings_disposaltotal
FOR EACH STATEMENT WHEN (pg_trigger_depth() < 1) EXECUTE FUNCTION holdings_rollup_guard();
CREATE TRIGGER holdings_disposaltotal_no_truncate BEFORE TRUNCATE ON holdings_disposaltotal
FOR EACH STATEMENT EXECUTE FUNCTION holdings_rollup_guard();
