-- A fixed asset's depreciation, impairment or disposal against its own entry, as the event is
-- written. The register, the roll-forward and the asset's net book value read the events, the
-- statements the entries; until now raw SQL could record a month's depreciation of 10,000.00
-- on an entry that charged 1,000.00, or a disposal's gain that its entry booked as a loss.
-- Now (fixed_assets.py's postings; holdings/chart.py's codes; the class's own accounts):
--   depreciation : the class's depreciation expense of the asset's site (<expense>-<site>)
--                  + amount, the class's accumulated depreciation - amount;
--   impairment   : impairment of the site (5500-<site>) + amount (the loss), accumulated
--                  depreciation + accumulated (closed out), the cost account - both;
--   disposal     : cash (1000) + proceeds, accumulated depreciation + accumulated, the cost
--                  account - the basis (carrying value plus accumulated), disposal gain
--                  (4300) - amount (the gain; a loss is negative);
-- and nothing else. Released with migration 0052; a change is a new file and a new migration.

CREATE FUNCTION holdings_asset_event_matches_its_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    asset record;
    wanted jsonb;
    bad record;
BEGIN
    SELECT a.code, c.cost_account, c.accumulated_account, c.expense_account, s.code AS site
      INTO asset
      FROM holdings_fixedasset a
      JOIN holdings_assetclass c ON c.id = a.asset_class_id
      LEFT JOIN holdings_site s ON s.id = a.site_id
     WHERE a.id = NEW.asset_id;
    wanted := CASE NEW.kind
        WHEN 'depreciation' THEN jsonb_build_object(
            asset.expense_account || '-' || asset.site, NEW.amount,
            asset.accumulated_account, -NEW.amount)
        WHEN 'impairment' THEN jsonb_build_object(
            '5500-' || asset.site, NEW.amount,
            asset.accumulated_account, NEW.accumulated,
            asset.cost_account, -(NEW.amount + NEW.accumulated))
        WHEN 'disposal' THEN jsonb_build_object(
            '1000', NEW.proceeds,
            asset.accumulated_account, NEW.accumulated,
            asset.cost_account, -(NEW.carrying_value + NEW.accumulated),
            '4300', -NEW.amount)
        ELSE '{}'::jsonb END;
    SELECT d.*, j.sequence, j.effective_date INTO bad
      FROM holdings_posting_differs(NEW.entry_id, wanted) d
      JOIN ledger_journalentry j ON j.id = NEW.entry_id
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_asset_event_matches_its_entry', format(
            'the %s of asset %s of %s (%s USD) makes %s USD of account %s, but its entry #%s '
            'of %s posts %s at %s', NEW.kind, asset.code, NEW.effective_date, NEW.amount,
            bad.wanted, bad.code, bad.sequence, bad.effective_date, bad.quantity, bad.value));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_asset_event_matches_its_entry AFTER INSERT ON holdings_assetevent
    FOR EACH ROW WHEN (NEW.entry_id IS NOT NULL)
    EXECUTE FUNCTION holdings_asset_event_matches_its_entry();
