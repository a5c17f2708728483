-- Rule 8, when the flag is set: an account switched to must-not-go-negative (or created with
-- the flag) is checked at commit on every day of its history. Without it, raw SQL could
-- clear the flag, post an overdraft and set the flag again in one transaction. Released
-- with migration 0013; a change is a new file and a new migration. SQLSTATE 23514.
--
-- Deferred to commit, the check sees the account and its daily roll-ups as the transaction
-- leaves them: a flag cleared again before commit is not checked, an overdraft posted after
-- the flag was set is (by the posting trigger, and here once more).

CREATE FUNCTION ledger_account_guard_holds() RETURNS trigger
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
    guarded boolean;
    dip record;
BEGIN
    SELECT must_not_go_negative INTO guarded FROM ledger_account WHERE id = NEW.id;
    IF NOT coalesce(guarded, false) THEN
        RETURN NULL;
    END IF;
    SELECT a.code, a.commodity_id, d.day, d.running INTO dip
      FROM ledger_account a
     CROSS JOIN LATERAL (
          SELECT r.day, sum(r.quantity) OVER (ORDER BY r.day) AS running
            FROM ledger_dailybalance r WHERE r.account_id = a.id
     ) d
     WHERE a.id = NEW.id AND d.running < 0
     ORDER BY d.day
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('ledger_account_guard_holds',
            format('account %s is flagged must-not-go-negative but stands at %s %s on %s',
                   dip.code, dip.running, dip.commodity_id, dip.day));
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER ledger_account_guard_set AFTER INSERT ON ledger_account
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.must_not_go_negative)
    EXECUTE FUNCTION ledger_account_guard_holds();
CREATE CONSTRAINT TRIGGER ledger_account_guard_switched_on
    AFTER UPDATE OF must_not_go_negative ON ledger_account
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.must_not_go_negative AND NOT OLD.must_not_go_negative)
    EXECUTE FUNCTION ledger_account_guard_holds();
