-- Room on the roll-ups' pages for their rows' next versions. Released with migration 0021; a
-- change is a new file and a new migration.
--
-- Every posting updates its account's row of the day and of the month. Written on full
-- pages, an updated row moves to another page and every index of the table takes a new entry
-- for it; with room left on the page, PostgreSQL keeps the new version beside the old one
-- (a heap-only tuple) and the indexes are not touched. Pages written from now on keep that
-- room; pages already full keep their rows until they are rewritten.
ALTER TABLE ledger_dailybalance SET (fillfactor = 70);
ALTER TABLE ledger_monthlybalance SET (fillfactor = 70);
