"""The lots' and the loans' comparisons with their entries at commit join the journal by
key (0040_checks_at_commit_by_key.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
# As holdings migrations 0039 and 0038 released them.
MATCH_LOTS_0039 = """
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
"""
MATCH_LOANS_0038 = """
CREATE OR REPLACE FUNCTION holdings_loans_match_entries() RETURNS trigger
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
"""


class Migration(migrations.Migration):
    dependencies = [("holdings", "0039_kept_accounts_at_hand")]

    operations = [migrations.RunSQL(SQL, [MATCH_LOTS_0039, MATCH_LOANS_0038])]
