-- A day is remeasured again once its remeasurement is cancelled: remeasurements of a
-- commodity and day are counted (attempt 1, 2, ...), and a later attempt follows only an
-- earlier one that stands no more (its entry cancelled) or posted nothing.

CREATE FUNCTION holdings_remeasurement_attempt_follows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    earlier record;
BEGIN
    IF NEW.attempt <= 1 THEN  -- the CHECK refuses less than 1
        RETURN NEW;
    END IF;
    SELECT r.id, r.entry_id,
           EXISTS (SELECT 1 FROM ledger_cancellation c
                    WHERE c.entry_id = r.entry_id AND c.status = 'approved') AS cancelled
      INTO earlier
      FROM holdings_remeasurement r
     WHERE r.commodity_id = NEW.commodity_id AND r.as_of = NEW.as_of
       AND r.attempt = NEW.attempt - 1;
    IF NOT FOUND THEN
        PERFORM ledger_violation('holdings_remeasurement_attempt_follows',
            format('%s at %s has no attempt %s to follow: attempts are counted from 1',
                   NEW.commodity_id, NEW.as_of, NEW.attempt - 1));
    ELSIF earlier.entry_id IS NOT NULL AND NOT earlier.cancelled THEN
        PERFORM ledger_violation('holdings_remeasurement_attempt_follows',
            format('%s at %s is remeasured by remeasurement %s, which stands: it is '
                   'cancelled before the day is remeasured again',
                   NEW.commodity_id, NEW.as_of, earlier.id));
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER holdings_remeasurement_attempt_follows
BEFORE INSERT ON holdings_remeasurement
FOR EACH ROW EXECUTE FUNCTION holdings_remeasurement_attempt_follows();

-- A standing remeasurement measured its commodity's lots as they stood at the end of its
-- day: no lot of that commodity moves on or before that day any more (a back-dated sale,
-- pool record or cancellation would change what it measured) but by the remeasurement's
-- own entries and their reversals. One look at the remeasurements first: a statement
-- dated after every standing one (the import of the day's production) does no more.
CREATE FUNCTION holdings_lot_measured_days_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM holdings_remeasurement r
         WHERE r.entry_id IS NOT NULL
           AND r.as_of >= (SELECT min(effective_date) FROM new_rows)
    ) THEN
        RETURN NULL;
    END IF;
    SELECT n.lot_id, n.effective_date, l.commodity_id, r.as_of, r.id AS remeasurement,
           m.sequence AS remeasured_by, e.sequence
      INTO bad
      FROM new_rows n
      JOIN ledger_journalentry e ON e.id = n.entry_id
      LEFT JOIN ledger_journalentry o ON o.id = e.reversal_of_id
      JOIN holdings_lot l ON l.id = n.lot_id
      JOIN holdings_remeasurement r
        ON r.commodity_id = l.commodity_id AND r.as_of >= n.effective_date
      JOIN ledger_journalentry m ON m.id = r.entry_id
     WHERE e.kind <> 'fair_value_remeasurement'
       AND (o.id IS NULL OR o.kind <> 'fair_value_remeasurement')
       AND NOT EXISTS (SELECT 1 FROM ledger_cancellation c
                        WHERE c.entry_id = r.entry_id AND c.status = 'approved')
     ORDER BY n.effective_date, r.as_of DESC, n.lot_id
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_lot_measured_days_kept',
            format('entry #%s moves lot %s on %s, but %s was remeasured at %s (entry #%s), '
                   'which measured its lots as they stood that day: date it after %s, or '
                   'cancel that remeasurement first',
                   bad.sequence, bad.lot_id, bad.effective_date, bad.commodity_id, bad.as_of,
                   bad.remeasured_by, bad.as_of));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_lot_measured_days_kept
AFTER INSERT ON holdings_lotmovement
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION holdings_lot_measured_days_kept();
