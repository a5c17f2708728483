-- The measured days (migration 0030, holdings_lot_measured_days_kept) let the entries of a
-- remeasurement's kind, and their reversals, move lots on or before a standing remeasurement:
-- its own entries and the corrections it carries to later days. Those move adjustments
-- alone. Raw SQL could move units or cost there under that kind (a back-dated sale or
-- transfer the remeasurement never measured). Now only a movement of adjustment alone is
-- let through on a measured day. Released with migration 0042; a change is a new file and a
-- new migration.

CREATE OR REPLACE FUNCTION holdings_lot_measured_days_kept() RETURNS trigger
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
     WHERE (n.quantity <> 0 OR n.cost <> 0
            OR (e.kind <> 'fair_value_remeasurement'
                AND (o.id IS NULL OR o.kind <> 'fair_value_remeasurement')))
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
