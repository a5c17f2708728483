-- A loan's accounts move only with its events, entry by entry: whatever an entry posts to a
-- loan's principal or interest account is what the loan event it posts says (a draw its
-- amount owed, an accrual its interest, a repayment or liquidation the principal and the
-- interest it paid off), or the mirror of that where the entry reverses an event's (its
-- cancellation). Until now raw SQL could pay down a loan's principal, or accrue interest on
-- it, with a bare entry, or write an event whose amount its entry did not post: the loan's
-- events no longer equalled its accounts. Checked at commit, over the entries a transaction
-- posted to a loan's accounts and those its loan events name. Released with migration 0038;
-- a change is a new file and a new migration.

CREATE TABLE holdings_loan_entries_pending (
    xact bigint PRIMARY KEY DEFAULT txid_current(),
    entry_ids bigint[] NOT NULL
);

CREATE FUNCTION holdings_loan_entries_pending_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        PERFORM ledger_violation('holdings_loan_entries_pending_kept',
            'the entries awaiting their comparison with the loans at commit are kept by the '
            'journal''s and the loans'' own triggers');
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER holdings_loan_entries_pending_guard
    BEFORE INSERT OR UPDATE OR DELETE ON holdings_loan_entries_pending
    FOR EACH ROW EXECUTE FUNCTION holdings_loan_entries_pending_guard();
CREATE TRIGGER holdings_loan_entries_pending_no_truncate
    BEFORE TRUNCATE ON holdings_loan_entries_pending
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_loan_entries_pending_guard();

-- The postings' statement trigger of migration 0036 notes, besides the entries that post to
-- an account holding lots, those that post to a loan's principal or interest account: one
-- trigger a statement of postings. A statement of loan events notes the entries they name.
CREATE OR REPLACE FUNCTION holdings_entries_touch_lots() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'ledger_posting' THEN
        INSERT INTO holdings_entry_lots_pending AS p (entry_ids)
        SELECT array_agg(DISTINCT t.entry_id)
          FROM (SELECT DISTINCT entry_id, account_id FROM touched) t
         WHERE holdings_account_holds_lots(t.account_id)
        HAVING count(*) > 0
        ON CONFLICT (xact) DO UPDATE SET entry_ids = p.entry_ids || EXCLUDED.entry_ids;
        INSERT INTO holdings_loan_entries_pending AS p (entry_ids)
        SELECT array_agg(DISTINCT t.entry_id)
          FROM (SELECT DISTINCT entry_id, account_id FROM touched) t
         WHERE EXISTS (SELECT 1 FROM holdings_loan WHERE principal_account_id = t.account_id)
            OR EXISTS (SELECT 1 FROM holdings_loan WHERE interest_account_id = t.account_id)
        HAVING count(*) > 0
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
CREATE TRIGGER holdings_loan_events_touch_entries AFTER INSERT ON holdings_loanevent
    REFERENCING NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_entries_touch_lots();

CREATE FUNCTION holdings_loans_match_entries() RETURNS trigger
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    pending bigint[];
    bad record;
BEGIN
    DELETE FROM holdings_loan_entries_pending WHERE xact = NEW.xact
    RETURNING entry_ids INTO pending;
    IF pending IS NULL THEN
        RETURN NULL;
    END IF;
    WITH entries AS (
        SELECT DISTINCT id FROM unnest(pending) AS u(id)
    ), posted AS (
        SELECT p.entry_id, l.id AS loan_id,
               coalesce(sum(p.quantity) FILTER (WHERE p.account_id = l.principal_account_id), 0)
                   AS principal,
               coalesce(sum(p.quantity) FILTER (WHERE p.account_id = l.interest_account_id), 0)
                   AS interest
          FROM entries e
          JOIN ledger_posting p ON p.entry_id = e.id
          JOIN holdings_loan l
            ON p.account_id = l.principal_account_id OR p.account_id = l.interest_account_id
         GROUP BY p.entry_id, l.id
    ), said AS (
        -- What the event an entry posts (or reverses, mirrored) says of its loan's accounts.
        SELECT e.id AS entry_id, v.loan_id, v.kind,
               CASE WHEN j.reversal_of_id IS NULL THEN 1 ELSE -1 END * CASE v.kind
                   WHEN 'draw' THEN -v.amount
                   WHEN 'repayment' THEN (v.details ->> 'principal')::numeric
                   WHEN 'liquidation' THEN (v.details ->> 'principal')::numeric
                   ELSE 0 END AS principal,
               CASE WHEN j.reversal_of_id IS NULL THEN 1 ELSE -1 END * CASE v.kind
                   WHEN 'accrual' THEN -v.amount
                   WHEN 'repayment' THEN (v.details ->> 'interest')::numeric
                   WHEN 'liquidation' THEN (v.details ->> 'interest')::numeric
                   ELSE 0 END AS interest
          FROM entries e
          JOIN ledger_journalentry j ON j.id = e.id
          JOIN holdings_loanevent v ON v.entry_id = coalesce(j.reversal_of_id, j.id)
    )
    SELECT coalesce(p.entry_id, s.entry_id) AS entry_id, j.sequence, j.effective_date,
           ln.code AS loan, s.kind,
           coalesce(p.principal, 0) AS posted_principal, coalesce(s.principal, 0) AS principal,
           coalesce(p.interest, 0) AS posted_interest, coalesce(s.interest, 0) AS interest
      INTO bad
      FROM posted p
      FULL JOIN said s ON s.entry_id = p.entry_id AND s.loan_id = p.loan_id
      JOIN ledger_journalentry j ON j.id = coalesce(p.entry_id, s.entry_id)
      JOIN holdings_loan ln ON ln.id = coalesce(p.loan_id, s.loan_id)
     WHERE coalesce(p.principal, 0) <> coalesce(s.principal, 0)
        OR coalesce(p.interest, 0) <> coalesce(s.interest, 0)
     ORDER BY j.sequence, ln.code
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_loan_matches_entries', format(
            'entry #%s of %s posts %s to the principal and %s to the interest of loan %s, '
            'but %s says %s and %s',
            bad.sequence, bad.effective_date, bad.posted_principal, bad.posted_interest,
            bad.loan,
            CASE WHEN bad.kind IS NULL THEN 'no loan event of it'
                 ELSE format('its %s event', bad.kind) END,
            bad.principal, bad.interest));
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER holdings_loans_match_entries
    AFTER INSERT ON holdings_loan_entries_pending DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION holdings_loans_match_entries();
