-- An entry of a manual journal's kind (manual, adjustment, accrual, reclassification,
-- correction, opening) is posted by its manual journal, as one of a document's kind is by its
-- document since 0056. A person's entry is posted only once its journal is approved by
-- someone other than its maker (ledger 0006, 0015); until now an entry of those kinds could
-- be written with no journal at all, and showed in the journal as a person's entry that no
-- one had approved. Now, at commit, the manual journal names it. The kinds are added to
-- 0056's list and the view gains their test; the check at commit and the nightly
-- reconciliation read them from there. The nightly reconciliation leaves out entries of those
-- kinds written before this migration: the API of the releases before manual journals
-- (ledger 0006) posted a person's entry as 'manual' straight away.
-- Released with migration 0057; a change is a new file and a new migration.

CREATE OR REPLACE FUNCTION holdings_document_kinds() RETURNS TABLE (kind text, document text)
LANGUAGE sql IMMUTABLE AS $$
    VALUES ('pool_earning', 'pool record'),
           ('pool_payout', 'payout'),
           ('sale', 'sale'),
           ('wallet_transfer', 'transfer'),
           ('fair_value_remeasurement', 'remeasurement'),
           ('loan_draw', 'loan event'),
           ('loan_interest', 'loan event'),
           ('loan_repayment', 'loan event'),
           ('loan_liquidation', 'loan event'),
           ('loan_pledge', 'loan event'),
           ('loan_release', 'loan event'),
           ('site_cost', 'site cost'),
           ('cost_accrual', 'site cost'),
           ('vendor_deposit', 'vendor deposit'),
           ('asset_receipt', 'fixed asset receipt'),
           ('asset_depreciation', 'asset event'),
           ('asset_impairment', 'asset event'),
           ('asset_disposal', 'asset event'),
           ('hpc_revenue', 'month of HPC revenue'),
           ('manual', 'manual journal'),
           ('adjustment', 'manual journal'),
           ('accrual', 'manual journal'),
           ('reclassification', 'manual journal'),
           ('correction', 'manual journal'),
           ('opening', 'manual journal')
$$;

CREATE OR REPLACE VIEW holdings_entry_without_document AS
SELECT j.id AS entry_id, j.sequence, j.effective_date, j.kind, k.document
  FROM ledger_journalentry j
  JOIN holdings_document_kinds() k ON k.kind = j.kind
 WHERE CASE
       -- A reversal is named by its cancellation (ledger 0012). Tested inside the CASE, where
       -- no index on the journal is drawn to it: every entry but a few is not a reversal.
       WHEN j.reversal_of_id IS NOT NULL THEN false
       WHEN k.document = 'pool record' THEN
           NOT EXISTS (SELECT 1 FROM holdings_productionrecord d WHERE d.entry_id = j.id)
       WHEN k.document = 'payout' THEN
           NOT EXISTS (SELECT 1 FROM holdings_payout d WHERE d.entry_id = j.id)
       WHEN k.document = 'sale' THEN
           NOT EXISTS (SELECT 1 FROM holdings_sale d WHERE d.entry_id = j.id)
       WHEN k.document = 'transfer' THEN
           NOT EXISTS (SELECT 1 FROM holdings_transfer d WHERE d.entry_id = j.id)
       WHEN k.document = 'remeasurement' THEN
           NOT EXISTS (SELECT 1 FROM holdings_remeasurement d WHERE d.entry_id = j.id)
           AND NOT EXISTS (
               SELECT 1
                 FROM ledger_journalentry r
                 JOIN holdings_remeasurement d ON d.entry_id = r.id
                WHERE r.idempotency_key
                      = substring(j.idempotency_key FROM '^(remeasure:.*):after:[0-9]+$'))
       WHEN k.document = 'loan event' THEN
           NOT EXISTS (SELECT 1 FROM holdings_loanevent d WHERE d.entry_id = j.id)
       WHEN k.document = 'site cost' THEN
           NOT EXISTS (SELECT 1 FROM holdings_sitecost d WHERE d.entry_id = j.id)
       WHEN k.document = 'vendor deposit' THEN
           NOT EXISTS (SELECT 1 FROM holdings_vendordeposit d WHERE d.entry_id = j.id)
       WHEN k.document = 'fixed asset receipt' THEN
           NOT EXISTS (SELECT 1 FROM holdings_fixedasset d WHERE d.receipt_entry_id = j.id)
       WHEN k.document = 'asset event' THEN
           NOT EXISTS (SELECT 1 FROM holdings_assetevent d WHERE d.entry_id = j.id)
       WHEN k.document = 'month of HPC revenue' THEN
           NOT EXISTS (SELECT 1 FROM holdings_hpcrevenue d WHERE d.entry_id = j.id)
       WHEN k.document = 'manual journal' THEN
           NOT EXISTS (SELECT 1 FROM ledger_manualjournal d WHERE d.entry_id = j.id)
   END;
