-- Invariant 9 held by PostgreSQL, entry by entry: whatever an entry posts to an account that
-- holds lots, its lot movements there come to, in units and in cost, on the entry's day.
-- Until now only the services kept it (and the nightly verify_lots found a break after the
-- fact): raw SQL could post a wallet's coin with no lot moved, or move lots with an entry
-- that posts nothing there (or with another document's entry), and the lots no longer
-- equalled the journal. Released with migration 0036; a change is a new file and a new
-- migration.
--
-- An account holds lots when a wallet, a pool account's receivable or a loan's pledged or
-- lent collateral names it, or a lot sits in it. For every entry a transaction writes with
-- a posting to such an account, and every entry a transaction moves lots with, at commit,
-- per account: the postings' units equal the movements' and the postings' value their cost,
-- and every movement of units or cost is dated the entry's day. The lots' fair value
-- adjustments are not the lots' accounts' (they sit in the adjustment accounts): a
-- remeasurement's movements, which move neither units nor cost, meet no posting there.

CREATE FUNCTION holdings_account_holds_lots(account bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM holdings_wallet WHERE account_id = account)
        OR EXISTS (SELECT 1 FROM holdings_poolaccount WHERE receivable_account_id = account)
        OR EXISTS (SELECT 1 FROM holdings_loan WHERE pledged_account_id = account)
        OR EXISTS (SELECT 1 FROM holdings_loan WHERE lent_account_id = account)
        OR EXISTS (SELECT 1 FROM holdings_lot WHERE account_id = account)
$$;

-- The entries of a transaction still to be compared with their lots: one row per
-- transaction, written by the statement triggers below, taken by the check at commit.
CREATE TABLE holdings_entry_lots_pending (
    xact bigint PRIMARY KEY DEFAULT txid_current(),
    entry_ids bigint[] NOT NULL
);

CREATE FUNCTION holdings_entry_lots_pending_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        PERFORM ledger_violation('holdings_entry_lots_pending_kept',
            'the entries awaiting their comparison with the lots at commit are kept by the '
            'journal''s and the lots'' own triggers');
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER holdings_entry_lots_pending_guard
    BEFORE INSERT OR UPDATE OR DELETE ON holdings_entry_lots_pending
    FOR EACH ROW EXECUTE FUNCTION holdings_entry_lots_pending_guard();
CREATE TRIGGER holdings_entry_lots_pending_no_truncate
    BEFORE TRUNCATE ON holdings_entry_lots_pending
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_entry_lots_pending_guard();

-- Per statement of postings: the entries that post to an account holding lots. Per
-- statement of lot movements: the entries they name.
CREATE FUNCTION holdings_entries_touch_lots() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'ledger_posting' THEN
        INSERT INTO holdings_entry_lots_pending AS p (entry_ids)
        SELECT array_agg(DISTINCT t.entry_id)
          FROM (SELECT DISTINCT entry_id, account_id FROM touched) t
         WHERE holdings_account_holds_lots(t.account_id)
        HAVING count(*) > 0
        ON CONFLICT (xact) DO UPDATE SET entry_ids = p.entry_ids || EXCLUDED.entry_ids;
    ELSE
        INSERT INTO holdings_entry_lots_pending AS p (entry_ids)
        SELECT array_agg(DISTINCT entry_id) FROM touched HAVING count(*) > 0
        ON CONFLICT (xact) DO UPDATE SET entry_ids = p.entry_ids || EXCLUDED.entry_ids;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER holdings_postings_touch_lots AFTER INSERT ON ledger_posting
    REFERENCING NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_entries_touch_lots();
CREATE TRIGGER holdings_movements_touch_entries AFTER INSERT ON holdings_lotmovement
    REFERENCING NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_entries_touch_lots();

CREATE FUNCTION holdings_entries_match_lots() RETURNS trigger
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
     WHERE (m.account_id IS NOT NULL OR holdings_account_holds_lots(p.account_id))
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
CREATE CONSTRAINT TRIGGER holdings_entries_match_lots
    AFTER INSERT ON holdings_entry_lots_pending DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION holdings_entries_match_lots();
