-- The journal's rules, kept by PostgreSQL so that no client (the ORM, raw SQL, psql) can
-- break them. Every violation raises SQLSTATE 23514 (check_violation) with the rule's name
-- as the constraint name and at the start of the message. Released with migration 0002;
-- a change to a rule is a new file and a new migration, never an edit of this one.
--
-- Numbers refer to the invariants of the accounting model:
--   1 entries balance in value; 2 a USD posting's quantity is its value; 3 a transfer
--   conserves quantity; 4 a quantity fits its commodity's scale; 5 posted rows are
--   immutable, reversed at most once; 6 no entry inside a closed period; 7 idempotency keys
--   are unique (a unique index); 8 an account flagged must-not-go-negative never is.
--
-- An entry is written together with its postings in one statement (as ledger.posting does;
-- raw SQL uses WITH e AS (INSERT ...) INSERT ...), so most rules are checked once per
-- statement, set-based, which keeps an import of thousands of entries cheap.
--
-- Trigger functions plan their queries on their first call in a session and keep the plans;
-- on a young database that call sees near-empty tables. The functions that look up rows a
-- statement touches forgo sequential scans so their plans stay right as the journal grows.

CREATE FUNCTION ledger_violation(rule text, message text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = '23514', CONSTRAINT = rule, MESSAGE = rule || ': ' || message;
END $$;

-- Accounts ---------------------------------------------------------------------------------

-- An account's children share its commodity and type, so roll-ups add like with like.
ALTER TABLE ledger_account
    ADD CONSTRAINT ledger_account_parent_same_kind
        FOREIGN KEY (parent_id, commodity_id, type) REFERENCES ledger_account (id, commodity_id, type);

CREATE FUNCTION ledger_account_acyclic() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.parent_id IS NOT NULL AND EXISTS (
        WITH RECURSIVE up(id, parent_id) AS (
            SELECT id, parent_id FROM ledger_account WHERE id = NEW.parent_id
            UNION
            SELECT a.id, a.parent_id FROM ledger_account a JOIN up ON a.id = up.parent_id
        )
        SELECT 1 FROM up WHERE up.id = NEW.id
    ) THEN
        PERFORM ledger_violation('ledger_account_tree_acyclic',
            format('account %s cannot sit under its own descendant', NEW.code));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_account_acyclic BEFORE INSERT OR UPDATE OF parent_id ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_acyclic();

-- The accounts, commodities and scales that postings name cannot change from under them.
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

-- A chart version, bumped on every change of accounts, commodities or period closes, lets a
-- client keep the chart in memory and post in one statement that proves its copy current.
CREATE SEQUENCE ledger_chart_version_seq AS bigint;
CREATE TABLE ledger_chart_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version bigint NOT NULL
);
INSERT INTO ledger_chart_version (version) VALUES (nextval('ledger_chart_version_seq'));

CREATE FUNCTION ledger_chart_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- From a sequence, so a number is never reused, even after a rollback.
    UPDATE ledger_chart_version SET version = nextval('ledger_chart_version_seq');
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_account_chart_changed AFTER INSERT OR UPDATE OR DELETE ON ledger_account
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_chart_changed();
CREATE TRIGGER ledger_commodity_chart_changed AFTER INSERT OR UPDATE OR DELETE ON ledger_commodity
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_chart_changed();
CREATE TRIGGER ledger_periodclose_chart_changed AFTER INSERT OR UPDATE OR DELETE ON ledger_periodclose
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_chart_changed();

-- Entries ----------------------------------------------------------------------------------

-- The global sequence and the transaction that posted each entry are set here, never by
-- the caller.
CREATE SEQUENCE ledger_entry_sequence AS bigint;
ALTER TABLE ledger_journalentry ADD COLUMN posted_xact xid8 NOT NULL DEFAULT pg_current_xact_id();

CREATE FUNCTION ledger_entry_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.sequence := nextval('ledger_entry_sequence');
    NEW.posted_xact := pg_current_xact_id();
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_entry_before_insert BEFORE INSERT ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_before_insert();

-- Rule 6, and every entry written with at least two postings, once per statement.
CREATE FUNCTION ledger_entries_after_insert() RETURNS trigger
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
CREATE TRIGGER ledger_entries_after_insert AFTER INSERT ON ledger_journalentry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_after_insert();

-- Rule 5: a reversal mirrors its original exactly (checked at commit).
CREATE FUNCTION ledger_reversal_check() RETURNS trigger
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
BEGIN
    IF EXISTS (
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
CREATE CONSTRAINT TRIGGER ledger_reversal_check AFTER INSERT ON ledger_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.reversal_of_id IS NOT NULL)
    EXECUTE FUNCTION ledger_reversal_check();

-- Rule 5: posted entries and their postings are immutable.
CREATE FUNCTION ledger_entry_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM ledger_violation('ledger_entry_immutable', 'the journal cannot be truncated');
    END IF;
    IF OLD.status = 'posted' THEN
        PERFORM ledger_violation('ledger_entry_immutable',
            format('journal entry %s is posted; correct it with a reversing entry', OLD.id));
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_entry_immutable BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_immutable();
CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_journalentry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entry_immutable();

-- Postings ---------------------------------------------------------------------------------

-- Rules 2 and 4 per row (the posting carries its commodity and scale, checked against its
-- account below); values are in cents.
ALTER TABLE ledger_posting
    ADD CONSTRAINT ledger_posting_quantity_scale CHECK (quantity = round(quantity, scale)),
    ADD CONSTRAINT ledger_posting_value_scale CHECK (value = round(value, 2));

CREATE FUNCTION ledger_posting_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM ledger_violation('ledger_posting_immutable', 'postings cannot be truncated');
    END IF;
    PERFORM ledger_violation('ledger_posting_immutable',
        format('posting %s of entry %s is posted; correct it with a reversing entry',
               OLD.id, OLD.entry_id));
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_posting_immutable BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_posting_immutable();
CREATE TRIGGER ledger_posting_no_truncate BEFORE TRUNCATE ON ledger_posting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_posting_immutable();

-- Per statement of postings: each names an entry of this transaction, dated as it, and an
-- account holding the commodity and scale it names; each entry's postings balance (rule 1)
-- and a one-commodity entry conserves quantity (rule 3); the balance roll-ups are updated;
-- and guarded accounts are locked in id order and must not end below zero on any day
-- (rule 8).
CREATE FUNCTION ledger_posting_after_insert() RETURNS trigger
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
CREATE TRIGGER ledger_posting_after_insert AFTER INSERT ON ledger_posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_posting_after_insert();

-- The roll-ups change only through the posting trigger (checked once per statement).
CREATE FUNCTION ledger_rollup_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        PERFORM ledger_violation('ledger_rollup_maintained_by_postings',
            format('%s is kept by the ledger from postings and cannot be written directly',
                   TG_TABLE_NAME));
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_dailybalance_guard BEFORE INSERT OR UPDATE OR DELETE ON ledger_dailybalance
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_rollup_guard();
CREATE TRIGGER ledger_monthlybalance_guard BEFORE INSERT OR UPDATE OR DELETE ON ledger_monthlybalance
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_rollup_guard();
CREATE TRIGGER ledger_dailybalance_no_truncate BEFORE TRUNCATE ON ledger_dailybalance
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_rollup_guard();
CREATE TRIGGER ledger_monthlybalance_no_truncate BEFORE TRUNCATE ON ledger_monthlybalance
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_rollup_guard();

-- Periods ----------------------------------------------------------------------------------

-- A period close is a record: it cannot be deleted or changed, only reopened once.
CREATE FUNCTION ledger_period_close_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
        PERFORM ledger_violation('ledger_period_close_kept', 'period closes are never deleted');
    END IF;
    IF OLD.reopened_at IS NOT NULL
       OR NEW.through IS DISTINCT FROM OLD.through
       OR NEW.closed_by_id IS DISTINCT FROM OLD.closed_by_id
       OR NEW.closed_at IS DISTINCT FROM OLD.closed_at THEN
        PERFORM ledger_violation('ledger_period_close_kept',
            format('the close through %s can only be reopened, once', OLD.through));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_period_close_guard BEFORE UPDATE OR DELETE ON ledger_periodclose
    FOR EACH ROW EXECUTE FUNCTION ledger_period_close_guard();
CREATE TRIGGER ledger_period_close_no_truncate BEFORE TRUNCATE ON ledger_periodclose
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_period_close_guard();
