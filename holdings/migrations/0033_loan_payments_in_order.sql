-- A loan's payment (a repayment, or the lender's liquidation of collateral) is split
-- interest first on what the loan owes on its day, and may not exceed it. A payment dated
-- before a later standing payment of the same loan would be split and capped on what that
-- later one already paid: the loan could be repaid twice, its principal account left in
-- debit. So payments go in date order: one dated before a standing payment of its loan
-- (its entry not cancelled) is refused. Cancelling the later one first lets it in.
CREATE FUNCTION holdings_loan_payments_in_order() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT l.code, n.kind, n.effective_date, later.kind AS later_kind,
           later.effective_date AS later_date, e.sequence
      INTO bad
      FROM new_rows n
      JOIN holdings_loan l ON l.id = n.loan_id
      JOIN holdings_loanevent later
        ON later.loan_id = n.loan_id
       AND later.kind IN ('repayment', 'liquidation')
       AND later.effective_date > n.effective_date
      LEFT JOIN ledger_journalentry e ON e.id = later.entry_id
     WHERE n.kind IN ('repayment', 'liquidation')
       AND NOT EXISTS (SELECT 1 FROM ledger_cancellation c
                        WHERE c.entry_id = later.entry_id AND c.status = 'approved')
     ORDER BY n.effective_date, later.effective_date DESC
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_loan_payments_in_order',
            format('loan %s: a %s dated %s comes before its %s of %s (entry #%s); payments '
                   'go in date order: date it on or after %s, or cancel that %s first',
                   bad.code, bad.kind, bad.effective_date, bad.later_kind, bad.later_date,
                   coalesce(bad.sequence::text, '?'), bad.later_date, bad.later_kind));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_loan_payments_in_order
AFTER INSERT ON holdings_loanevent
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION holdings_loan_payments_in_order();
