-- Released with migration 0002 and never edited: a change to a rule is a new file and a new migration.
-- Invariants of the journal, kept by PostgreSQL so that no client (ORM, raw SQL, psql) can
-- break them. Every violation raises SQLSTATE 23514 (check_violation), with the rule's name
-- as the constraint name and at the start of the message.

CREATE FUNCTION ledger_violation(rule text, message text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = '23514', CONSTRAINT = rule, MESSAGE = rule || ': ' || message;
END $$;

-- Rule 4: a quantity fits its commodity's scale; values are in cents. The copies of
-- commodity, scale and date on each posting are held equal to their sources by keys.
ALTER TABLE ledger_posting
    ADD CONSTRAINT ledger_posting_account_commodity
        FOREIGN KEY (account_id, commodity_id) REFERENCES ledger_account (id, commodity_id),
    ADD CONSTRAINT ledger_posting_commodity_scale
        FOREIGN KEY (commodity_id, scale) REFERENCES ledger_commodity (code, decimal_places),
    ADD CONSTRAINT ledger_posting_entry_date
        FOREIGN KEY (entry_id, effective_date) REFERENCES ledger_journalentry (id, effective_date),
    ADD CONSTRAINT ledger_posting_quantity_scale CHECK (quantity = round(quantity, scale)),
    ADD CONSTRAINT ledger_posting_value_scale CHECK (value = round(value, 2));

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

-- The global sequence and the transaction that posted each entry are set here, never by
-- the caller. Rule 6: no entry inside a closed period.
CREATE SEQUENCE ledger_entry_sequence AS bigint;
ALTER TABLE ledger_journalentry ADD COLUMN posted_xact xid8 NOT NULL DEFAULT pg_current_xact_id();

CREATE FUNCTION ledger_entry_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    closed_through date;
BEGIN
    NEW.sequence := nextval('ledger_entry_sequence');
    NEW.posted_xact := pg_current_xact_id();
    SELECT max(through) INTO closed_through FROM ledger_periodclose WHERE reopened_at IS NULL;
    IF closed_through IS NOT NULL AND NEW.effective_date <= closed_through THEN
        PERFORM ledger_violation('ledger_entry_period_open',
            format('effective date %s is inside the period closed through %s',
                   NEW.effective_date, closed_through));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_entry_before_insert BEFORE INSERT ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_before_insert();

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

-- Postings join only an entry created in the same transaction (nothing is added to a
-- posted entry later), and each statement's postings are added to the daily and monthly
-- roll-ups that answer balances without summing the journal.
CREATE FUNCTION ledger_posting_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    late_entry bigint;
BEGIN
    SELECT e.id INTO late_entry
      FROM (SELECT DISTINCT entry_id FROM new_postings) p
      JOIN ledger_journalentry e ON e.id = p.entry_id
     WHERE e.posted_xact <> pg_current_xact_id()
     LIMIT 1;
    IF late_entry IS NOT NULL THEN
        PERFORM ledger_violation('ledger_posting_same_transaction',
            format('entry %s was posted by an earlier transaction and cannot take new postings',
                   late_entry));
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
CREATE TRIGGER ledger_posting_after_insert AFTER INSERT ON ledger_posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_posting_after_insert();

-- The roll-ups change only through the trigger above.
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
    FOR EACH ROW EXECUTE FUNCTION ledger_rollup_guard();
CREATE TRIGGER ledger_monthlybalance_guard BEFORE INSERT OR UPDATE OR DELETE ON ledger_monthlybalance
    FOR EACH ROW EXECUTE FUNCTION ledger_rollup_guard();
CREATE TRIGGER ledger_dailybalance_no_truncate BEFORE TRUNCATE ON ledger_dailybalance
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_rollup_guard();
CREATE TRIGGER ledger_monthlybalance_no_truncate BEFORE TRUNCATE ON ledger_monthlybalance
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_rollup_guard();

-- Rules 1 and 3, and the shape of a reversal, checked at commit so that an entry's
-- postings may arrive in several statements of its transaction.
CREATE FUNCTION ledger_entry_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    value_sum numeric;
    quantity_sum numeric;
    commodities bigint;
    only_commodity text;
BEGIN
    SELECT count(*), coalesce(sum(value), 0), coalesce(sum(quantity), 0),
           count(DISTINCT commodity_id), min(commodity_id)
      INTO n, value_sum, quantity_sum, commodities, only_commodity
      FROM ledger_posting WHERE entry_id = NEW.id;
    IF n < 2 THEN
        PERFORM ledger_violation('ledger_entry_has_postings',
            format('entry %s has %s posting(s); an entry needs at least two', NEW.id, n));
    END IF;
    IF value_sum <> 0 THEN
        PERFORM ledger_violation('ledger_entry_balanced',
            format('entry %s does not balance: its values sum to %s USD', NEW.id, value_sum));
    END IF;
    IF commodities = 1 AND only_commodity <> 'USD' AND quantity_sum <> 0 THEN
        PERFORM ledger_violation('ledger_transfer_conserves_quantity',
            format('entry %s moves only %s but its quantities sum to %s',
                   NEW.id, only_commodity, quantity_sum));
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
CREATE CONSTRAINT TRIGGER ledger_entry_check AFTER INSERT ON ledger_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_check();

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
