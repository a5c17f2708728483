-- Each document is posted by an entry of its own kind, as its service posts it: a sale by a
-- 'sale' entry, a transfer by a 'wallet_transfer', a pool record by a 'pool_earning', a
-- payout by a 'pool_payout', a remeasurement by a 'fair_value_remeasurement', a loan's draw,
-- accrual, repayment, liquidation, pledge and release by a 'loan_draw', 'loan_interest',
-- 'loan_repayment', 'loan_liquidation', 'loan_pledge' and 'loan_release' (site costs have had
-- the same rule since migration 0028). Until now raw SQL could point a sale at a loan's
-- repayment, a loan draw at a sale's entry, a pool record at a payout's: a document then
-- showed, and a cancellation undid, another's entry. With one document per entry in each
-- table (their unique keys), no entry now posts two documents. And a loan event that moves
-- money or collateral has its entry: only a tier crossing, and an accrual of nothing, post
-- none. Released with migration 0037; a change is a new file and a new migration.

CREATE FUNCTION holdings_documents_entry_kind() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    IF TG_TABLE_NAME = 'holdings_loanevent' THEN
        SELECT d.id, d.entry_id, e.kind AS posted_as,
               'loan_' || CASE d.kind WHEN 'accrual' THEN 'interest' ELSE d.kind END AS wanted
          INTO bad
          FROM new_documents d JOIN ledger_journalentry e ON e.id = d.entry_id
         WHERE e.kind <> 'loan_' || CASE d.kind WHEN 'accrual' THEN 'interest' ELSE d.kind END
         ORDER BY d.id
         LIMIT 1;
    ELSE
        SELECT d.id, d.entry_id, e.kind AS posted_as, TG_ARGV[0] AS wanted
          INTO bad
          FROM new_documents d JOIN ledger_journalentry e ON e.id = d.entry_id
         WHERE e.kind <> TG_ARGV[0]
         ORDER BY d.id
         LIMIT 1;
    END IF;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_document_entry_kind', format(
            '%s %s is posted by a %s entry; entry %s is a %s entry',
            TG_ARGV[1], bad.id, bad.wanted, bad.entry_id, bad.posted_as));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_sale_entry_kind AFTER INSERT ON holdings_sale
    REFERENCING NEW TABLE AS new_documents FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_documents_entry_kind('sale', 'sale');
CREATE TRIGGER holdings_transfer_entry_kind AFTER INSERT ON holdings_transfer
    REFERENCING NEW TABLE AS new_documents FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_documents_entry_kind('wallet_transfer', 'transfer');
CREATE TRIGGER holdings_production_record_entry_kind AFTER INSERT ON holdings_productionrecord
    REFERENCING NEW TABLE AS new_documents FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_documents_entry_kind('pool_earning', 'pool record');
CREATE TRIGGER holdings_payout_entry_kind AFTER INSERT ON holdings_payout
    REFERENCING NEW TABLE AS new_documents FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_documents_entry_kind('pool_payout', 'payout');
CREATE TRIGGER holdings_remeasurement_entry_kind AFTER INSERT ON holdings_remeasurement
    REFERENCING NEW TABLE AS new_documents FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_documents_entry_kind('fair_value_remeasurement', 'remeasurement');
CREATE TRIGGER holdings_loan_event_entry_kind AFTER INSERT ON holdings_loanevent
    REFERENCING NEW TABLE AS new_documents FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_documents_entry_kind('', 'loan event');

-- NOT VALID: events written before are not read again, so an upgrade never stops on one.
ALTER TABLE holdings_loanevent
    ADD CONSTRAINT holdings_loan_event_posted
    CHECK (entry_id IS NOT NULL OR kind = 'tier' OR (kind = 'accrual' AND amount = 0)) NOT VALID;
