-- A month's HPC revenue against its own entry, as it is written. The HPC segment's gross
-- profit and the meter check read the document, the statements the entry; until now raw SQL
-- could record a month of 220,000.00 on an entry that recognised 22,000.00, or revenue booked
-- to another site's account. Now its entry takes its amount (its fees, by the CHECK
-- holdings_hpc_revenue_total) into HPC receivables (1350) and out of the contract's site's HPC
-- revenue (4200-<site>), nothing else (hpc.py's postings, holdings/chart.py's codes). Released
-- with migration 0053; a change is a new file and a new migration.

CREATE FUNCTION holdings_hpc_revenue_matches_its_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    contract record;
    bad record;
BEGIN
    SELECT c.code, s.code AS site INTO contract
      FROM holdings_hpccontract c JOIN holdings_site s ON s.id = c.site_id
     WHERE c.id = NEW.contract_id;
    SELECT d.*, j.sequence, j.effective_date INTO bad
      FROM holdings_posting_differs(NEW.entry_id, jsonb_build_object(
               '1350', NEW.amount, '4200-' || contract.site, -NEW.amount)) d
      JOIN ledger_journalentry j ON j.id = NEW.entry_id
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_hpc_revenue_matches_its_entry', format(
            'the HPC revenue of contract %s for %s (%s USD) makes %s USD of account %s, but its '
            'entry #%s of %s posts %s at %s', contract.code, to_char(NEW.month, 'YYYY-MM'),
            NEW.amount, bad.wanted, bad.code, bad.sequence, bad.effective_date, bad.quantity,
            bad.value));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_hpc_revenue_matches_its_entry AFTER INSERT ON holdings_hpcrevenue
    FOR EACH ROW EXECUTE FUNCTION holdings_hpc_revenue_matches_its_entry();
