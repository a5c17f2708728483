-- Documents kept as the services write them, whoever writes: loan events as evidence, a
-- loan's terms once it has events, everything a lot was opened with, and a site cost's
-- decision and entry. Released with migration 0028; a change to a rule is a new file and a
-- new migration. Every violation is SQLSTATE 23514 with the rule's name.

-- Loan events -----------------------------------------------------------------------------

-- A loan event is evidence, as a sale, a transfer or a disposal is (0005): the services
-- only ever insert one (holdings/services/loans.py, loan_ltv.py), and a cancellation undoes
-- its entry and lots by a reversal, leaving the event as it was
-- (holdings/services/cancellations.py). No column is ever updated: UPDATE, DELETE and
-- TRUNCATE are refused as holdings_loanevent_immutable.
CREATE TRIGGER holdings_loanevent_immutable BEFORE UPDATE OR DELETE ON holdings_loanevent
    FOR EACH ROW EXECUTE FUNCTION holdings_evidence_immutable();
CREATE TRIGGER holdings_loanevent_no_truncate BEFORE TRUNCATE ON holdings_loanevent
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_evidence_immutable();

-- Loans -----------------------------------------------------------------------------------

-- Once a loan has an event, its terms and accounts are what its events were computed and
-- posted by: the rate and day count its interest accrued at, the term its events fall in,
-- the tiers its LTV was compared with, the accounts its entries posted to. The services
-- make a loan once (loan_create) and never update it (an accrual only locks its row), so
-- nothing of a loan with events changes; a loan without events is not yet used, and stays
-- as it may be set up. The changed columns are named.
CREATE FUNCTION holdings_loan_terms_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed text;
BEGIN
    IF EXISTS (SELECT 1 FROM holdings_loanevent e WHERE e.loan_id = OLD.id) THEN
        SELECT string_agg(n.key, ', ' ORDER BY n.key) INTO changed
          FROM jsonb_each(to_jsonb(NEW)) n
          JOIN jsonb_each(to_jsonb(OLD)) o USING (key)
         WHERE n.value IS DISTINCT FROM o.value;
        PERFORM ledger_violation('holdings_loan_terms_kept', format(
            'loan %s has events: its terms and accounts stay as its events used them '
            '(%s would change)', OLD.code, changed));
    END IF;
    RETURN NEW;
END $$;

-- Only an update that changes something is looked at: the whole row, as no column of a loan
-- with events is ever written.
CREATE TRIGGER holdings_loan_terms_kept BEFORE UPDATE ON holdings_loan
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION holdings_loan_terms_kept();

-- Lots ------------------------------------------------------------------------------------

-- A lot keeps what it was opened with (0022 kept its account and origin): where it sits, when
-- it was acquired, from what (its parent, its pool record, its price), by which entry, with
-- how many units at what cost. Only its units, cost and adjustment change, with its
-- movements (holdings/services/bulk.py update_lots, the one UPDATE of lots, sets those three
-- alone; holdings_lot_matches_movements checks them at commit); a transfer opens a new lot.
-- Its commodity is its account's by the composite foreign key of 0015
-- (holdings_lot_account_commodity), which refuses it changed alone. The trigger names every
-- other column, so that the services' UPDATE of the three never calls it; the changed
-- columns are named.
CREATE OR REPLACE FUNCTION holdings_lot_identity_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed text;
BEGIN
    SELECT string_agg(n.key, ', ' ORDER BY n.key) INTO changed
      FROM jsonb_each(to_jsonb(NEW)) n
      JOIN jsonb_each(to_jsonb(OLD)) o USING (key)
     WHERE n.value IS DISTINCT FROM o.value
       AND n.key NOT IN ('quantity', 'cost', 'fair_value_adjustment');
    PERFORM ledger_violation('holdings_lot_identity_kept', format(
        'lot %s keeps what it was opened with (%s would change): only its units, cost and '
        'adjustment change, with its movements; a transfer opens a new lot', OLD.id, changed));
    RETURN NULL;
END $$;

DROP TRIGGER holdings_lot_identity_kept ON holdings_lot;
CREATE TRIGGER holdings_lot_identity_kept
BEFORE UPDATE OF id, account_id, acquired_at, origin, parent_id, production_record_id,
                 price_id, opened_by_entry_id, original_quantity, original_cost, created_at
ON holdings_lot
FOR EACH ROW
WHEN ((NEW.id, NEW.account_id, NEW.acquired_at, NEW.origin, NEW.parent_id,
       NEW.production_record_id, NEW.price_id, NEW.opened_by_entry_id, NEW.original_quantity,
       NEW.original_cost, NEW.created_at)
      IS DISTINCT FROM
      (OLD.id, OLD.account_id, OLD.acquired_at, OLD.origin, OLD.parent_id,
       OLD.production_record_id, OLD.price_id, OLD.opened_by_entry_id, OLD.original_quantity,
       OLD.original_cost, OLD.created_at))
EXECUTE FUNCTION holdings_lot_identity_kept();

-- Site costs ------------------------------------------------------------------------------

-- Maker-checker, as the journal's entries and cancellations have it: nobody decides (approves
-- or rejects) a site cost they recorded (holdings/services/costs.py _decide). Costs of a file
-- or an accrual are decided by nobody; NULLs pass. NOT VALID: the rows written before are
-- not read again (the service never let one through), every row written from now on is.
ALTER TABLE holdings_sitecost
    ADD CONSTRAINT holdings_site_cost_not_self_decided
        CHECK (decided_by_id <> created_by_id) NOT VALID;

-- A site cost's entry is one its service posts for such a document (costs.py _post): an
-- accrual's is a 'cost_accrual' entry, an invoice's (from a file or typed) a 'site_cost'
-- entry; never a sale's, a loan's, a reversal or any other document's. Checked whenever the
-- entry is set, on INSERT as on UPDATE (holdings_site_cost_immutable guards UPDATE and DELETE
-- only, and lets a submitted cost be posted). A missing entry is the foreign key's to refuse.
CREATE FUNCTION holdings_site_cost_entry_kind() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    wanted text := CASE WHEN NEW.origin = 'accrual' THEN 'cost_accrual' ELSE 'site_cost' END;
    posted_as text;
BEGIN
    SELECT e.kind INTO posted_as FROM ledger_journalentry e WHERE e.id = NEW.entry_id;
    IF FOUND AND posted_as IS DISTINCT FROM wanted THEN
        PERFORM ledger_violation('holdings_site_cost_entry_kind', format(
            'site cost %s (origin %s) is posted by a %s entry; entry %s is a %s entry',
            NEW.id, NEW.origin, wanted, NEW.entry_id, posted_as));
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER holdings_site_cost_entry_kind
    BEFORE INSERT OR UPDATE OF entry_id, origin ON holdings_sitecost
    FOR EACH ROW WHEN (NEW.entry_id IS NOT NULL)
    EXECUTE FUNCTION holdings_site_cost_entry_kind();
