-- Disposal records as their entries and documents make them, whoever writes. Migration 0043
-- compared each entry's records with its lot movements, lot by lot, in sums; nothing compared
-- a record with its day, its sale or transfer, or the record it reverses. Raw SQL could date a
-- record on another day than its entry (a gain moved into another period of the realized
-- gains), claim any number of days held (coins sold "nearly immediately" after mining are an
-- operating cash flow), add a record of no units with a gain of its own, or write a sale
-- whose proceeds, cost or gains its records do not add up to. Now:
-- * a record relieves units at a cost and proceeds of no other sign (a cancellation's mirror
--   takes them back): a CHECK, NOT VALID, so that records written before are not read again;
-- * when written, a record is written after its entry and dated its entry's day; a record of
--   its own counts the days from its lot's acquisition (a UTC date) to that day, names the
--   sale or the transfer its entry posts, and for a transfer's network fee has no proceeds; a
--   cancellation's entry records only mirrors, and a mirror is its original turned round,
--   under the entry that cancels the original's;
-- * at commit, a sale equals its records (units, cost, carrying value, proceeds, method) with
--   its gains its proceeds less its cost and less its carrying value, and a transfer's fee
--   units equal its records' units.
-- Released with migration 0044; a change is a new file and a new migration.

ALTER TABLE holdings_disposal
    ADD CONSTRAINT holdings_disposal_signed CHECK (
        days_held >= 0
        AND CASE WHEN reversal_of_id IS NULL THEN units > 0 AND cost >= 0 AND proceeds >= 0
                 ELSE units < 0 AND cost <= 0 AND proceeds <= 0 END) NOT VALID;

CREATE FUNCTION holdings_disposals_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    -- The first record at fault in the journal's order, and which rule it breaks; only its
    -- message is made. A record whose lot is not written is left to
    -- holdings_disposal_lot_exists.
    SELECT * INTO bad FROM (
        SELECT d.id, d.lot_id, d.entry_id, d.disposed_on, d.days_held, d.sale_id,
               d.transfer_id, d.proceeds, d.reversal_of_id, j.sequence, j.effective_date,
               r.sequence AS cancelled_sequence,
               (l.acquired_at AT TIME ZONE 'UTC')::date AS acquired_on, s.id AS posted_sale,
               t.id AS posted_transfer, oj.sequence AS original_sequence,
               CASE
                   WHEN j.id IS NULL THEN 'entry'
                   WHEN d.disposed_on <> j.effective_date THEN 'day'
                   WHEN d.reversal_of_id IS NULL THEN CASE
                       WHEN j.reversal_of_id IS NOT NULL THEN 'cancellation'
                       WHEN d.days_held
                            <> d.disposed_on - (l.acquired_at AT TIME ZONE 'UTC')::date
                           THEN 'days'
                       WHEN d.sale_id IS DISTINCT FROM s.id THEN 'sale'
                       WHEN d.transfer_id IS DISTINCT FROM t.id THEN 'transfer'
                       WHEN d.transfer_id IS NOT NULL AND d.proceeds <> 0 THEN 'fee'
                   END
                   WHEN o.id IS NULL THEN 'original'
                   WHEN j.reversal_of_id IS DISTINCT FROM o.entry_id THEN 'cancels'
                   WHEN (d.lot_id, d.sale_id, d.transfer_id, d.method, d.days_held, d.units,
                         d.cost, d.carrying_value, d.proceeds, d.realized_gain)
                        IS DISTINCT FROM
                        (o.lot_id, o.sale_id, o.transfer_id, o.method, o.days_held, -o.units,
                         -o.cost, -o.carrying_value, -o.proceeds, -o.realized_gain)
                       THEN 'mirror'
               END AS fault
          FROM new_disposals d
          JOIN holdings_lot l ON l.id = d.lot_id
          LEFT JOIN ledger_journalentry j ON j.id = d.entry_id
          LEFT JOIN ledger_journalentry r ON r.id = j.reversal_of_id
          LEFT JOIN holdings_sale s ON s.entry_id = d.entry_id
          LEFT JOIN holdings_transfer t ON t.entry_id = d.entry_id
          LEFT JOIN holdings_disposal o ON o.id = d.reversal_of_id
          LEFT JOIN ledger_journalentry oj ON oj.id = o.entry_id) f
     WHERE f.fault IS NOT NULL
     ORDER BY f.sequence NULLS FIRST, f.id
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF bad.fault = 'entry' THEN
        PERFORM ledger_violation('holdings_disposal_after_its_entry', format(
            'the disposal of lot %s names entry %s, which is not written: a disposal record is '
            'written after its entry', bad.lot_id, bad.entry_id));
    ELSIF bad.fault = 'day' THEN
        PERFORM ledger_violation('holdings_disposal_on_its_entrys_day', format(
            'entry #%s of %s records a disposal of lot %s on %s: a disposal is dated its '
            'entry''s day', bad.sequence, bad.effective_date, bad.lot_id, bad.disposed_on));
    ELSIF bad.fault = 'days' THEN
        PERFORM ledger_violation('holdings_disposal_days_held', format(
            'entry #%s of %s records lot %s as held %s days, but the lot was acquired on %s, '
            '%s days before', bad.sequence, bad.effective_date, bad.lot_id, bad.days_held,
            bad.acquired_on, bad.disposed_on - bad.acquired_on));
    ELSIF bad.fault IN ('sale', 'transfer') THEN
        PERFORM ledger_violation('holdings_disposal_of_its_document', format(
            'entry #%s of %s records a disposal of lot %s for %s, but the entry posts %s',
            bad.sequence, bad.effective_date, bad.lot_id,
            coalesce('sale ' || bad.sale_id, 'transfer ' || bad.transfer_id, 'no document'),
            coalesce('sale ' || bad.posted_sale, 'transfer ' || bad.posted_transfer,
                     'no sale or transfer')));
    ELSIF bad.fault = 'fee' THEN
        PERFORM ledger_violation('holdings_disposal_of_its_document', format(
            'entry #%s of %s records proceeds of %s USD for lot %s, spent on transfer %s''s '
            'network fee: a fee is a disposal for nothing', bad.sequence, bad.effective_date,
            bad.proceeds, bad.lot_id, bad.transfer_id));
    ELSIF bad.fault = 'cancellation' THEN
        PERFORM ledger_violation('holdings_disposal_mirrors_its_original', format(
            'entry #%s of %s cancels entry #%s and records a disposal of lot %s that reverses '
            'none: a cancellation records only the mirrors of the disposals it cancels',
            bad.sequence, bad.effective_date, bad.cancelled_sequence, bad.lot_id));
    ELSIF bad.fault = 'original' THEN
        PERFORM ledger_violation('holdings_disposal_mirrors_its_original', format(
            'entry #%s of %s reverses disposal %s, which is not written', bad.sequence,
            bad.effective_date, bad.reversal_of_id));
    ELSIF bad.fault = 'cancels' THEN
        PERFORM ledger_violation('holdings_disposal_mirrors_its_original', format(
            'entry #%s of %s reverses disposal %s of entry #%s, which it does not cancel',
            bad.sequence, bad.effective_date, bad.reversal_of_id, bad.original_sequence));
    ELSE
        PERFORM ledger_violation('holdings_disposal_mirrors_its_original', format(
            'entry #%s of %s reverses disposal %s otherwise than it was: a mirror keeps its '
            'lot, sale or transfer, method and days held, and turns round its units, cost, '
            'carrying value, proceeds and gain', bad.sequence, bad.effective_date,
            bad.reversal_of_id));
    END IF;
    RETURN NULL;
END $$;

-- Named to fire before holdings_disposals_totalled, which places each record by its day.
CREATE TRIGGER holdings_disposals_kept AFTER INSERT ON holdings_disposal
    REFERENCING NEW TABLE AS new_disposals FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_disposals_kept();

-- A sale, at commit, against the records written with it.
CREATE FUNCTION holdings_sale_matches_disposals() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    got record;
    entry_sequence bigint;
    entry_day date;
BEGIN
    SELECT coalesce(sum(d.units), 0) AS units, coalesce(sum(d.cost), 0) AS cost,
           coalesce(sum(d.carrying_value), 0) AS carrying_value,
           coalesce(sum(d.proceeds), 0) AS proceeds,
           coalesce(bool_and(d.method = NEW.method), true) AS same_method
      INTO got
      FROM holdings_disposal d
     WHERE d.sale_id = NEW.id AND d.reversal_of_id IS NULL;
    IF (got.units, got.cost, got.carrying_value, got.proceeds)
           = (NEW.units, NEW.cost, NEW.carrying_value, NEW.proceeds_value)
       AND got.same_method
       AND NEW.realized_gain = NEW.proceeds_value - NEW.cost
       AND NEW.gain_on_carrying_value = NEW.proceeds_value - NEW.carrying_value THEN
        RETURN NULL;
    END IF;
    SELECT j.sequence, j.effective_date INTO entry_sequence, entry_day
      FROM ledger_journalentry j WHERE j.id = NEW.entry_id;
    IF NOT got.same_method THEN
        PERFORM ledger_violation('holdings_sale_matches_disposals', format(
            'sale %s (entry #%s of %s) relieves its lots by %s, but a disposal record of it by '
            'another method', NEW.reference, entry_sequence, entry_day, NEW.method));
    ELSIF NEW.realized_gain <> NEW.proceeds_value - NEW.cost
          OR NEW.gain_on_carrying_value <> NEW.proceeds_value - NEW.carrying_value THEN
        PERFORM ledger_violation('holdings_sale_matches_disposals', format(
            'sale %s (entry #%s of %s) gains %s USD on its cost and %s on its carrying value, '
            'but its proceeds of %s less its cost of %s and its carrying value of %s make %s '
            'and %s', NEW.reference, entry_sequence, entry_day, NEW.realized_gain,
            NEW.gain_on_carrying_value, NEW.proceeds_value, NEW.cost, NEW.carrying_value,
            NEW.proceeds_value - NEW.cost, NEW.proceeds_value - NEW.carrying_value));
    ELSE
        PERFORM ledger_violation('holdings_sale_matches_disposals', format(
            'sale %s (entry #%s of %s) is of %s %s at a cost of %s USD, a carrying value of %s '
            'and proceeds of %s, but its disposal records come to %s at a cost of %s, a '
            'carrying value of %s and proceeds of %s', NEW.reference, entry_sequence, entry_day, NEW.units,
            NEW.commodity_id, NEW.cost, NEW.carrying_value, NEW.proceeds_value, got.units,
            got.cost, got.carrying_value, got.proceeds));
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER holdings_sale_matches_disposals AFTER INSERT ON holdings_sale
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION holdings_sale_matches_disposals();

-- A transfer's network fee, at commit, against the records written with it.
CREATE FUNCTION holdings_transfer_fee_matches_disposals() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    recorded numeric;
    entry_sequence bigint;
    entry_day date;
BEGIN
    SELECT coalesce(sum(d.units), 0) INTO recorded
      FROM holdings_disposal d
     WHERE d.transfer_id = NEW.id AND d.reversal_of_id IS NULL;
    IF recorded <> NEW.fee_units THEN
        SELECT j.sequence, j.effective_date INTO entry_sequence, entry_day
          FROM ledger_journalentry j WHERE j.id = NEW.entry_id;
        PERFORM ledger_violation('holdings_transfer_fee_matches_disposals', format(
            'transfer %s (entry #%s of %s) pays a network fee of %s, but its disposal records '
            'come to %s', NEW.txid, entry_sequence, entry_day, NEW.fee_units, recorded));
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER holdings_transfer_fee_matches_disposals AFTER INSERT
    ON holdings_transfer DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION holdings_transfer_fee_matches_disposals();
