-- Released with migration 0008 and never edited: a change to a rule is a new file and a new migration.
--
-- An entry is written with its postings in one statement (as ledger.posting does, and as
-- raw SQL can with INSERT ... WITH): so "an entry has postings" is checked set-based at the
-- end of each statement that inserts entries, instead of once per entry at commit. Only a
-- reversal keeps a check at commit, that it mirrors its original.

DROP TRIGGER ledger_entry_period_open ON ledger_journalentry;
DROP FUNCTION ledger_entry_period_open();
DROP TRIGGER ledger_entry_check ON ledger_journalentry;

CREATE FUNCTION ledger_entries_after_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
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

CREATE CONSTRAINT TRIGGER ledger_entry_check AFTER INSERT ON ledger_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.reversal_of_id IS NOT NULL)
    EXECUTE FUNCTION ledger_entry_check();
