-- A journal entry is posted from the moment it is written: the one status the ledger knows
-- (ledger.models.EntryStatus). Until now a row written with any other status escaped rule 5,
-- which refused updates and deletes of posted entries only: written as a 'draft' by raw SQL,
-- an entry counted in every balance while its date, kind or sequence could still be changed
-- and its status set to posted after. Now no other status is written and no entry, whatever
-- its status, is updated or deleted. Released with migration 0026; a change is a new file and
-- a new migration.
--
-- NOT VALID: entries written before are not read again, so an upgrade never stops on one;
-- every update of one is refused below in any case.
ALTER TABLE ledger_journalentry
    ADD CONSTRAINT ledger_entry_status_posted CHECK (status = 'posted') NOT VALID;

CREATE OR REPLACE FUNCTION ledger_entry_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM ledger_violation('ledger_entry_immutable', 'the journal cannot be truncated');
    END IF;
    PERFORM ledger_violation('ledger_entry_immutable',
        format('journal entry %s is posted; correct it with a reversing entry', OLD.id));
    RETURN NULL;
END $$;
