-- Released with migration 0010 and never edited: a change to a rule is a new file and a new migration.
--
-- A trigger function plans its queries on its first call in a session and keeps the plans.
-- On a young database that first call sees near-empty tables, and a plan that scans them
-- whole would be kept as the journal grows. Index paths are what these checks need at any
-- size (they look up the rows a statement touches), so the functions forgo sequential scans
-- where an index exists; the statement's own transition table is still read in full.

ALTER FUNCTION ledger_posting_after_insert() SET enable_seqscan = off;
ALTER FUNCTION ledger_entries_after_insert() SET enable_seqscan = off;
ALTER FUNCTION ledger_entry_check() SET enable_seqscan = off;
