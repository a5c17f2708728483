-- Released with migration 0011 and never edited: a change to a rule is a new file and a new migration.
--
-- The roll-ups' guard (written only from inside the posting trigger) is checked once per
-- statement instead of once per roll-up row: an import touching thousands of account-days
-- pays for one check, and a direct write is refused just the same.

DROP TRIGGER ledger_dailybalance_guard ON ledger_dailybalance;
DROP TRIGGER ledger_monthlybalance_guard ON ledger_monthlybalance;
CREATE TRIGGER ledger_dailybalance_guard BEFORE INSERT OR UPDATE OR DELETE ON ledger_dailybalance
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_rollup_guard();
CREATE TRIGGER ledger_monthlybalance_guard BEFORE INSERT OR UPDATE OR DELETE ON ledger_monthlybalance
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_rollup_guard();
