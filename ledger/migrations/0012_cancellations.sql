-- Cancellations: an entry is reversed only by its document's cancellation, approved by a
-- second person. Released with migration 0012; a change to a rule is a new file and a new
-- migration. Every violation is SQLSTATE 23514 with the rule's name.

-- A reversal is never reversed: the original is cancelled once, and that is final.
CREATE FUNCTION ledger_reversal_not_reversed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_journalentry o
                WHERE o.id = NEW.reversal_of_id AND o.reversal_of_id IS NOT NULL) THEN
        PERFORM ledger_violation('ledger_reversal_not_reversed',
            format('entry %s reverses another entry: a reversal is never reversed',
                   NEW.reversal_of_id));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_reversal_not_reversed BEFORE INSERT ON ledger_journalentry
    FOR EACH ROW WHEN (NEW.reversal_of_id IS NOT NULL)
    EXECUTE FUNCTION ledger_reversal_not_reversed();

-- A reversal is written by an approved cancellation that names it and its original, in the
-- same transaction (checked at commit, once both rows exist).
CREATE FUNCTION ledger_reversal_by_cancellation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ledger_cancellation c
                    WHERE c.reversal_id = NEW.id AND c.entry_id = NEW.reversal_of_id
                      AND c.status = 'approved') THEN
        PERFORM ledger_violation('ledger_reversal_by_cancellation',
            format('entry %s reverses entry %s without an approved cancellation naming it: '
                   'an entry is undone only by cancelling its document', NEW.id,
                   NEW.reversal_of_id));
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_reversal_by_cancellation AFTER INSERT ON ledger_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.reversal_of_id IS NOT NULL)
    EXECUTE FUNCTION ledger_reversal_by_cancellation();

-- A cancellation moves requested -> approved | rejected, once; what was asked is fixed;
-- nothing is deleted. An approved one names the reversal of its own entry.
CREATE FUNCTION ledger_cancellation_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
        PERFORM ledger_violation('ledger_cancellation_kept', 'cancellations are never deleted');
    END IF;
    IF NEW.entry_id IS DISTINCT FROM OLD.entry_id OR NEW.document IS DISTINCT FROM OLD.document
       OR NEW.effective_date IS DISTINCT FROM OLD.effective_date
       OR NEW.reason IS DISTINCT FROM OLD.reason
       OR NEW.requested_by_id IS DISTINCT FROM OLD.requested_by_id
       OR NEW.requested_at IS DISTINCT FROM OLD.requested_at
       OR NEW.idempotency_key IS DISTINCT FROM OLD.idempotency_key
       OR NEW.payload_hash IS DISTINCT FROM OLD.payload_hash THEN
        PERFORM ledger_violation('ledger_cancellation_transition',
            format('cancellation %s: what was asked, by whom and when is fixed', OLD.id));
    END IF;
    IF OLD.status <> 'requested' OR NEW.status NOT IN ('approved', 'rejected') THEN
        PERFORM ledger_violation('ledger_cancellation_transition',
            format('cancellation %s cannot go from %s to %s', OLD.id, OLD.status, NEW.status));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_cancellation_guard BEFORE UPDATE OR DELETE ON ledger_cancellation
    FOR EACH ROW EXECUTE FUNCTION ledger_cancellation_guard();
CREATE TRIGGER ledger_cancellation_no_truncate BEFORE TRUNCATE ON ledger_cancellation
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_cancellation_guard();

CREATE FUNCTION ledger_cancellation_created() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> 'requested' THEN
        PERFORM ledger_violation('ledger_cancellation_transition',
            format('cancellation %s must be created requested, not %s', NEW.id, NEW.status));
    END IF;
    IF EXISTS (SELECT 1 FROM ledger_journalentry e
                WHERE e.id = NEW.entry_id AND e.reversal_of_id IS NOT NULL) THEN
        PERFORM ledger_violation('ledger_reversal_not_reversed',
            format('entry %s reverses another entry: a reversal is never cancelled',
                   NEW.entry_id));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_cancellation_created BEFORE INSERT ON ledger_cancellation
    FOR EACH ROW EXECUTE FUNCTION ledger_cancellation_created();

CREATE FUNCTION ledger_cancellation_reverses_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'approved' AND NOT EXISTS (
        SELECT 1 FROM ledger_journalentry r
         WHERE r.id = NEW.reversal_id AND r.reversal_of_id = NEW.entry_id) THEN
        PERFORM ledger_violation('ledger_cancellation_reverses_entry',
            format('cancellation %s names entry %s as its reversal, which does not reverse '
                   'entry %s', NEW.id, NEW.reversal_id, NEW.entry_id));
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_cancellation_reverses_entry
    AFTER UPDATE ON ledger_cancellation DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_cancellation_reverses_entry();

SELECT ledger_audit_attach('ledger_cancellation', 'id', '{}', '{}',
                           '{insert,update,delete,truncate}');
