-- The accounts the checks at commit of migrations 0036 and 0038 compare, in a table of their
-- own: those holding lots (named by a wallet, a pool account's receivable or a loan's
-- collateral, or with a lot in them) and a loan's principal and interest accounts. Kept by
-- triggers on the wallets, pool accounts, loans and lots, and never narrowed: an account once
-- kept stays kept. Each statement of postings then asks one index whether it touches any,
-- where it ran seven look-ups through a function PostgreSQL did not inline (about 0.4 ms a
-- statement, a single entry's included). Released with migration 0039; a change is a new file
-- and a new migration.

CREATE TABLE holdings_kept_account (
    account_id bigint PRIMARY KEY,
    holds_lots boolean NOT NULL DEFAULT false,
    loan boolean NOT NULL DEFAULT false
);

INSERT INTO holdings_kept_account (account_id, holds_lots, loan)
SELECT account_id, bool_or(holds_lots), bool_or(loan)
  FROM (SELECT account_id, true AS holds_lots, false AS loan FROM holdings_wallet
        UNION ALL SELECT receivable_account_id, true, false FROM holdings_poolaccount
        UNION ALL SELECT pledged_account_id, true, false FROM holdings_loan
        UNION ALL SELECT lent_account_id, true, false FROM holdings_loan
        UNION ALL SELECT DISTINCT account_id, true, false FROM holdings_lot
        UNION ALL SELECT principal_account_id, false, true FROM holdings_loan
        UNION ALL SELECT interest_account_id, false, true FROM holdings_loan) named
 GROUP BY account_id;

CREATE FUNCTION holdings_kept_account_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        PERFORM ledger_violation('holdings_kept_accounts_kept',
            'the accounts the lots and loans keep follow the wallets, pool accounts, loans and '
            'lots that name them');
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER holdings_kept_account_guard
    BEFORE INSERT OR UPDATE OR DELETE ON holdings_kept_account
    FOR EACH ROW EXECUTE FUNCTION holdings_kept_account_guard();
CREATE TRIGGER holdings_kept_account_no_truncate BEFORE TRUNCATE ON holdings_kept_account
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_kept_account_guard();

CREATE FUNCTION holdings_kept_accounts_follow() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'holdings_wallet' THEN
        INSERT INTO holdings_kept_account AS k (account_id, holds_lots)
        SELECT DISTINCT account_id, true FROM named ORDER BY 1
        ON CONFLICT (account_id) DO UPDATE SET holds_lots = true WHERE NOT k.holds_lots;
    ELSIF TG_TABLE_NAME = 'holdings_poolaccount' THEN
        INSERT INTO holdings_kept_account AS k (account_id, holds_lots)
        SELECT DISTINCT receivable_account_id, true FROM named ORDER BY 1
        ON CONFLICT (account_id) DO UPDATE SET holds_lots = true WHERE NOT k.holds_lots;
    ELSIF TG_TABLE_NAME = 'holdings_lot' THEN
        INSERT INTO holdings_kept_account AS k (account_id, holds_lots)
        SELECT DISTINCT account_id, true FROM named ORDER BY 1
        ON CONFLICT (account_id) DO UPDATE SET holds_lots = true WHERE NOT k.holds_lots;
    ELSE
        INSERT INTO holdings_kept_account AS k (account_id, holds_lots, loan)
        SELECT account_id, bool_or(holds_lots), bool_or(loan)
          FROM (SELECT pledged_account_id AS account_id, true AS holds_lots, false AS loan
                  FROM named
                UNION ALL SELECT lent_account_id, true, false FROM named
                UNION ALL SELECT principal_account_id, false, true FROM named
                UNION ALL SELECT interest_account_id, false, true FROM named) a
         GROUP BY account_id ORDER BY account_id
        ON CONFLICT (account_id) DO UPDATE
           SET holds_lots = k.holds_lots OR EXCLUDED.holds_lots, loan = k.loan OR EXCLUDED.loan
         WHERE (EXCLUDED.holds_lots AND NOT k.holds_lots) OR (EXCLUDED.loan AND NOT k.loan);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER holdings_wallets_keep_accounts AFTER INSERT ON holdings_wallet
    REFERENCING NEW TABLE AS named FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_kept_accounts_follow();
CREATE TRIGGER holdings_wallets_keep_accounts_updated AFTER UPDATE ON holdings_wallet
    REFERENCING NEW TABLE AS named FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_kept_accounts_follow();
CREATE TRIGGER holdings_pool_accounts_keep_accounts AFTER INSERT ON holdings_poolaccount
    REFERENCING NEW TABLE AS named FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_kept_accounts_follow();
CREATE TRIGGER holdings_pool_accounts_keep_accounts_updated AFTER UPDATE ON holdings_poolaccount
    REFERENCING NEW TABLE AS named FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_kept_accounts_follow();
CREATE TRIGGER holdings_loans_keep_accounts AFTER INSERT ON holdings_loan
    REFERENCING NEW TABLE AS named FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_kept_accounts_follow();
CREATE TRIGGER holdings_loans_keep_accounts_updated AFTER UPDATE ON holdings_loan
    REFERENCING NEW TABLE AS named FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_kept_accounts_follow();
CREATE TRIGGER holdings_lots_keep_accounts AFTER INSERT ON holdings_lot
    REFERENCING NEW TABLE AS named FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_kept_accounts_follow();

-- A statement of postings asks the kept accounts once, and notes its entries for both
-- checks in one statement, only when it touches one.
CREATE OR REPLACE FUNCTION holdings_entries_touch_lots() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'ledger_posting' THEN
        IF NOT EXISTS (SELECT 1 FROM touched t
                         JOIN holdings_kept_account k ON k.account_id = t.account_id) THEN
            RETURN NULL;
        END IF;
        WITH kept AS (
            SELECT DISTINCT t.entry_id, k.holds_lots, k.loan
              FROM touched t JOIN holdings_kept_account k ON k.account_id = t.account_id
        ), lots AS (
            INSERT INTO holdings_entry_lots_pending AS p (entry_ids)
            SELECT array_agg(DISTINCT entry_id) FROM kept WHERE holds_lots HAVING count(*) > 0
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
    ), posted AS (
        SELECT p.entry_id, p.account_id, sum(p.quantity) AS quantity, sum(p.value) AS value
          FROM entries e JOIN ledger_posting p ON p.entry_id = e.id
         GROUP BY p.entry_id, p.account_id
    ), moved AS (
        SELECT m.entry_id, l.account_id, sum(m.quantity) AS quantity, sum(m.cost) AS cost,
               min(m.effective_date) FILTER (WHERE m.quantity <> 0 OR m.cost <> 0) AS first_day,
               max(m.effective_date) FILTER (WHERE m.quantity <> 0 OR m.cost <> 0) AS last_day
          FROM entries e
          JOIN holdings_lotmovement m ON m.entry_id = e.id
          JOIN holdings_lot l ON l.id = m.lot_id
         GROUP BY m.entry_id, l.account_id
    )
    SELECT coalesce(p.entry_id, m.entry_id) AS entry_id, j.sequence, j.effective_date,
           a.code, a.commodity_id,
           coalesce(p.quantity, 0) AS posted_quantity, coalesce(p.value, 0) AS posted_value,
           coalesce(m.quantity, 0) AS moved_quantity, coalesce(m.cost, 0) AS moved_cost,
           CASE WHEN m.first_day <> j.effective_date THEN m.first_day
                WHEN m.last_day <> j.effective_date THEN m.last_day END AS other_day
      INTO bad
      FROM posted p
      FULL JOIN moved m ON m.entry_id = p.entry_id AND m.account_id = p.account_id
      JOIN ledger_journalentry j ON j.id = coalesce(p.entry_id, m.entry_id)
      JOIN ledger_account a ON a.id = coalesce(p.account_id, m.account_id)
     WHERE (m.account_id IS NOT NULL OR EXISTS (SELECT 1 FROM holdings_kept_account k
                                              WHERE k.account_id = p.account_id AND k.holds_lots))
       AND (coalesce(p.quantity, 0) <> coalesce(m.quantity, 0)
            OR coalesce(p.value, 0) <> coalesce(m.cost, 0)
            OR m.first_day <> j.effective_date
            OR m.last_day <> j.effective_date)
     ORDER BY j.sequence, a.code
     LIMIT 1;
    IF FOUND THEN
        IF bad.other_day IS NOT NULL THEN
            PERFORM ledger_violation('holdings_entry_matches_lots', format(
                'entry #%s of %s moves lots in account %s on %s: a lot moves on its entry''s day',
                bad.sequence, bad.effective_date, bad.code, bad.other_day));
        END IF;
        PERFORM ledger_violation('holdings_entry_matches_lots', format(
            'entry #%s of %s posts %s %s at a value of %s USD to account %s, which holds lots, '
            'but its lot movements there come to %s %s at a cost of %s USD',
            bad.sequence, bad.effective_date, bad.posted_quantity, bad.commodity_id,
            bad.posted_value, bad.code, bad.moved_quantity, bad.commodity_id, bad.moved_cost));
    END IF;
    RETURN NULL;
END $$;

DROP FUNCTION holdings_account_holds_lots(bigint);
