-- A loan's terms are kept once it has an event (0028, holdings_loan_terms_kept). That rule
-- looks for the loan's events when the loan is updated; an event being inserted by a
-- transaction not yet committed is not seen, and its foreign key locks the loan only at
-- commit (a key-share lock, which an ordinary update does not wait for). So the insert of
-- an event locks its loan's row at once (share): an update of the loan waits for the
-- event's transaction, then sees the event and is refused. The services lock the loan
-- first themselves (holdings.services.loan_ltv.lock_loan), so this takes nothing more there.
CREATE FUNCTION holdings_loan_event_locks_loan() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM holdings_loan
     WHERE id IN (SELECT loan_id FROM new_rows)
     ORDER BY id
       FOR SHARE;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_loan_event_locks_loan
AFTER INSERT ON holdings_loanevent
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION holdings_loan_event_locks_loan();
