-- A vendor deposit and a fixed asset's receipt against their own entries, as each is written.
-- The register, the deposits' balance and the roll-forward of fixed assets read the
-- documents, the statements the entries; until now raw SQL could record a deposit of
-- 500,000.00 on an entry that paid 5,000.00, or machines received at a cost of 1,000,000.00
-- on an entry that booked 100,000.00 to the class's cost account, and the nightly check saw
-- it only as one account's total. Now (fixed_assets.py's postings, holdings/chart.py's codes):
--   deposit : vendor deposits (1500) + amount, cash (1000) - amount, nothing else;
--   receipt : the asset class's cost account + cost, 1500 - the deposit applied, and the rest
--             out of cash (1000) when paid, else out of vendor payables (2210) or, for
--             machines owned at the opening, opening equity (3000); nothing else.
-- Released with migration 0051; a change is a new file and a new migration.

CREATE FUNCTION holdings_posting_differs(entry bigint, wanted jsonb) RETURNS TABLE (
    code text, wanted numeric, quantity numeric, value numeric)
LANGUAGE sql STABLE AS $$
    -- `wanted` is {account code: value}; USD accounts, quantity equal to value. The accounts
    -- where the entry posts other than wanted, in code order.
    WITH w AS (
        SELECT key AS code, sum(value::numeric) AS value
          FROM jsonb_each_text(wanted) GROUP BY key
    ), p AS (
        SELECT a.code, sum(x.quantity) AS quantity, sum(x.value) AS value
          FROM ledger_posting x JOIN ledger_account a ON a.id = x.account_id
         WHERE x.entry_id = entry
         GROUP BY a.code
    )
    SELECT coalesce(w.code, p.code), coalesce(w.value, 0), coalesce(p.quantity, 0),
           coalesce(p.value, 0)
      FROM w FULL JOIN p ON p.code = w.code
     WHERE (coalesce(p.quantity, 0), coalesce(p.value, 0))
           <> (coalesce(w.value, 0), coalesce(w.value, 0))
     ORDER BY 1
$$;

CREATE FUNCTION holdings_deposit_matches_its_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT d.*, j.sequence, j.effective_date INTO bad
      FROM holdings_posting_differs(NEW.entry_id,
               jsonb_build_object('1500', NEW.amount, '1000', -NEW.amount)) d
      JOIN ledger_journalentry j ON j.id = NEW.entry_id
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_deposit_matches_its_entry', format(
            'deposit %s of %s USD to %s makes %s USD of account %s, but its entry #%s of %s '
            'posts %s at %s', NEW.reference, NEW.amount, NEW.vendor, bad.wanted, bad.code,
            bad.sequence, bad.effective_date, bad.quantity, bad.value));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_deposit_matches_its_entry AFTER INSERT ON holdings_vendordeposit
    FOR EACH ROW EXECUTE FUNCTION holdings_deposit_matches_its_entry();

CREATE FUNCTION holdings_receipt_matches_its_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    cost_account text;
    rest_from text;
    bad record;
BEGIN
    SELECT c.cost_account INTO cost_account FROM holdings_assetclass c
     WHERE c.id = NEW.asset_class_id;
    IF NEW.paid THEN
        rest_from := '1000';
    ELSE
        -- Owed to the vendor, or (owned at the opening, no deposit) brought in at opening
        -- equity: whichever of the two the entry credits.
        SELECT CASE WHEN EXISTS (
                   SELECT 1 FROM ledger_posting x JOIN ledger_account a ON a.id = x.account_id
                    WHERE x.entry_id = NEW.receipt_entry_id AND a.code = '3000')
                    AND NEW.deposit_id IS NULL
               THEN '3000' ELSE '2210' END
          INTO rest_from;
    END IF;
    SELECT d.*, j.sequence, j.effective_date INTO bad
      FROM holdings_posting_differs(NEW.receipt_entry_id, jsonb_build_object(
               cost_account, NEW.cost, '1500', -NEW.deposit_applied,
               rest_from, -(NEW.cost - NEW.deposit_applied))) d
      JOIN ledger_journalentry j ON j.id = NEW.receipt_entry_id
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_receipt_matches_its_entry', format(
            'asset %s received at a cost of %s USD (%s of a deposit applied, %s) makes %s USD of '
            'account %s, but its entry #%s of %s posts %s at %s', NEW.code, NEW.cost,
            NEW.deposit_applied, CASE WHEN NEW.paid THEN 'the rest paid'
            WHEN rest_from = '3000' THEN 'owned at the opening' ELSE 'the rest owed' END,
            bad.wanted, bad.code, bad.sequence, bad.effective_date, bad.quantity, bad.value));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_receipt_matches_its_entry AFTER INSERT ON holdings_fixedasset
    FOR EACH ROW EXECUTE FUNCTION holdings_receipt_matches_its_entry();
