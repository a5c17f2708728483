-- The triggers of 0018_set_based_writes.sql that look entries or their postings up, with
-- each look-up bounded to the range of entry ids it concerns. Released with migration 0019;
-- a change to a rule is a new file and a new migration. The rules and their messages are
-- unchanged.
--
-- Planned without sequential scans, a look-up of many entries may become a merge join that
-- reads an index of the whole journal from its first entry: the check at commit that every
-- entry of a batch has postings, planned for the 1,000 ids it was given, read the postings'
-- entry index end to end (120 ms a batch at 1,000,000 postings, a cost growing with the
-- journal). Bounded by the lowest and highest id concerned, the index is read over that
-- range only, however the look-up is planned and however long the journal.

CREATE OR REPLACE FUNCTION ledger_posting_after_insert() RETURNS trigger
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
    bad record;
    entries_wrong boolean;
    accounts_wrong boolean;
    draws_guarded boolean;
BEGIN
    -- Per entry touched: it exists, was posted by this transaction, carries its postings'
    -- date; its postings balance in value (rule 1) and, all in one non-USD commodity,
    -- conserve quantity (rule 3).
    SELECT coalesce(bool_or(e.id IS NULL
                            OR e.posted_xact <> pg_current_xact_id()
                            OR s.first_date <> e.effective_date
                            OR s.last_date <> e.effective_date
                            OR s.value_sum <> 0
                            OR (s.only_commodity = s.other_commodity
                                AND s.only_commodity <> 'USD' AND s.quantity_sum <> 0)), false)
      INTO entries_wrong
      FROM (SELECT entry_id, min(effective_date) AS first_date, max(effective_date) AS last_date,
                   sum(value) AS value_sum, sum(quantity) AS quantity_sum,
                   min(commodity_id) AS only_commodity, max(commodity_id) AS other_commodity
              FROM new_postings GROUP BY entry_id) s
      -- The range of entries the statement names bounds the look-up: without it a merge
      -- join may read the journal's key from its first entry, a cost that grows with the
      -- journal rather than with the statement.
      LEFT JOIN ledger_journalentry e
        ON e.id = s.entry_id
       AND e.id BETWEEN (SELECT min(entry_id) FROM new_postings)
                    AND (SELECT max(entry_id) FROM new_postings);

    -- Per account touched: it exists and holds the commodity and scale its postings name;
    -- and whether the statement draws on an account flagged must-not-go-negative.
    SELECT coalesce(bool_or(a.id IS NULL
                            OR s.commodity_id IS DISTINCT FROM a.commodity_id
                            OR s.scale IS DISTINCT FROM c.decimal_places), false),
           coalesce(bool_or(a.must_not_go_negative AND s.least < 0), false)
      INTO accounts_wrong, draws_guarded
      FROM (SELECT account_id, commodity_id, scale, min(quantity) AS least
              FROM new_postings GROUP BY account_id, commodity_id, scale) s
      LEFT JOIN ledger_account a ON a.id = s.account_id
      LEFT JOIN ledger_commodity c ON c.code = a.commodity_id;

    -- A rule failed: the queries of 0002 name the first offending row, with its messages.
    IF entries_wrong OR accounts_wrong THEN
        SELECT p.id, p.entry_id, p.account_id, p.commodity_id, p.scale, p.effective_date,
               e.id AS found_entry, e.effective_date AS entry_date,
               e.posted_xact = pg_current_xact_id() AS same_xact,
               a.id AS found_account, a.code, a.commodity_id AS account_commodity,
               c.decimal_places
          INTO bad
          FROM new_postings p
          LEFT JOIN ledger_journalentry e
            ON e.id = p.entry_id
           AND e.id BETWEEN (SELECT min(entry_id) FROM new_postings)
                        AND (SELECT max(entry_id) FROM new_postings)
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
                    format('entry %s was posted by an earlier transaction and cannot take new '
                           'postings', bad.entry_id));
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
                    format('%s has %s decimal places, not %s', bad.commodity_id,
                           bad.decimal_places, bad.scale));
            END IF;
        END IF;

        SELECT entry_id, value_sum, quantity_sum, only_commodity INTO bad
          FROM (SELECT entry_id, sum(value) AS value_sum, sum(quantity) AS quantity_sum,
                       min(commodity_id) AS only_commodity, max(commodity_id) AS other_commodity
                  FROM new_postings GROUP BY entry_id) s
         WHERE value_sum <> 0
            OR (only_commodity = other_commodity AND only_commodity <> 'USD' AND quantity_sum <> 0)
         ORDER BY entry_id
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
    END IF;

    -- Rule 8, first half: take the guarded accounts this statement draws on, in id order,
    -- so that concurrent withdrawals are checked one after the other.
    IF draws_guarded THEN
        PERFORM 1 FROM ledger_account
         WHERE must_not_go_negative
           AND id IN (SELECT account_id FROM new_postings WHERE quantity < 0)
         ORDER BY id
           FOR NO KEY UPDATE;
    END IF;

    -- Both roll-ups in one statement, from one pass over the rows (in key order, so that
    -- concurrent writers lock roll-up rows in the same order).
    WITH d AS (
        SELECT account_id, effective_date AS day, sum(quantity) AS quantity,
               sum(value) AS value, count(*) AS postings
          FROM new_postings GROUP BY account_id, effective_date
    ), daily AS (
        INSERT INTO ledger_dailybalance AS b (account_id, day, quantity, value, postings)
        SELECT account_id, day, quantity, value, postings FROM d ORDER BY account_id, day
        ON CONFLICT (account_id, day) DO UPDATE
           SET quantity = b.quantity + EXCLUDED.quantity,
               value = b.value + EXCLUDED.value,
               postings = b.postings + EXCLUDED.postings
    )
    INSERT INTO ledger_monthlybalance AS b (account_id, month, quantity, value, postings)
    SELECT account_id, date_trunc('month', day)::date, sum(quantity), sum(value), sum(postings)
      FROM d GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (account_id, month) DO UPDATE
       SET quantity = b.quantity + EXCLUDED.quantity,
           value = b.value + EXCLUDED.value,
           postings = b.postings + EXCLUDED.postings;

    -- Rule 8, second half: with the locks held (this query sees what the previous holder
    -- committed), no guarded account is below zero on any day from the earliest touched.
    IF draws_guarded THEN
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
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ledger_entries_after_insert() RETURNS trigger
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
    closed_through date;
    earliest date;
    first_entry bigint;
    last_entry bigint;
    written bigint;
    bare bigint[];
BEGIN
    SELECT (SELECT max(through) FROM ledger_periodclose WHERE reopened_at IS NULL),
           min(effective_date), min(id), max(id), count(*)
      INTO closed_through, earliest, first_entry, last_entry, written
      FROM new_entries;
    IF first_entry IS NULL THEN
        RETURN NULL;
    END IF;
    IF earliest <= closed_through THEN
        PERFORM ledger_violation('ledger_entry_period_open',
            format('effective date %s is inside the period closed through %s',
                   earliest, closed_through));
    END IF;
    -- Written with their postings (one statement): checked now, entry by entry. Written
    -- before them (COPY): all of them wait for the commit, without a look per entry now.
    IF NOT EXISTS (SELECT 1 FROM ledger_posting WHERE entry_id = first_entry) THEN
        SELECT array_agg(id) INTO bare FROM new_entries;
    ELSIF written > 1 THEN
        SELECT array_agg(e.id) INTO bare
          FROM new_entries e
         WHERE NOT EXISTS (SELECT 1 FROM ledger_posting p
                            WHERE p.entry_id = e.id
                              AND p.entry_id BETWEEN first_entry AND last_entry);
    END IF;
    IF bare IS NOT NULL THEN
        INSERT INTO ledger_entry_pending_check AS c (entry_ids) VALUES (bare)
        ON CONFLICT (xact) DO UPDATE SET entry_ids = c.entry_ids || EXCLUDED.entry_ids;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ledger_entries_have_postings() RETURNS trigger
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
    pending bigint[];
    bare bigint;
BEGIN
    DELETE FROM ledger_entry_pending_check WHERE xact = NEW.xact RETURNING entry_ids INTO pending;
    IF pending IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT u.id INTO bare
      FROM unnest(pending) AS u(id)
     WHERE NOT EXISTS (SELECT 1 FROM ledger_posting p
                        WHERE p.entry_id = u.id
                          AND p.entry_id BETWEEN (SELECT min(id) FROM unnest(pending) AS l(id))
                                             AND (SELECT max(id) FROM unnest(pending) AS h(id)))
     ORDER BY u.id
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('ledger_entry_has_postings',
            format('entry %s has no postings; an entry needs at least two, written in its '
                   'transaction', bare));
    END IF;
    RETURN NULL;
END $$;
