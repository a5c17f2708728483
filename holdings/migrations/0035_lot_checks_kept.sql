-- The lots awaiting their check at commit (holdings_lot_pending_check, migration 0015) are
-- kept by the lots' own triggers, as the journal's entries awaiting theirs are (ledger
-- migration 0018): the lots' statement triggers add to the row, the check at commit takes it.
-- Until now anyone could delete the row, and the check at commit then found nothing to check:
-- a lot changed without a movement, or taken below zero, was committed. Released with
-- migration 0035; a change is a new file and a new migration.
CREATE FUNCTION holdings_lot_pending_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        PERFORM ledger_violation('holdings_lot_pending_check_kept',
            'the lots awaiting their check at commit are kept by the lots'' own triggers');
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER holdings_lot_pending_guard
    BEFORE INSERT OR UPDATE OR DELETE ON holdings_lot_pending_check
    FOR EACH ROW EXECUTE FUNCTION holdings_lot_pending_guard();
CREATE TRIGGER holdings_lot_pending_no_truncate BEFORE TRUNCATE ON holdings_lot_pending_check
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_lot_pending_guard();
