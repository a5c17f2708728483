-- The lot roll-ups' triggers read only the lots a statement moved, through their indexes,
-- whatever the tables hold. Released with migration 0025; a change to a rule is a new file
-- and a new migration.
--
-- 0022 computed a lot's open spans with `lots IS NULL OR m.lot_id = ANY (lots)`, so that its
-- backfill could name every lot. The plan PL/pgSQL keeps for every call of the trigger that
-- keeps the spans cannot drop the first half: where the tables' statistics say they are small
-- (a new database, or books grown since their last ANALYZE), it read every lot movement and
-- every lot at each statement (16 ms of a 120 ms pool file in the benchmark's import, at
-- 18,000 movements). The backfill is done; the function now takes the lots it is given. The
-- roll-up of lot movements by day read the lots the same way; like the ledger's rules that
-- look rows up by key, both triggers now plan with sequential scans off.

CREATE OR REPLACE FUNCTION holdings_lot_spans(lots bigint[])
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
                                     WHERE m.lot_id = ANY (lots)
                                     GROUP BY m.lot_id, m.effective_date) d) r) h
             WHERE h.holds <> h.held_before) c
     WHERE c.holds
$$;

ALTER FUNCTION holdings_lot_spans_kept() SET enable_seqscan = off;
ALTER FUNCTION holdings_lot_movements_rolled_up() SET enable_seqscan = off;
