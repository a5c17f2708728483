-- A loan's daily interest is computed on the principal it owes at the end of the day.
--
-- A day is accrued again (attempt 2, 3...) once its accrual is cancelled, or, where it
-- posted nothing (no principal then), once the principal of that day has changed: a later
-- attempt follows only an earlier one that stands no more or posted nothing.
CREATE FUNCTION holdings_loan_accrual_attempt_follows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    earlier record;
BEGIN
    IF NEW.kind <> 'accrual' OR NEW.attempt <= 1 THEN  -- a CHECK keeps the others at 1
        RETURN NEW;
    END IF;
    SELECT e.id, e.entry_id,
           EXISTS (SELECT 1 FROM ledger_cancellation c
                    WHERE c.entry_id = e.entry_id AND c.status = 'approved') AS cancelled
      INTO earlier
      FROM holdings_loanevent e
     WHERE e.loan_id = NEW.loan_id AND e.kind = 'accrual'
       AND e.effective_date = NEW.effective_date AND e.attempt = NEW.attempt - 1;
    IF NOT FOUND THEN
        PERFORM ledger_violation('holdings_loan_accrual_attempt_follows',
            format('loan %s has no accrual of %s attempt %s to follow: attempts are counted '
                   'from 1', NEW.loan_id, NEW.effective_date, NEW.attempt - 1));
    ELSIF earlier.entry_id IS NOT NULL AND NOT earlier.cancelled THEN
        PERFORM ledger_violation('holdings_loan_accrual_attempt_follows',
            format('the interest of %s is accrued by loan event %s, which stands: it is '
                   'cancelled before the day is accrued again', NEW.effective_date, earlier.id));
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER holdings_loan_accrual_attempt_follows
BEFORE INSERT ON holdings_loanevent
FOR EACH ROW EXECUTE FUNCTION holdings_loan_accrual_attempt_follows();

-- What changes the principal (a draw, a repayment, a liquidation) is not dated on or before
-- a day whose interest stands accrued with an entry: that accrual was computed on the
-- principal of its day and would no longer agree with the journal. Its accruals from that
-- day on are cancelled first (then accrued again on what the loan owes).
CREATE FUNCTION holdings_loan_events_follow_accruals() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT l.code, n.kind, n.effective_date, a.effective_date AS accrued, e.sequence
      INTO bad
      FROM new_rows n
      JOIN holdings_loan l ON l.id = n.loan_id
      JOIN holdings_loanevent a
        ON a.loan_id = n.loan_id
       AND a.kind = 'accrual'
       AND a.effective_date >= n.effective_date
       AND a.entry_id IS NOT NULL
      JOIN ledger_journalentry e ON e.id = a.entry_id
     WHERE n.kind IN ('draw', 'repayment', 'liquidation')
       AND NOT EXISTS (SELECT 1 FROM ledger_cancellation c
                        WHERE c.entry_id = a.entry_id AND c.status = 'approved')
     ORDER BY a.effective_date DESC
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_loan_events_follow_accruals',
            format('loan %s: a %s dated %s changes the principal under its interest accrued '
                   'through %s (entry #%s): date it after %s, or cancel its accruals from %s '
                   'first', bad.code, bad.kind, bad.effective_date, bad.accrued, bad.sequence,
                   bad.accrued, bad.effective_date));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_loan_events_follow_accruals
AFTER INSERT ON holdings_loanevent
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION holdings_loan_events_follow_accruals();
