-- A fixed asset's depreciation or impairment is charged to its site, so the asset must be at
-- one. Without a site 0052's comparison had no account to name and PostgreSQL refused the row
-- with its own error (a null object key); now the refusal names the rule, the event and the
-- asset. Released with migration 0055; a change is a new file and a new migration.

CREATE FUNCTION holdings_asset_event_at_a_site() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    asset text;
BEGIN
    SELECT a.code INTO asset FROM holdings_fixedasset a
     WHERE a.id = NEW.asset_id AND a.site_id IS NULL;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_asset_event_at_a_site', format(
            'the %s of asset %s of %s is charged to its site, but asset %s is at no site (place '
            'it in service first)', NEW.kind, asset, NEW.effective_date, asset));
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER holdings_asset_event_at_a_site BEFORE INSERT ON holdings_assetevent
    FOR EACH ROW WHEN (NEW.kind IN ('depreciation', 'impairment'))
    EXECUTE FUNCTION holdings_asset_event_at_a_site();
