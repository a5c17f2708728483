-- A posting's amounts within the sizes the ledger works to (ledger/models/accounts.py): at
-- most 20 digits before the point in a quantity, 22 in a value. Every posting path refuses
-- a larger one naming the field; this holds raw SQL to the same bounds, so that every sum a
-- report makes of them stays exact. Released with migration 0024; a change is a new file
-- and a new migration.
--
-- NOT VALID: postings written before are not read again, so an upgrade never stops on one.
ALTER TABLE ledger_posting
    ADD CONSTRAINT ledger_posting_amounts_fit
    CHECK (abs(quantity) < 1e20 AND abs(value) < 1e22) NOT VALID;
