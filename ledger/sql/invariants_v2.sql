-- Released with migration 0005 and never edited: a change to a rule is a new file and a new migration.
--
-- The per-row checks of each posting (its entry exists and shares its date, its account
-- exists and holds the commodity and scale the posting names) move from three composite
-- foreign keys, each a query per row, to one set-based query per INSERT statement; so do the
-- balance of each entry (rule 1) and the conservation of quantity by transfers (rule 3),
-- which now hold for the postings each statement adds to an entry (so for the entry as a
-- whole). At commit, a light check per entry only makes sure it has postings. The
-- closed-period check (rule 6) likewise runs once per statement of entries.

ALTER TABLE ledger_posting
    DROP CONSTRAINT ledger_posting_account_commodity,
    DROP CONSTRAINT ledger_posting_commodity_scale,
    DROP CONSTRAINT ledger_posting_entry_date;

CREATE OR REPLACE FUNCTION ledger_posting_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
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
    RETURN NULL;
END $$;

-- What the foreign keys also protected: the accounts, commodities and scales that postings
-- name cannot be changed or removed from under them.
CREATE FUNCTION ledger_account_in_use() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'DELETE' OR NEW.commodity_id IS DISTINCT FROM OLD.commodity_id)
       AND EXISTS (SELECT 1 FROM ledger_posting WHERE account_id = OLD.id) THEN
        PERFORM ledger_violation('ledger_account_in_use',
            format('account %s has postings: its commodity cannot change and it cannot be deleted',
                   OLD.code));
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_account_in_use BEFORE UPDATE OF commodity_id OR DELETE ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_in_use();

CREATE FUNCTION ledger_commodity_in_use() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'DELETE' OR NEW.decimal_places IS DISTINCT FROM OLD.decimal_places
        OR NEW.code IS DISTINCT FROM OLD.code)
       AND EXISTS (SELECT 1 FROM ledger_account WHERE commodity_id = OLD.code) THEN
        PERFORM ledger_violation('ledger_commodity_in_use',
            format('commodity %s is used by accounts: its code and scale are fixed', OLD.code));
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_commodity_in_use BEFORE UPDATE OR DELETE ON ledger_commodity
    FOR EACH ROW EXECUTE FUNCTION ledger_commodity_in_use();

-- Rule 6 once per statement of entries; the row trigger keeps assigning what callers may not.
CREATE OR REPLACE FUNCTION ledger_entry_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.sequence := nextval('ledger_entry_sequence');
    NEW.posted_xact := pg_current_xact_id();
    RETURN NEW;
END $$;

CREATE FUNCTION ledger_entry_period_open() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    closed_through date;
    earliest date;
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
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_entry_period_open AFTER INSERT ON ledger_journalentry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entry_period_open();

-- At commit: an entry has postings (two at least), and a reversal mirrors its original.
CREATE OR REPLACE FUNCTION ledger_entry_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    SELECT count(*) INTO n FROM (SELECT 1 FROM ledger_posting WHERE entry_id = NEW.id LIMIT 2) p;
    IF n < 2 THEN
        PERFORM ledger_violation('ledger_entry_has_postings',
            format('entry %s has %s posting(s); an entry needs at least two', NEW.id, n));
    END IF;
    IF NEW.reversal_of_id IS NOT NULL AND EXISTS (
        (SELECT account_id, -quantity, -value FROM ledger_posting WHERE entry_id = NEW.reversal_of_id
         EXCEPT ALL
         SELECT account_id, quantity, value FROM ledger_posting WHERE entry_id = NEW.id)
        UNION ALL
        (SELECT account_id, quantity, value FROM ledger_posting WHERE entry_id = NEW.id
         EXCEPT ALL
         SELECT account_id, -quantity, -value FROM ledger_posting WHERE entry_id = NEW.reversal_of_id)
    ) THEN
        PERFORM ledger_violation('ledger_reversal_mirrors_original',
            format('entry %s does not exactly reverse entry %s', NEW.id, NEW.reversal_of_id));
    END IF;
    RETURN NULL;
END $$;
