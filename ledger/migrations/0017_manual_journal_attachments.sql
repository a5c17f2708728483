-- Supporting documents of manual journals: kept in the database as they were uploaded.
-- Released with migration 0017; a change to a rule is a new migration. Every violation is
-- SQLSTATE 23514 with the rule's name (ledger_violation, invariants.sql).

-- The size and the hash recorded are those of the bytes kept.
ALTER TABLE ledger_manualjournalattachment
    ADD CONSTRAINT ledger_mj_attachment_digest
        CHECK (size = octet_length(content) AND sha256 = encode(sha256(content), 'hex'));

-- Once a journal is approved (and posted), its documents are what the approver saw: none is
-- added, changed or deleted. The journal's row is read FOR SHARE, so an upload waits for an
-- approval under way (and the reverse). The documents of a journal are never truncated.
CREATE FUNCTION ledger_mj_attachment_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    state text;
    journal bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM ledger_violation('ledger_mj_attachment_frozen',
            'the supporting documents of manual journals cannot be truncated');
    END IF;
    FOREACH journal IN ARRAY CASE TG_OP
        WHEN 'INSERT' THEN ARRAY[NEW.journal_id]
        WHEN 'DELETE' THEN ARRAY[OLD.journal_id]
        ELSE ARRAY[OLD.journal_id, NEW.journal_id] END LOOP
        SELECT status INTO state FROM ledger_manualjournal WHERE id = journal FOR SHARE;
        IF state = 'approved' THEN
            PERFORM ledger_violation('ledger_mj_attachment_frozen',
                format('manual journal %s is approved and posted: its supporting documents '
                       'are never added, changed or deleted', journal));
        END IF;
    END LOOP;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_mj_attachment_guard
    BEFORE INSERT OR UPDATE OR DELETE ON ledger_manualjournalattachment
    FOR EACH ROW EXECUTE FUNCTION ledger_mj_attachment_guard();
CREATE TRIGGER ledger_mj_attachment_no_truncate BEFORE TRUNCATE ON ledger_manualjournalattachment
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_mj_attachment_guard();

-- Audited like the journal, without the bytes (their hash and size are in the log).
SELECT ledger_audit_attach('ledger_manualjournalattachment', 'id', '{}', '{content}');
