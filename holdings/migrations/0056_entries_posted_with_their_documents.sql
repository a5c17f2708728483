-- An entry of a document's kind is posted with its document. Since 0037 each document is
-- posted by an entry of its own kind, and since 0045-0053 each document's entry posts what the
-- document makes of it; but an entry of a document's kind could still be written with no
-- document at all: a 'site_cost' entry owing a vendor for no invoice, a 'sale' moving cash
-- with no sale, a 'loan_interest' charged to no loan's accounts. No subledger then explains
-- it, and no cancellation can undo it, since an entry is undone only by cancelling its
-- document. Now, at commit, every entry of a document's kind that is not a reversal (a
-- cancellation names those, ledger 0012) is named by a document of that kind: a pool record,
-- payout, sale, transfer, remeasurement (or one of its corrections, whose key is the
-- remeasurement entry's key followed by ':after:' and the corrected entry's id), loan event,
-- site cost, vendor deposit, fixed asset's receipt, asset event or month of HPC revenue.
-- Opening balances and the manual journal kinds are not documents' kinds here. Released with
-- migration 0056; a change is a new file and a new migration.

-- The kinds a document's service posts, with the document each names its entry from.
CREATE FUNCTION holdings_document_kinds() RETURNS TABLE (kind text, document text)
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
           ('hpc_revenue', 'month of HPC revenue')
$$;

-- Entries of a document's kind that no document of that kind names. Read by the check at
-- commit for a transaction's entries, and by the nightly reconciliation for the whole journal
-- (a ledger of an earlier release, or rows written with the triggers off).
CREATE VIEW holdings_entry_without_document AS
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
   END;

-- The entries of a transaction still to be matched with their documents: one row per
-- transaction, written by the journal's statement trigger below, taken by the check at commit.
CREATE TABLE holdings_entry_documents_pending (
    xact bigint PRIMARY KEY DEFAULT txid_current(),
    entry_ids bigint[] NOT NULL
);

CREATE FUNCTION holdings_entry_documents_pending_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        PERFORM ledger_violation('holdings_entry_documents_pending_kept',
            'the entries awaiting their documents at commit are kept by the journal''s own '
            'triggers');
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER holdings_entry_documents_pending_guard
    BEFORE INSERT OR UPDATE OR DELETE ON holdings_entry_documents_pending
    FOR EACH ROW EXECUTE FUNCTION holdings_entry_documents_pending_guard();
CREATE TRIGGER holdings_entry_documents_pending_no_truncate
    BEFORE TRUNCATE ON holdings_entry_documents_pending
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_entry_documents_pending_guard();

-- Per statement of entries: those of a document's kind, noted once for the commit.
CREATE FUNCTION holdings_entries_await_documents() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO holdings_entry_documents_pending AS p (entry_ids)
    SELECT array_agg(w.id)
      FROM written w
     WHERE w.reversal_of_id IS NULL
       AND w.kind IN (SELECT k.kind FROM holdings_document_kinds() k)
    HAVING count(*) > 0
    ON CONFLICT (xact) DO UPDATE SET entry_ids = p.entry_ids || EXCLUDED.entry_ids;
    RETURN NULL;
END $$;
CREATE TRIGGER holdings_entries_await_documents AFTER INSERT ON ledger_journalentry
    REFERENCING NEW TABLE AS written
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_entries_await_documents();

-- At commit, once per transaction: every entry it noted is named by its document.
-- By key, entry by entry (no scan of the journal or of a document table), and not compiled
-- (PostgreSQL's JIT, drawn by the scans' cost switched off, spends 0.3 s on a plan that runs
-- in a millisecond).
CREATE FUNCTION holdings_entries_have_documents() RETURNS trigger
LANGUAGE plpgsql SET enable_seqscan = off SET jit = off AS $$
DECLARE
    pending bigint[];
    bad record;
BEGIN
    -- The row as it is now: later statements of the transaction added to it.
    DELETE FROM holdings_entry_documents_pending WHERE xact = NEW.xact
    RETURNING entry_ids INTO pending;
    IF pending IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT v.* INTO bad
      FROM unnest(pending) AS u(id)
      JOIN holdings_entry_without_document v ON v.entry_id = u.id
     ORDER BY v.sequence
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_entry_has_its_document', format(
            'entry #%s of %s is a %s entry, but no %s names it: an entry of a document''s '
            'kind is posted with its document, and undone only by cancelling it',
            bad.sequence, bad.effective_date, bad.kind, bad.document));
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER holdings_entries_have_documents
    AFTER INSERT ON holdings_entry_documents_pending DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION holdings_entries_have_documents();
