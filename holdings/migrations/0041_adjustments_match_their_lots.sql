-- The fair value adjustment accounts (1290, 1490 and their siblings per commodity) against the
-- lots' adjustments, entry by entry, at commit. What an entry posts to an adjustment account
-- is what its lot movements add to, or take from, the adjustments of the lots that account
-- measures: a remeasurement's share of each lot, a sale's or a fee's relieved share, a
-- transfer's share carried to the collateral receivable. Before, raw SQL could post a bare
-- entry to 1290 against 4100 (a gain no lot carries) or adjust lots with no entry there; the
-- nightly jobs compared units and cost only. The chart's codes are those of holdings/chart.py
-- (a test holds the two together). Released with migration 0041; a change is a new file and a
-- new migration.

-- The fair value adjustment account that measures the lots of an account: the commodity's
-- collateral adjustment for an account under its collateral receivable, the commodity's own
-- otherwise; none for a commodity carried at cost (USDT) or a chart without it.
CREATE FUNCTION holdings_lots_adjustment_account(lots_account bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up AS (
        SELECT id, parent_id, code, commodity_id FROM ledger_account WHERE id = lots_account
        UNION ALL
        SELECT a.id, a.parent_id, a.code, a.commodity_id
          FROM ledger_account a JOIN up ON a.id = up.parent_id
    ), measured(commodity, receivable, own, lent) AS (
        VALUES ('BTC', '1400', '1290', '1490'),
               ('KAS', '1401', '1291', '1491'),
               ('ETC', '1402', '1292', '1492')
    )
    SELECT adjustment.id
      FROM measured m
      JOIN ledger_account adjustment
        ON adjustment.code = CASE WHEN EXISTS (SELECT 1 FROM up
                                                WHERE up.code = m.receivable
                                                  AND up.commodity_id = m.commodity)
                                  THEN m.lent ELSE m.own END
     WHERE m.commodity = (SELECT commodity_id FROM up WHERE id = lots_account)
$$;

-- The adjustment accounts join the kept accounts, so that an entry posting to one is compared
-- at commit whatever else it posts. Kept by the accounts' own triggers, by code, and never
-- narrowed (the comparison reads the codes as they are at commit).
ALTER TABLE holdings_kept_account ADD COLUMN adjusts_lots boolean NOT NULL DEFAULT false;

ALTER TABLE holdings_kept_account DISABLE TRIGGER holdings_kept_account_guard;
INSERT INTO holdings_kept_account AS k (account_id, adjusts_lots)
SELECT id, true FROM ledger_account
 WHERE code IN ('1290', '1291', '1292', '1490', '1491', '1492')
 ORDER BY id
ON CONFLICT (account_id) DO UPDATE SET adjusts_lots = true;
ALTER TABLE holdings_kept_account ENABLE TRIGGER holdings_kept_account_guard;

CREATE FUNCTION holdings_adjustment_accounts_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO holdings_kept_account AS k (account_id, adjusts_lots)
    SELECT id, true FROM named
     WHERE code IN ('1290', '1291', '1292', '1490', '1491', '1492')
     ORDER BY id
    ON CONFLICT (account_id) DO UPDATE SET adjusts_lots = true WHERE NOT k.adjusts_lots;
    RETURN NULL;
END $$;
CREATE TRIGGER holdings_adjustment_accounts_kept AFTER INSERT ON ledger_account
    REFERENCING NEW TABLE AS named FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_adjustment_accounts_follow();
CREATE TRIGGER holdings_adjustment_accounts_kept_updated AFTER UPDATE ON ledger_account
    REFERENCING NEW TABLE AS named FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_adjustment_accounts_follow();

-- A statement of postings notes its entries for the lots' comparison when it touches an
-- account that holds lots or one that adjusts them.
CREATE OR REPLACE FUNCTION holdings_entries_touch_lots() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'ledger_posting' THEN
        IF NOT EXISTS (SELECT 1 FROM touched t
                         JOIN holdings_kept_account k ON k.account_id = t.account_id) THEN
            RETURN NULL;
        END IF;
        WITH kept AS (
            SELECT DISTINCT t.entry_id, k.holds_lots OR k.adjusts_lots AS lots, k.loan
              FROM touched t JOIN holdings_kept_account k ON k.account_id = t.account_id
        ), lots AS (
            INSERT INTO holdings_entry_lots_pending AS p (entry_ids)
            SELECT array_agg(DISTINCT entry_id) FROM kept WHERE lots HAVING count(*) > 0
            ON CONFLICT (xact) DO UPDATE SET entry_ids = p.entry_ids || EXCLUDED.entry_ids
            RETURNING 1
        )
        INSERT INTO holdings_loan_entries_pending AS p (entry_ids)
        SELECT array_agg(DISTINCT entry_id) FROM kept WHERE loan HAVING count(*) > 0
        ON CONFLICT (xact) DO UPDATE SET entry_ids = p.entry_ids || EXCLUDED.entry_ids;
    ELSIF TG_TABLE_NAME = 'holdings_loanevent' THEN
        INSERT INTO holdings_loan_entries_pending AS p (entry_ids)
        SELECT array_agg(DISTINCT entry_id) FROM touched WHERE entry_id IS NOT NULL
        HAVING count(*) > 0
        ON CONFLICT (xact) DO UPDATE SET entry_ids = p.entry_ids || EXCLUDED.entry_ids;
    ELSE
        INSERT INTO holdings_entry_lots_pending AS p (entry_ids)
        SELECT array_agg(DISTINCT entry_id) FROM touched HAVING count(*) > 0
        ON CONFLICT (xact) DO UPDATE SET entry_ids = p.entry_ids || EXCLUDED.entry_ids;
    END IF;
    RETURN NULL;
END $$;

-- The comparison at commit (migration 0040's), with the adjustments beside units and cost: per
-- entry and adjustment account, what the entry posts there against what its movements add to
-- the adjustments of the lots that account measures. The first difference of either kind in
-- the journal's order is named.
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
    ), moved AS MATERIALIZED (
        SELECT m.entry_id, l.account_id, sum(m.quantity) AS quantity, sum(m.cost) AS cost,
               sum(m.fair_value_adjustment) AS adjustment,
               min(m.effective_date) FILTER (WHERE (m.quantity <> 0 OR m.cost <> 0)
                                               AND m.effective_date <> j.effective_date)
                   AS other_day
          FROM entries e
          JOIN holdings_lotmovement m ON m.entry_id = e.id
          JOIN holdings_lot l ON l.id = m.lot_id
          JOIN ledger_journalentry j ON j.id = m.entry_id
         GROUP BY m.entry_id, l.account_id
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
    )
    SELECT f.rule, f.message
      INTO bad
      FROM (SELECT j.sequence, a.code, 'holdings_entry_matches_lots' AS rule,
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
            SELECT j.sequence, coalesce(a.code, held.code), 'holdings_adjustment_matches_lots',
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
              LEFT JOIN ledger_account held ON held.id = d.lots_account) f
     ORDER BY f.sequence, f.code, f.rule
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation(bad.rule, bad.message);
    END IF;
    RETURN NULL;
END $$;
