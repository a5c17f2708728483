-- A remeasurement against its own entry, at commit. Its lots' adjustments are held to the
-- adjustment accounts (migration 0041), but the remeasurement's own figures, which its list
-- and the fair value reports show, were held to nothing: raw SQL could record an adjustment
-- of 1,000,000 on an entry that took 500,000 to 4100, or a fair value that is not its
-- carrying value plus its adjustment. Now the adjustment is its fair value less its carrying
-- value before (a CHECK, NOT VALID: rows of earlier releases are not re-read), and its entry
-- takes the adjustment to 4100 (holdings/chart.py's fair value gain) and posts nothing but
-- there and to the fair value adjustment accounts; a remeasurement without an entry adjusted
-- nothing. Released with migration 0048; a change is a new file and a new migration.

ALTER TABLE holdings_remeasurement
    ADD CONSTRAINT holdings_remeasurement_adjustment_is_the_difference
    CHECK (adjustment = fair_value - carrying_value_before) NOT VALID;

CREATE FUNCTION holdings_remeasurement_matches_its_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    posted record;
BEGIN
    IF NEW.entry_id IS NULL THEN
        IF NEW.adjustment <> 0 THEN
            PERFORM ledger_violation('holdings_remeasurement_matches_its_entry', format(
                'the remeasurement of %s at %s adjusts its lots by %s USD but has no entry: '
                'only a remeasurement that adjusts nothing posts none', NEW.commodity_id,
                NEW.as_of, NEW.adjustment));
        END IF;
        RETURN NULL;
    END IF;
    SELECT j.sequence, j.effective_date,
           coalesce(sum(p.value) FILTER (WHERE a.code = '4100'), 0) AS gain,
           string_agg(DISTINCT a.code, ', ' ORDER BY a.code)
               FILTER (WHERE a.code NOT IN ('4100', '1290', '1291', '1292', '1490', '1491',
                                            '1492')) AS others
      INTO posted
      FROM ledger_journalentry j
      LEFT JOIN ledger_posting p ON p.entry_id = j.id
      LEFT JOIN ledger_account a ON a.id = p.account_id
     WHERE j.id = NEW.entry_id
     GROUP BY j.sequence, j.effective_date;
    IF posted.gain <> -NEW.adjustment OR posted.others IS NOT NULL THEN
        PERFORM ledger_violation('holdings_remeasurement_matches_its_entry', format(
            'the remeasurement of %s at %s adjusts its lots by %s USD, but its entry #%s of %s '
            'takes %s to 4100%s', NEW.commodity_id, NEW.as_of, NEW.adjustment, posted.sequence,
            posted.effective_date, -posted.gain,
            coalesce(' and posts to ' || posted.others || ' too', '')));
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER holdings_remeasurement_matches_its_entry AFTER INSERT
    ON holdings_remeasurement DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION holdings_remeasurement_matches_its_entry();
