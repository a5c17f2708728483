-- Manual journals: maker-checker, kept by PostgreSQL whatever the client. Released with
-- migration 0006; a change to a rule is a new file and a new migration. Every violation is
-- SQLSTATE 23514 with the rule's name (ledger_violation, invariants.sql).
--
-- The CHECK constraints of the model (ledger_mj_*) say what each state carries and that
-- nobody approves or rejects their own journal; the triggers here say how a journal may
-- move from one state to the next, and that what is posted is what was approved.

-- A journal moves draft -> submitted -> approved | rejected, never back; a draft's header
-- may change, a submitted one only by its decision, a decided one never. Nothing is deleted.
CREATE FUNCTION ledger_manual_journal_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
        PERFORM ledger_violation('ledger_manual_journal_kept',
            'manual journals are never deleted; reject one instead');
    END IF;
    IF NEW.created_by_id IS DISTINCT FROM OLD.created_by_id
       OR NEW.created_at IS DISTINCT FROM OLD.created_at
       OR NEW.idempotency_key IS DISTINCT FROM OLD.idempotency_key
       OR NEW.payload_hash IS DISTINCT FROM OLD.payload_hash THEN
        PERFORM ledger_violation('ledger_manual_journal_transition',
            format('manual journal %s: its maker, creation and key are fixed', OLD.id));
    END IF;
    IF OLD.status = 'draft' AND NEW.status IN ('draft', 'submitted') THEN
        RETURN NEW;
    END IF;
    IF OLD.status = 'submitted' AND NEW.status IN ('approved', 'rejected')
       AND NEW.effective_date = OLD.effective_date AND NEW.memo = OLD.memo
       AND NEW.kind = OLD.kind AND NEW.submitted_at = OLD.submitted_at THEN
        RETURN NEW;
    END IF;
    PERFORM ledger_violation('ledger_manual_journal_transition',
        format('manual journal %s cannot go from %s to %s%s', OLD.id, OLD.status, NEW.status,
               CASE WHEN OLD.status = NEW.status AND OLD.status <> 'draft'
                    THEN ' (only a draft can be edited)' ELSE '' END));
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_manual_journal_guard BEFORE UPDATE OR DELETE ON ledger_manualjournal
    FOR EACH ROW EXECUTE FUNCTION ledger_manual_journal_guard();
CREATE TRIGGER ledger_manual_journal_no_truncate BEFORE TRUNCATE ON ledger_manualjournal
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_manual_journal_guard();

-- A journal is created as a draft; its lines are added while it is one.
CREATE FUNCTION ledger_manual_journal_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> 'draft' THEN
        PERFORM ledger_violation('ledger_manual_journal_transition',
            format('a manual journal is created as a draft, not %s', NEW.status));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_manual_journal_insert BEFORE INSERT ON ledger_manualjournal
    FOR EACH ROW EXECUTE FUNCTION ledger_manual_journal_insert();

-- Lines change only while their journal is a draft (the journal row is locked meanwhile, so
-- a submission waits for the edit, and the reverse).
CREATE FUNCTION ledger_manual_journal_line_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    state text;
    journal bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM ledger_violation('ledger_manual_journal_line_frozen',
            'the lines of manual journals cannot be truncated');
    END IF;
    FOREACH journal IN ARRAY CASE TG_OP
        WHEN 'INSERT' THEN ARRAY[NEW.journal_id]
        WHEN 'DELETE' THEN ARRAY[OLD.journal_id]
        ELSE ARRAY[OLD.journal_id, NEW.journal_id] END LOOP
        SELECT status INTO state FROM ledger_manualjournal WHERE id = journal FOR SHARE;
        IF state IS DISTINCT FROM 'draft' AND (state IS NOT NULL OR TG_OP <> 'INSERT') THEN
            PERFORM ledger_violation('ledger_manual_journal_line_frozen',
                format('manual journal %s is %s: its lines can change only while it is a draft',
                       journal, state));
        END IF;
    END LOOP;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_manual_journal_line_guard
    BEFORE INSERT OR UPDATE OR DELETE ON ledger_manualjournalline
    FOR EACH ROW EXECUTE FUNCTION ledger_manual_journal_line_guard();
CREATE TRIGGER ledger_manual_journal_line_no_truncate BEFORE TRUNCATE ON ledger_manualjournalline
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_manual_journal_line_guard();

-- Checked at commit, when a journal leaves its draft: at least two lines that balance in
-- value; when it is approved: the entry it names is exactly its lines, on its date, made by
-- its maker and approved by its approver.
CREATE FUNCTION ledger_manual_journal_check() RETURNS trigger
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
    j record;
    lines bigint;
    total numeric;
    e record;
BEGIN
    SELECT * INTO j FROM ledger_manualjournal WHERE id = NEW.id;
    IF j.status = 'draft' THEN
        RETURN NULL;
    END IF;
    SELECT count(*), coalesce(sum(value), 0) INTO lines, total
      FROM ledger_manualjournalline WHERE journal_id = j.id;
    IF lines < 2 OR total <> 0 THEN
        PERFORM ledger_violation('ledger_manual_journal_balanced',
            format('manual journal %s has %s line(s) whose values sum to %s USD; it needs at '
                   'least two that sum to zero', j.id, lines, total));
    END IF;
    IF j.status = 'approved' THEN
        SELECT id, effective_date, memo, kind, created_by_id, approved_by_id INTO e
          FROM ledger_journalentry WHERE id = j.entry_id;
        IF e.id IS NULL
           OR e.effective_date <> j.effective_date
           OR e.memo <> j.memo
           OR e.kind <> j.kind
           OR e.created_by_id IS DISTINCT FROM j.created_by_id
           OR e.approved_by_id IS DISTINCT FROM j.approved_by_id
           OR EXISTS (
               (SELECT account_id, quantity, value FROM ledger_manualjournalline
                 WHERE journal_id = j.id
                EXCEPT ALL
                SELECT account_id, quantity, value FROM ledger_posting WHERE entry_id = e.id)
               UNION ALL
               (SELECT account_id, quantity, value FROM ledger_posting WHERE entry_id = e.id
                EXCEPT ALL
                SELECT account_id, quantity, value FROM ledger_manualjournalline
                 WHERE journal_id = j.id)
           ) THEN
            PERFORM ledger_violation('ledger_manual_journal_posted_as_approved',
                format('manual journal %s: entry %s is not its lines as made by user %s and '
                       'approved by user %s', j.id, j.entry_id, j.created_by_id,
                       j.approved_by_id));
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_manual_journal_check
    AFTER UPDATE OF status ON ledger_manualjournal
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.status <> 'draft')
    EXECUTE FUNCTION ledger_manual_journal_check();
