-- Site costs, vendor deposits, fixed assets, their events and HPC revenue are sealed with
-- the journal (holdings/selectors/seals.py) from the first entry sealed after this
-- migration: the seals written before did not cover them and stay true. Per kind, the last
-- sequence sealed before (null: nothing was sealed yet), written here once and kept.
CREATE TABLE holdings_subledgercoverage (
    record text PRIMARY KEY,
    after_sequence bigint
);
INSERT INTO holdings_subledgercoverage (record, after_sequence)
SELECT kind, (SELECT max(sequence) FROM holdings_subledgerseal)
  FROM unnest(ARRAY['site_cost', 'vendor_deposit', 'fixed_asset', 'asset_event',
                    'hpc_revenue']) AS kind;

CREATE FUNCTION holdings_subledger_coverage_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_violation('holdings_subledger_coverage_kept',
        'when a subledger kind is sealed from is kept as written');
    RETURN NULL;
END $$;
CREATE TRIGGER holdings_subledger_coverage_kept
    BEFORE UPDATE OR DELETE ON holdings_subledgercoverage
    FOR EACH ROW EXECUTE FUNCTION holdings_subledger_coverage_kept();
CREATE TRIGGER holdings_subledger_coverage_no_truncate
    BEFORE TRUNCATE ON holdings_subledgercoverage
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_subledger_coverage_kept();

-- A month's HPC revenue is a document, kept as recorded like the other cost documents
-- (0017): undone only by the cancellation of its entry.
CREATE TRIGGER holdings_hpc_revenue_immutable
    BEFORE UPDATE OR DELETE ON holdings_hpcrevenue
    FOR EACH ROW EXECUTE FUNCTION holdings_cost_evidence_immutable('holdings_hpc_revenue_immutable');
CREATE TRIGGER holdings_hpc_revenue_no_truncate
    BEFORE TRUNCATE ON holdings_hpcrevenue
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_cost_evidence_immutable('holdings_hpc_revenue_immutable');
