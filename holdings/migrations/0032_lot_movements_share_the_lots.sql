-- A remeasurement measures the lots as they stand, and refuses what a standing one would not
-- take (0030, holdings_lot_measured_days_kept). A transaction moving lots while one is being
-- made, not committed yet, would see neither it nor its refusal. So every insert of lot
-- movements first shares an advisory lock that a remeasurement holds exclusively
-- (holdings.services.lots.share_lots and measure_lots take the same): it waits for a
-- remeasurement in progress, then its rules see it; a remeasurement waits for the
-- transactions moving lots, then measures what they moved. The services take it before they
-- lock any lot, so the two orders never cross.
CREATE FUNCTION holdings_lot_movement_shares_lots() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtext('holdings:lots-measured'));
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_lot_movement_shares_lots
BEFORE INSERT ON holdings_lotmovement
FOR EACH STATEMENT EXECUTE FUNCTION holdings_lot_movement_shares_lots();
