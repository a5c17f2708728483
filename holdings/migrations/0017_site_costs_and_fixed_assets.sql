-- Site costs and fixed assets are documents: kept as recorded, undone only by the
-- cancellation of their entries, and audited.

-- A site cost waiting for approval may only be decided (posted with its entry, or rejected);
-- once decided nothing of it changes, and none is ever deleted.
CREATE FUNCTION holdings_site_cost_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM ledger_violation('holdings_site_cost_immutable', 'site costs cannot be truncated');
    END IF;
    IF TG_OP = 'DELETE' THEN
        PERFORM ledger_violation('holdings_site_cost_immutable',
            format('site cost %s cannot be deleted: its entry is undone by its cancellation',
                   OLD.id));
    END IF;
    IF OLD.status <> 'submitted'
       OR (NEW.site_id, NEW.kind, NEW.origin, NEW.vendor, NEW.reference, NEW.period_start,
           NEW.period_end, NEW.kwh, NEW.energy, NEW.demand, NEW.taxes, NEW.credits, NEW.amount,
           NEW.hosting_basis, NEW.description, NEW.paid, NEW.file_id, NEW.row,
           NEW.created_by_id, NEW.created_at)
          IS DISTINCT FROM
          (OLD.site_id, OLD.kind, OLD.origin, OLD.vendor, OLD.reference, OLD.period_start,
           OLD.period_end, OLD.kwh, OLD.energy, OLD.demand, OLD.taxes, OLD.credits, OLD.amount,
           OLD.hosting_basis, OLD.description, OLD.paid, OLD.file_id, OLD.row,
           OLD.created_by_id, OLD.created_at) THEN
        PERFORM ledger_violation('holdings_site_cost_immutable',
            format('site cost %s cannot be changed: it is %s', OLD.id, OLD.status));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER holdings_site_cost_immutable
    BEFORE UPDATE OR DELETE ON holdings_sitecost
    FOR EACH ROW EXECUTE FUNCTION holdings_site_cost_immutable();
CREATE TRIGGER holdings_site_cost_no_truncate
    BEFORE TRUNCATE ON holdings_sitecost
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_site_cost_immutable();

-- Evidence kept as written: imported files, meter readings, deposits, an asset's events.
CREATE FUNCTION holdings_cost_evidence_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ledger_violation(TG_ARGV[0],
        format('%s cannot be %s: kept as recorded', TG_TABLE_NAME,
               CASE TG_OP WHEN 'UPDATE' THEN 'changed' WHEN 'DELETE' THEN 'deleted'
                          ELSE 'truncated' END));
    RETURN NULL;
END $$;
CREATE TRIGGER holdings_site_cost_file_immutable
    BEFORE UPDATE OR DELETE ON holdings_sitecostfile
    FOR EACH ROW EXECUTE FUNCTION holdings_cost_evidence_immutable('holdings_site_cost_file_immutable');
CREATE TRIGGER holdings_site_cost_file_no_truncate
    BEFORE TRUNCATE ON holdings_sitecostfile
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_cost_evidence_immutable('holdings_site_cost_file_immutable');
CREATE TRIGGER holdings_meter_reading_immutable
    BEFORE UPDATE OR DELETE ON holdings_meterreading
    FOR EACH ROW EXECUTE FUNCTION holdings_cost_evidence_immutable('holdings_meter_reading_immutable');
CREATE TRIGGER holdings_meter_reading_no_truncate
    BEFORE TRUNCATE ON holdings_meterreading
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_cost_evidence_immutable('holdings_meter_reading_immutable');
CREATE TRIGGER holdings_vendor_deposit_immutable
    BEFORE UPDATE OR DELETE ON holdings_vendordeposit
    FOR EACH ROW EXECUTE FUNCTION holdings_cost_evidence_immutable('holdings_vendor_deposit_immutable');
CREATE TRIGGER holdings_vendor_deposit_no_truncate
    BEFORE TRUNCATE ON holdings_vendordeposit
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_cost_evidence_immutable('holdings_vendor_deposit_immutable');
CREATE TRIGGER holdings_asset_event_immutable
    BEFORE UPDATE OR DELETE ON holdings_assetevent
    FOR EACH ROW EXECUTE FUNCTION holdings_cost_evidence_immutable('holdings_asset_event_immutable');
CREATE TRIGGER holdings_asset_event_no_truncate
    BEFORE TRUNCATE ON holdings_assetevent
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_cost_evidence_immutable('holdings_asset_event_immutable');

-- An asset's receipt is kept as recorded: placed in service once (site, day, life and salvage
-- value set together), disposed of and, by a cancelled disposal, not; never deleted.
CREATE FUNCTION holdings_fixed_asset_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM ledger_violation('holdings_fixed_asset_kept', 'fixed assets cannot be truncated');
    END IF;
    IF TG_OP = 'DELETE' THEN
        PERFORM ledger_violation('holdings_fixed_asset_kept',
            format('asset %s cannot be deleted: its receipt is undone by its cancellation',
                   OLD.code));
    END IF;
    IF (NEW.code, NEW.asset_class_id, NEW.description, NEW.vendor, NEW.units, NEW.hashrate_ths,
        NEW.power_kw, NEW.cost, NEW.received_on, NEW.deposit_id, NEW.deposit_applied, NEW.paid,
        NEW.receipt_entry_id, NEW.created_by_id, NEW.created_at)
       IS DISTINCT FROM
       (OLD.code, OLD.asset_class_id, OLD.description, OLD.vendor, OLD.units, OLD.hashrate_ths,
        OLD.power_kw, OLD.cost, OLD.received_on, OLD.deposit_id, OLD.deposit_applied, OLD.paid,
        OLD.receipt_entry_id, OLD.created_by_id, OLD.created_at)
       OR (OLD.in_service_on IS NOT NULL
           AND (NEW.site_id, NEW.in_service_on, NEW.useful_life_months, NEW.salvage_value)
               IS DISTINCT FROM
               (OLD.site_id, OLD.in_service_on, OLD.useful_life_months, OLD.salvage_value)) THEN
        PERFORM ledger_violation('holdings_fixed_asset_kept',
            format('asset %s cannot be changed but by its service, its events and disposal',
                   OLD.code));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER holdings_fixed_asset_kept
    BEFORE UPDATE OR DELETE ON holdings_fixedasset
    FOR EACH ROW EXECUTE FUNCTION holdings_fixed_asset_kept();
CREATE TRIGGER holdings_fixed_asset_no_truncate
    BEFORE TRUNCATE ON holdings_fixedasset
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_fixed_asset_kept();

-- Who changed what and when (ledger/sql/audit.sql).
SELECT ledger_audit_attach('holdings_sitecost', 'id', '{}', '{}', '{insert,update,delete,truncate}');
SELECT ledger_audit_attach('holdings_sitecostfile', 'id', '{}', '{}', '{insert,update,delete,truncate}');
SELECT ledger_audit_attach('holdings_assetclass', 'id', '{}', '{}', '{insert,update,delete,truncate}');
SELECT ledger_audit_attach('holdings_vendordeposit', 'id', '{}', '{}', '{insert,update,delete,truncate}');
SELECT ledger_audit_attach('holdings_fixedasset', 'id', '{}', '{}', '{insert,update,delete,truncate}');
SELECT ledger_audit_attach('holdings_assetevent', 'id', '{}', '{}', '{insert,update,delete,truncate}');
