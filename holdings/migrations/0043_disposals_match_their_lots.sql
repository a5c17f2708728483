-- Disposals against their lots, entry by entry, at commit. A disposal record (what the
-- realized gains report and the roll-forward's dispositions read) keeps, per lot, the units,
-- cost and carrying value its entry's lot movements relieved, and a realized gain that is its
-- proceeds less its cost. Before, raw SQL could add a record to any entry (a sale that never
-- relieved the lot, a gain of its own): nothing compared the records with the lots. Now the
-- lots' comparison at commit (migrations 0040, 0041) takes each entry's disposal records as
-- well, and every disposal of a lot measured at fair value has its records. Released with
-- migration 0043; a change is a new file and a new migration.

CREATE TRIGGER holdings_disposals_touch_lots AFTER INSERT ON holdings_disposal
    REFERENCING NEW TABLE AS touched FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_entries_touch_lots();

-- The comparison at commit (migration 0041's), with the disposal records beside the lot
-- movements. Within an entry, the journal against the lots is named first, then the
-- adjustments, then the disposal records.
CREATE OR REPLACE FUNCTION holdings_entries_match_lots() RETURNS trigger
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    pending bigint[];
    bad record;
BEGIN
    -- The row as it is now: later statements of the transaction added to it.
    DELETE FROM holdings_entry_lots_pending WHERE xact = NEW.xact
    RETURNING entry_ids INTO pending;
    IF pending IS NULL THEN
        RETURN NULL;
    END IF;
    WITH entries AS (
        SELECT DISTINCT id FROM unnest(pending) AS u(id)
    ), posted AS MATERIALIZED (
        SELECT p.entry_id, p.account_id, sum(p.quantity) AS quantity, sum(p.value) AS value
          FROM entries e JOIN ledger_posting p ON p.entry_id = e.id
         GROUP BY p.entry_id, p.account_id
    ), movements AS MATERIALIZED (
        SELECT m.entry_id, m.lot_id, l.account_id, m.kind, m.effective_date, m.quantity, m.cost,
               m.fair_value_adjustment
          FROM entries e
          JOIN holdings_lotmovement m ON m.entry_id = e.id
          JOIN holdings_lot l ON l.id = m.lot_id
    ), moved AS MATERIALIZED (
        SELECT m.entry_id, m.account_id, sum(m.quantity) AS quantity, sum(m.cost) AS cost,
               sum(m.fair_value_adjustment) AS adjustment,
               min(m.effective_date) FILTER (WHERE (m.quantity <> 0 OR m.cost <> 0)
                                               AND m.effective_date <> j.effective_date)
                   AS other_day
          FROM movements m
          JOIN ledger_journalentry j ON j.id = m.entry_id
         GROUP BY m.entry_id, m.account_id
    ), differing AS MATERIALIZED (
        SELECT coalesce(p.entry_id, m.entry_id) AS entry_id,
               coalesce(p.account_id, m.account_id) AS account_id,
               coalesce(p.quantity, 0) AS posted_quantity, coalesce(p.value, 0) AS posted_value,
               coalesce(m.quantity, 0) AS moved_quantity, coalesce(m.cost, 0) AS moved_cost,
               m.other_day
          FROM posted p
          FULL JOIN moved m ON m.entry_id = p.entry_id AND m.account_id = p.account_id
         WHERE (coalesce(p.quantity, 0) <> coalesce(m.quantity, 0)
                OR coalesce(p.value, 0) <> coalesce(m.cost, 0)
                OR m.other_day IS NOT NULL)
           AND (m.account_id IS NOT NULL
                OR EXISTS (SELECT 1 FROM holdings_kept_account k
                            WHERE k.account_id = p.account_id AND k.holds_lots))
    ), adjusted AS MATERIALIZED (
        -- The lots' side by the account measuring them (none: a commodity carried at cost),
        -- the journal's side from the accounts kept as adjustment accounts that still bear an
        -- adjustment account's code.
        SELECT entry_id, account_id, sum(moved) AS moved, sum(posted) AS posted,
               min(lots_account) AS lots_account
          FROM (SELECT m.entry_id, holdings_lots_adjustment_account(m.account_id) AS account_id,
                       m.account_id AS lots_account, m.adjustment AS moved, 0 AS posted
                  FROM moved m
                 WHERE m.adjustment <> 0
                UNION ALL
                SELECT p.entry_id, p.account_id, NULL, 0, p.value
                  FROM posted p
                  JOIN holdings_kept_account k ON k.account_id = p.account_id AND k.adjusts_lots
                  JOIN ledger_account a
                    ON a.id = p.account_id
                   AND a.code IN ('1290', '1291', '1292', '1490', '1491', '1492')) s
         GROUP BY entry_id, account_id
        HAVING account_id IS NULL OR sum(moved) <> sum(posted)
    ), disposed AS MATERIALIZED (
        -- Per entry and lot, the disposal records against the disposal movements: units, cost
        -- and carrying value relieved (a cancellation's mirrors both). A disposal of a
        -- commodity carried at cost (USDT paying a loan) may have no record.
        SELECT entry_id, lot_id, sum(units) AS units, sum(cost) AS cost,
               sum(carrying_value) AS carrying_value, sum(moved_units) AS moved_units,
               sum(moved_cost) AS moved_cost, sum(moved_carrying_value) AS moved_carrying_value,
               bool_or(gain_differs) AS gain_differs
          FROM (SELECT d.entry_id, d.lot_id, d.units, d.cost, d.carrying_value,
                       0 AS moved_units, 0 AS moved_cost, 0 AS moved_carrying_value,
                       true AS recorded, d.realized_gain <> d.proceeds - d.cost AS gain_differs
                  FROM entries e JOIN holdings_disposal d ON d.entry_id = e.id
                UNION ALL
                SELECT m.entry_id, m.lot_id, 0, 0, 0, -m.quantity, -m.cost,
                       -(m.cost + m.fair_value_adjustment), false, false
                  FROM movements m
                 WHERE m.kind = 'disposal') s
         GROUP BY entry_id, lot_id
        HAVING bool_or(gain_differs)
            OR ((sum(units) <> sum(moved_units) OR sum(cost) <> sum(moved_cost)
                 OR sum(carrying_value) <> sum(moved_carrying_value))
                AND (bool_or(recorded)
                     OR holdings_lots_adjustment_account(
                            (SELECT l.account_id FROM holdings_lot l WHERE l.id = s.lot_id))
                        IS NOT NULL))
    )
    SELECT f.rule, f.message
      INTO bad
      FROM (SELECT j.sequence, 1 AS rank, a.code, 'holdings_entry_matches_lots' AS rule,
                   CASE WHEN d.other_day IS NOT NULL THEN format(
                       'entry #%s of %s moves lots in account %s on %s: a lot moves on its '
                       'entry''s day', j.sequence, j.effective_date, a.code, d.other_day)
                   ELSE format(
                       'entry #%s of %s posts %s %s at a value of %s USD to account %s, which '
                       'holds lots, but its lot movements there come to %s %s at a cost of %s USD',
                       j.sequence, j.effective_date, d.posted_quantity, a.commodity_id,
                       d.posted_value, a.code, d.moved_quantity, a.commodity_id, d.moved_cost)
                   END AS message
              FROM differing d
              JOIN ledger_journalentry j ON j.id = d.entry_id
              JOIN ledger_account a ON a.id = d.account_id
            UNION ALL
            SELECT j.sequence, 2, coalesce(a.code, held.code), 'holdings_adjustment_matches_lots',
                   CASE WHEN d.account_id IS NULL THEN format(
                       'entry #%s of %s adjusts the fair value of the %s lots in account %s by %s '
                       'USD, but no fair value adjustment account measures them',
                       j.sequence, j.effective_date, held.commodity_id, held.code, d.moved)
                   ELSE format(
                       'entry #%s of %s posts %s USD to account %s, the fair value adjustment of '
                       'the lots it measures, but its lot movements adjust them by %s USD',
                       j.sequence, j.effective_date, d.posted, a.code, d.moved)
                   END
              FROM adjusted d
              JOIN ledger_journalentry j ON j.id = d.entry_id
              LEFT JOIN ledger_account a ON a.id = d.account_id
              LEFT JOIN ledger_account held ON held.id = d.lots_account
            UNION ALL
            SELECT j.sequence, 3, a.code, 'holdings_disposal_matches_lots',
                   CASE WHEN d.gain_differs THEN format(
                       'entry #%s of %s records a disposal of lot %s whose realized gain is not '
                       'its proceeds less its cost', j.sequence, j.effective_date, d.lot_id)
                   ELSE format(
                       'entry #%s of %s records the disposal of %s %s of lot %s at a cost of %s '
                       'USD and a carrying value of %s, but its lot movements dispose of %s at '
                       'a cost of %s and a carrying value of %s',
                       j.sequence, j.effective_date, d.units, l.commodity_id, d.lot_id, d.cost,
                       d.carrying_value, d.moved_units, d.moved_cost, d.moved_carrying_value)
                   END
              FROM disposed d
              JOIN ledger_journalentry j ON j.id = d.entry_id
              JOIN holdings_lot l ON l.id = d.lot_id
              JOIN ledger_account a ON a.id = l.account_id) f
     ORDER BY f.sequence, f.rank, f.code
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation(bad.rule, bad.message);
    END IF;
    RETURN NULL;
END $$;
