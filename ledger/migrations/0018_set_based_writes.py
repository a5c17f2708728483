"""The journal's write path, set-based: fewer passes over a statement's postings, both
roll-ups in one statement, and entries whose postings follow in later statements of their
transaction (a batch written with COPY) checked once at commit, and the guards of the
roll-ups and the audit log not called for the ledger's own writes (0018_set_based_writes.sql).
On the way back, the trigger functions and guards as 0002 and 0007 released them."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()

# The functions of ledger/sql/invariants.sql, as released.
ENTRIES_AFTER_INSERT = """
CREATE OR REPLACE FUNCTION ledger_entries_after_insert() RETURNS trigger
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
    closed_through date;
    earliest date;
    bare record;
BEGIN
    SELECT max(through) INTO closed_through FROM ledger_periodclose WHERE reopened_at IS NULL;
    IF closed_through IS NOT NULL THEN
        SELECT min(effective_date) INTO earliest FROM new_entries;
        IF earliest <= closed_through THEN
            PERFORM ledger_violation('ledger_entry_period_open',
                format('effective date %s is inside the period closed through %s',
                       earliest, closed_through));
        END IF;
    END IF;
    SELECT e.id, count(p.id) AS n INTO bare
      FROM new_entries e
      LEFT JOIN LATERAL (SELECT id FROM ledger_posting WHERE entry_id = e.id LIMIT 2) p ON true
     GROUP BY e.id
    HAVING count(p.id) < 2
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('ledger_entry_has_postings',
            format('entry %s has %s posting(s); an entry needs at least two, written with it',
                   bare.id, bare.n));
    END IF;
    RETURN NULL;
END $$;
"""

POSTING_AFTER_INSERT = """
CREATE OR REPLACE FUNCTION ledger_posting_after_insert() RETURNS trigger
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
    bad record;
BEGIN
    SELECT p.id, p.entry_id, p.account_id, p.commodity_id, p.scale, p.effective_date,
           e.id AS found_entry, e.effective_date AS entry_date,
           e.posted_xact = pg_current_xact_id() AS same_xact,
           a.id AS found_account, a.code, a.commodity_id AS account_commodity,
           c.decimal_places
      INTO bad
      FROM new_postings p
      LEFT JOIN ledger_journalentry e ON e.id = p.entry_id
      LEFT JOIN ledger_account a ON a.id = p.account_id
      LEFT JOIN ledger_commodity c ON c.code = a.commodity_id
     WHERE e.id IS NULL
        OR a.id IS NULL
        OR e.posted_xact <> pg_current_xact_id()
        OR p.effective_date <> e.effective_date
        OR p.commodity_id <> a.commodity_id
        OR p.scale <> c.decimal_places
     LIMIT 1;
    IF FOUND THEN
        IF bad.found_entry IS NULL THEN
            PERFORM ledger_violation('ledger_posting_entry_exists',
                format('posting names entry %s, which does not exist', bad.entry_id));
        ELSIF bad.found_account IS NULL THEN
            PERFORM ledger_violation('ledger_posting_account_exists',
                format('posting names account %s, which does not exist', bad.account_id));
        ELSIF NOT bad.same_xact THEN
            PERFORM ledger_violation('ledger_posting_same_transaction',
                format('entry %s was posted by an earlier transaction and cannot take new postings',
                       bad.entry_id));
        ELSIF bad.effective_date <> bad.entry_date THEN
            PERFORM ledger_violation('ledger_posting_entry_date',
                format('a posting of entry %s is dated %s, the entry %s',
                       bad.entry_id, bad.effective_date, bad.entry_date));
        ELSIF bad.commodity_id <> bad.account_commodity THEN
            PERFORM ledger_violation('ledger_posting_account_commodity',
                format('account %s holds %s, not %s', bad.code, bad.account_commodity,
                       bad.commodity_id));
        ELSE
            PERFORM ledger_violation('ledger_posting_commodity_scale',
                format('%s has %s decimal places, not %s', bad.commodity_id, bad.decimal_places,
                       bad.scale));
        END IF;
    END IF;

    SELECT entry_id, value_sum, quantity_sum, only_commodity INTO bad
      FROM (SELECT entry_id, sum(value) AS value_sum, sum(quantity) AS quantity_sum,
                   min(commodity_id) AS only_commodity, max(commodity_id) AS other_commodity
              FROM new_postings GROUP BY entry_id) s
     WHERE value_sum <> 0
        OR (only_commodity = other_commodity AND only_commodity <> 'USD' AND quantity_sum <> 0)
     LIMIT 1;
    IF FOUND THEN
        IF bad.value_sum <> 0 THEN
            PERFORM ledger_violation('ledger_entry_balanced',
                format('entry %s does not balance: its values sum to %s USD',
                       bad.entry_id, bad.value_sum));
        END IF;
        PERFORM ledger_violation('ledger_transfer_conserves_quantity',
            format('entry %s moves only %s but its quantities sum to %s',
                   bad.entry_id, bad.only_commodity, bad.quantity_sum));
    END IF;

    -- Rule 8, first half: take the guarded accounts this statement draws on, in id order,
    -- so that concurrent withdrawals are checked one after the other.
    PERFORM 1 FROM ledger_account
     WHERE must_not_go_negative
       AND id IN (SELECT account_id FROM new_postings WHERE quantity < 0)
     ORDER BY id
       FOR NO KEY UPDATE;

    INSERT INTO ledger_dailybalance AS b (account_id, day, quantity, value, postings)
    SELECT account_id, effective_date, sum(quantity), sum(value), count(*)
      FROM new_postings GROUP BY account_id, effective_date ORDER BY account_id, effective_date
    ON CONFLICT (account_id, day) DO UPDATE
       SET quantity = b.quantity + EXCLUDED.quantity,
           value = b.value + EXCLUDED.value,
           postings = b.postings + EXCLUDED.postings;

    INSERT INTO ledger_monthlybalance AS b (account_id, month, quantity, value, postings)
    SELECT account_id, date_trunc('month', effective_date)::date, sum(quantity), sum(value), count(*)
      FROM new_postings GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (account_id, month) DO UPDATE
       SET quantity = b.quantity + EXCLUDED.quantity,
           value = b.value + EXCLUDED.value,
           postings = b.postings + EXCLUDED.postings;

    -- Rule 8, second half: with the locks held (this query sees what the previous holder
    -- committed), no guarded account is below zero on any day from the earliest touched.
    SELECT a.code, a.commodity_id, d.day, d.running INTO bad
      FROM (SELECT account_id, min(effective_date) AS since
              FROM new_postings WHERE quantity < 0 GROUP BY account_id) s
      JOIN ledger_account a ON a.id = s.account_id AND a.must_not_go_negative
     CROSS JOIN LATERAL (
          SELECT r.day, opening.q + sum(r.quantity) OVER (ORDER BY r.day) AS running
            FROM ledger_dailybalance r,
                 (SELECT coalesce(sum(m.quantity), 0) AS q FROM ledger_monthlybalance m
                   WHERE m.account_id = s.account_id
                     AND m.month < date_trunc('month', s.since)::date) opening
           WHERE r.account_id = s.account_id
             AND r.day >= date_trunc('month', s.since)::date
     ) d
     WHERE d.day >= s.since AND d.running < 0
     ORDER BY d.day, a.code
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('ledger_account_not_negative',
            format('account %s must not go negative: this would take it to %s %s on %s',
                   bad.code, bad.running, bad.commodity_id, bad.day));
    END IF;
    RETURN NULL;
END $$;
"""

REVERSE = [
    "DROP TRIGGER ledger_dailybalance_guard ON ledger_dailybalance",
    "CREATE TRIGGER ledger_dailybalance_guard BEFORE INSERT OR UPDATE OR DELETE "
    "ON ledger_dailybalance FOR EACH STATEMENT EXECUTE FUNCTION ledger_rollup_guard()",
    "DROP TRIGGER ledger_monthlybalance_guard ON ledger_monthlybalance",
    "CREATE TRIGGER ledger_monthlybalance_guard BEFORE INSERT OR UPDATE OR DELETE "
    "ON ledger_monthlybalance FOR EACH STATEMENT EXECUTE FUNCTION ledger_rollup_guard()",
    "DROP TRIGGER ledger_audit_log_insert ON ledger_auditlog",
    "CREATE TRIGGER ledger_audit_log_insert BEFORE INSERT ON ledger_auditlog "
    "FOR EACH STATEMENT EXECUTE FUNCTION ledger_audit_log_guard()",
    "DROP TABLE ledger_entry_pending_check",
    "DROP FUNCTION ledger_entries_have_postings()",
    "DROP FUNCTION ledger_entry_pending_guard()",
    ENTRIES_AFTER_INSERT,
    POSTING_AFTER_INSERT,
]


class Migration(migrations.Migration):
    dependencies = [("ledger", "0017_manual_journal_attachments")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
