-- Statements are kept as received, and a reconciliation run as it was found: rows are
-- added, never changed or removed. Running a day again adds a new run.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['holdings_statement', 'holdings_balancestatementline',
                             'holdings_loanstatementline', 'holdings_reconciliationrun',
                             'holdings_reconciliationitem'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON %I
                        FOR EACH ROW EXECUTE FUNCTION holdings_evidence_immutable()',
                       t || '_immutable', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I
                        FOR EACH STATEMENT EXECUTE FUNCTION holdings_evidence_immutable()',
                       t || '_no_truncate', t);
    END LOOP;
END $$;

ALTER TABLE holdings_reconciliationrun
    ADD CONSTRAINT holdings_recon_counts CHECK (matched >= 0 AND breaks >= 0 AND unchecked >= 0),
    ADD CONSTRAINT holdings_recon_status CHECK (
        (status = 'breaks') = (breaks > 0)
        AND (status = 'incomplete') = (breaks = 0 AND unchecked > 0));
