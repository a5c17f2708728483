"""The accounts the lots' and the loans' checks at commit compare, kept in a table of their
own that each statement of postings asks once (0039_kept_accounts_at_hand.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
# As holdings migrations 0036 and 0038 released them.
HOLDS_LOTS_0036 = """
CREATE FUNCTION holdings_account_holds_lots(account bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM holdings_wallet WHERE account_id = account)
        OR EXISTS (SELECT 1 FROM holdings_poolaccount WHERE receivable_account_id = account)
        OR EXISTS (SELECT 1 FROM holdings_loan WHERE pledged_account_id = account)
        OR EXISTS (SELECT 1 FROM holdings_loan WHERE lent_account_id = account)
        OR EXISTS (SELECT 1 FROM holdings_lot WHERE account_id = account)
$$;
"""
MATCH_LOTS_0036 = """
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
"""
TOUCH_0038 = """
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
"""
TRIGGERS = {
    "holdings_wallet": ("holdings_wallets_keep_accounts", "holdings_wallets_keep_accounts_updated"),
    "holdings_poolaccount": (
        "holdings_pool_accounts_keep_accounts",
        "holdings_pool_accounts_keep_accounts_updated",
    ),
    "holdings_loan": ("holdings_loans_keep_accounts", "holdings_loans_keep_accounts_updated"),
    "holdings_lot": ("holdings_lots_keep_accounts",),
}
REVERSE = [
    HOLDS_LOTS_0036,
    MATCH_LOTS_0036,
    TOUCH_0038,
    *(f"DROP TRIGGER {name} ON {table}" for table, names in TRIGGERS.items() for name in names),
    "DROP FUNCTION holdings_kept_accounts_follow()",
    "DROP TABLE holdings_kept_account",
    "DROP FUNCTION holdings_kept_account_guard()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0038_loans_match_their_entries")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
