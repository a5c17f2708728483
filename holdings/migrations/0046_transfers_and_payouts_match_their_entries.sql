-- A transfer and a payout against their own entries, at commit. The lots tie each entry's
-- postings to the lots it moves (migrations 0036-0043), but nothing tied the document to
-- either: raw SQL could record a transfer of 0.6 BTC to the hot wallet whose entry and lots
-- moved 0.5 to the cold one, or a payout of an amount its entry never posted, and the
-- transfers' list, the payouts' reconciliation with the chain and the roll-forward would read
-- the document. Now a transfer's entry posts its units into the receiving wallet's account
-- and its units and fee units out of the sending wallet's; a payout's entry posts its amount
-- into the wallet's account and out of the pool account's receivable. Once per document, at
-- commit. Released with migration 0046; a change is a new file and a new migration.

CREATE FUNCTION holdings_transfer_matches_its_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    posted record;
BEGIN
    SELECT coalesce(sum(p.quantity) FILTER (WHERE p.account_id = t.account_id), 0) AS received,
           coalesce(sum(p.quantity) FILTER (WHERE p.account_id = f.account_id), 0) AS sent,
           t.code AS to_code, f.code AS from_code, t.commodity_id,
           j.sequence, j.effective_date
      INTO posted
      FROM holdings_wallet t
      JOIN holdings_wallet f ON f.id = NEW.from_wallet_id
      JOIN ledger_journalentry j ON j.id = NEW.entry_id
      LEFT JOIN ledger_posting p ON p.entry_id = NEW.entry_id
     WHERE t.id = NEW.to_wallet_id
     GROUP BY t.code, f.code, t.commodity_id, j.sequence, j.effective_date;
    IF FOUND AND (posted.received, posted.sent)
                 IS DISTINCT FROM (NEW.units, -(NEW.units + NEW.fee_units)) THEN
        PERFORM ledger_violation('holdings_transfer_matches_its_entry', format(
            'transfer %s (entry #%s of %s) moves %s %s from wallet %s to wallet %s with a fee of '
            '%s, but its entry posts %s into %s and %s out of %s', NEW.txid, posted.sequence,
            posted.effective_date, NEW.units, posted.commodity_id, posted.from_code,
            posted.to_code, NEW.fee_units, posted.received, posted.to_code, -posted.sent,
            posted.from_code));
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER holdings_transfer_matches_its_entry AFTER INSERT
    ON holdings_transfer DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION holdings_transfer_matches_its_entry();

CREATE FUNCTION holdings_payout_matches_its_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    posted record;
BEGIN
    SELECT coalesce(sum(p.quantity) FILTER (WHERE p.account_id = w.account_id), 0) AS received,
           coalesce(sum(p.quantity) FILTER (WHERE p.account_id = a.receivable_account_id), 0)
               AS paid,
           w.code AS wallet_code, a.code AS pool_account_code, a.commodity_id,
           j.sequence, j.effective_date
      INTO posted
      FROM holdings_wallet w
      JOIN holdings_poolaccount a ON a.id = NEW.pool_account_id
      JOIN ledger_journalentry j ON j.id = NEW.entry_id
      LEFT JOIN ledger_posting p ON p.entry_id = NEW.entry_id
     WHERE w.id = NEW.wallet_id
     GROUP BY w.code, a.code, a.commodity_id, j.sequence, j.effective_date;
    IF FOUND AND (posted.received, posted.paid) IS DISTINCT FROM (NEW.amount, -NEW.amount) THEN
        PERFORM ledger_violation('holdings_payout_matches_its_entry', format(
            'payout %s of pool account %s (entry #%s of %s) pays %s %s to wallet %s, but its '
            'entry posts %s into the wallet and %s out of the pool account''s receivable',
            NEW.external_id, posted.pool_account_code, posted.sequence, posted.effective_date,
            NEW.amount, posted.commodity_id, posted.wallet_code, posted.received,
            -posted.paid));
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER holdings_payout_matches_its_entry AFTER INSERT
    ON holdings_payout DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION holdings_payout_matches_its_entry();
