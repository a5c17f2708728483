-- The pools' records added up per pool account and calendar month
-- (holdings_productionmonthtotal), kept by triggers on the records and on the
-- cancellations. Released with migration 0026; a change to a rule is a new file and a new
-- migration.
--
-- The production report and the dashboard then read a row per pool account and month
-- instead of every record of the years they show. The rows count the standing records
-- only: a record whose journal entry has an approved cancellation was not mined, as the
-- cost of mining already reads (holdings.selectors.costs). Records are insert-only (0002)
-- and an approval is final (ledger 0012), so the totals grow by what a statement inserts
-- and shrink by a record once, when its cancellation is approved.

-- Room on the pages for the rows' next versions (updated in place, indexes untouched).
ALTER TABLE holdings_productionmonthtotal SET (fillfactor = 70);

-- Every standing record written so far.
INSERT INTO holdings_productionmonthtotal
    (pool_account_id, month, records, net, value, hashrate_hs, hashrate_records)
SELECT r.pool_account_id, date_trunc('month', r.day)::date, count(*), sum(r.net),
       sum(r.value), coalesce(sum(r.hashrate_hs), 0), count(r.hashrate_hs)
  FROM holdings_productionrecord r
 WHERE NOT EXISTS (SELECT 1 FROM ledger_cancellation c
                    WHERE c.entry_id = r.entry_id AND c.status = 'approved')
 GROUP BY 1, 2;

-- Each statement's records, added to their months in one statement (in key order, so that
-- concurrent imports take the rows' locks in the same order).
CREATE FUNCTION holdings_production_months_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO holdings_productionmonthtotal AS t
        (pool_account_id, month, records, net, value, hashrate_hs, hashrate_records)
    SELECT r.pool_account_id, date_trunc('month', r.day)::date, count(*), sum(r.net),
           sum(r.value), coalesce(sum(r.hashrate_hs), 0), count(r.hashrate_hs)
      FROM new_records r
     WHERE NOT EXISTS (SELECT 1 FROM ledger_cancellation c
                        WHERE c.entry_id = r.entry_id AND c.status = 'approved')
     GROUP BY 1, 2
     ORDER BY 1, 2
    ON CONFLICT (pool_account_id, month) DO UPDATE
       SET records = t.records + EXCLUDED.records,
           net = t.net + EXCLUDED.net,
           value = t.value + EXCLUDED.value,
           hashrate_hs = t.hashrate_hs + EXCLUDED.hashrate_hs,
           hashrate_records = t.hashrate_records + EXCLUDED.hashrate_records;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_production_months_kept AFTER INSERT ON holdings_productionrecord
REFERENCING NEW TABLE AS new_records
FOR EACH STATEMENT EXECUTE FUNCTION holdings_production_months_kept();

-- A cancellation approved: its record, if its entry is a pool record's, leaves its month.
CREATE FUNCTION holdings_production_record_cancelled() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE holdings_productionmonthtotal t
       SET records = t.records - 1,
           net = t.net - r.net,
           value = t.value - r.value,
           hashrate_hs = t.hashrate_hs - coalesce(r.hashrate_hs, 0),
           hashrate_records = t.hashrate_records - (r.hashrate_hs IS NOT NULL)::int
      FROM holdings_productionrecord r
     WHERE r.entry_id = NEW.entry_id
       AND t.pool_account_id = r.pool_account_id
       AND t.month = date_trunc('month', r.day)::date;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_production_record_cancelled AFTER UPDATE OF status ON ledger_cancellation
FOR EACH ROW WHEN (OLD.status <> 'approved' AND NEW.status = 'approved')
EXECUTE FUNCTION holdings_production_record_cancelled();

-- Written by those triggers alone.
CREATE FUNCTION holdings_production_months_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        PERFORM ledger_violation('holdings_production_months_kept_by_records',
            format('%s is kept from the production records and their cancellations and '
                   'cannot be written directly', TG_TABLE_NAME));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_productionmonthtotal_guard
BEFORE INSERT OR UPDATE OR DELETE ON holdings_productionmonthtotal
FOR EACH STATEMENT WHEN (pg_trigger_depth() < 1)
EXECUTE FUNCTION holdings_production_months_guard();
CREATE TRIGGER holdings_productionmonthtotal_no_truncate
BEFORE TRUNCATE ON holdings_productionmonthtotal
FOR EACH STATEMENT EXECUTE FUNCTION holdings_production_months_guard();
