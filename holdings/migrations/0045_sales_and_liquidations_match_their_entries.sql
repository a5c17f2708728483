-- A sale and a liquidation against their own entries, at commit. A sale's units, cost and
-- carrying value reached its entry only through the lots (migrations 0036-0044); its
-- proceeds, its venue's fee and its gain on carrying value reached it by nothing: raw SQL could
-- post a sale's fee to another expense, its proceeds to another account of their commodity,
-- or a gain the sale does not show. And a liquidation's disposal records could claim proceeds
-- other than what its entry settles of the loan. Now:
-- * a sale's entry posts, account by account, exactly what the sale makes of it: its units
--   and cost out of the wallet's account, the relieved adjustment out of the account measuring
--   the wallet's lots, the net proceeds at their value into the proceeds account, the fee's
--   value to 5300 and the gain on carrying value to 4100, and nothing else;
-- * a liquidation's disposal records relieve its units, for proceeds that equal the value its
--   entry posts to the loan's principal and interest accounts.
-- Both run once per document, at commit. The chart's codes are holdings/chart.py's.
-- Released with migration 0045; a change is a new file and a new migration.

CREATE FUNCTION holdings_sale_matches_its_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
    entry_sequence bigint;
    entry_day date;
BEGIN
    WITH wanted(account_id, quantity, value, what) AS (
        SELECT w.account_id, -NEW.units, -NEW.cost, 'the units sold at their cost'
          FROM holdings_wallet w WHERE w.id = NEW.wallet_id
        UNION ALL
        SELECT holdings_lots_adjustment_account(w.account_id), NEW.cost - NEW.carrying_value,
               NEW.cost - NEW.carrying_value, 'the fair value adjustment relieved'
          FROM holdings_wallet w WHERE w.id = NEW.wallet_id AND NEW.carrying_value <> NEW.cost
        UNION ALL
        SELECT NEW.proceeds_account_id, NEW.gross_proceeds - NEW.fee,
               NEW.proceeds_value - NEW.fee_value, 'the net proceeds'
        UNION ALL
        SELECT (SELECT id FROM ledger_account WHERE code = '5300'), NEW.fee_value,
               NEW.fee_value, 'the venue''s fee'
         WHERE NEW.fee_value <> 0
        UNION ALL
        SELECT (SELECT id FROM ledger_account WHERE code = '4100'), -NEW.gain_on_carrying_value,
               -NEW.gain_on_carrying_value, 'the gain on carrying value'
         WHERE NEW.gain_on_carrying_value <> 0
    ), posted AS (
        SELECT p.account_id, sum(p.quantity) AS quantity, sum(p.value) AS value
          FROM ledger_posting p
         WHERE p.entry_id = NEW.entry_id
         GROUP BY p.account_id
    )
    SELECT w.what, a.code, coalesce(w.quantity, 0) AS wanted_quantity,
           coalesce(w.value, 0) AS wanted_value, coalesce(p.quantity, 0) AS posted_quantity,
           coalesce(p.value, 0) AS posted_value
      INTO bad
      FROM wanted w
      FULL JOIN posted p ON p.account_id = w.account_id
      LEFT JOIN ledger_account a ON a.id = coalesce(w.account_id, p.account_id)
     WHERE (coalesce(w.quantity, 0), coalesce(w.value, 0))
           IS DISTINCT FROM (coalesce(p.quantity, 0), coalesce(p.value, 0))
     ORDER BY a.code NULLS FIRST
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT j.sequence, j.effective_date INTO entry_sequence, entry_day
      FROM ledger_journalentry j WHERE j.id = NEW.entry_id;
    IF bad.what IS NULL THEN
        PERFORM ledger_violation('holdings_sale_matches_its_entry', format(
            'sale %s (entry #%s of %s) posts nothing to account %s, but its entry posts %s at a '
            'value of %s USD there', NEW.reference, entry_sequence, entry_day, bad.code,
            bad.posted_quantity, bad.posted_value));
    ELSE
        PERFORM ledger_violation('holdings_sale_matches_its_entry', format(
            'sale %s (entry #%s of %s) posts %s, %s at a value of %s USD, to account %s, but '
            'its entry posts %s at a value of %s there', NEW.reference, entry_sequence,
            entry_day, bad.what, bad.wanted_quantity, bad.wanted_value,
            coalesce(bad.code, 'none (not in the chart)'), bad.posted_quantity,
            bad.posted_value));
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER holdings_sale_matches_its_entry AFTER INSERT ON holdings_sale
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION holdings_sale_matches_its_entry();

CREATE FUNCTION holdings_liquidation_matches_disposals() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    recorded record;
    settled numeric;
    entry_sequence bigint;
    entry_day date;
BEGIN
    SELECT coalesce(sum(d.units), 0) AS units, coalesce(sum(d.proceeds), 0) AS proceeds
      INTO recorded
      FROM holdings_disposal d
     WHERE d.entry_id = NEW.entry_id AND d.reversal_of_id IS NULL;
    SELECT coalesce(sum(p.value), 0) INTO settled
      FROM ledger_posting p
      JOIN holdings_loan l ON l.id = NEW.loan_id
     WHERE p.entry_id = NEW.entry_id
       AND p.account_id IN (l.principal_account_id, l.interest_account_id);
    IF (recorded.units, recorded.proceeds) IS DISTINCT FROM (NEW.units, settled) THEN
        SELECT j.sequence, j.effective_date INTO entry_sequence, entry_day
          FROM ledger_journalentry j WHERE j.id = NEW.entry_id;
        PERFORM ledger_violation('holdings_liquidation_matches_disposals', format(
            'the liquidation of %s units (entry #%s of %s) settles %s USD of the loan, but its '
            'disposal records relieve %s units for proceeds of %s', NEW.units, entry_sequence,
            entry_day, settled, recorded.units, recorded.proceeds));
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER holdings_liquidation_matches_disposals AFTER INSERT
    ON holdings_loanevent DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.kind = 'liquidation')
    EXECUTE FUNCTION holdings_liquidation_matches_disposals();
