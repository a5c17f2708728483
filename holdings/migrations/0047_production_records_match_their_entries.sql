-- A production record against its entry, as each statement writes records. The production
-- report, the dashboard and the production months read a record's net and value; the ledger's
-- revenue reads its entry. Nothing tied the two: raw SQL could record 0.5 BTC worth 50,000 on
-- an entry that posts 0.4 worth 40,000, or a record of a day's earnings with no entry. Now a
-- record with an entry is written after its entry's postings, and that entry posts its net at
-- its value into the pool account's receivable and its value out of 4000 (mining revenue,
-- holdings/chart.py's code); a record with no entry earned nothing (net and value zero).
-- Released with migration 0047; a change is a new file and a new migration.

CREATE FUNCTION holdings_production_records_match_entries() RETURNS trigger
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    revenue bigint;
    bad record;
BEGIN
    SELECT id INTO revenue FROM ledger_account WHERE code = '4000';
    SELECT r.id, r.day, r.net, r.value, r.entry_id, a.code, a.commodity_id, j.sequence,
           j.effective_date, coalesce(p.quantity, 0) AS posted_net,
           coalesce(p.value, 0) AS posted_value, coalesce(p.revenue, 0) AS posted_revenue
      INTO bad
      FROM new_records r
      JOIN holdings_poolaccount a ON a.id = r.pool_account_id
      LEFT JOIN ledger_journalentry j ON j.id = r.entry_id
      LEFT JOIN LATERAL (
          SELECT sum(x.quantity) FILTER (WHERE x.account_id = a.receivable_account_id)
                     AS quantity,
                 sum(x.value) FILTER (WHERE x.account_id = a.receivable_account_id) AS value,
                 sum(x.value) FILTER (WHERE x.account_id = revenue) AS revenue
            FROM ledger_posting x
           WHERE x.entry_id = r.entry_id
      ) p ON r.entry_id IS NOT NULL
     WHERE CASE WHEN r.entry_id IS NULL THEN r.net <> 0 OR r.value <> 0
                ELSE (coalesce(p.quantity, 0), coalesce(p.value, 0), coalesce(p.revenue, 0))
                     <> (r.net, r.value, -r.value) END
     ORDER BY r.day, r.id
     LIMIT 1;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF bad.entry_id IS NULL THEN
        PERFORM ledger_violation('holdings_production_record_matches_its_entry', format(
            'pool account %s''s record of %s earned %s %s worth %s USD but has no entry: only a '
            'day that earned nothing is kept without one', bad.code, bad.day, bad.net,
            bad.commodity_id, bad.value));
    ELSE
        PERFORM ledger_violation('holdings_production_record_matches_its_entry', format(
            'pool account %s''s record of %s earned %s %s worth %s USD, but its entry #%s of %s '
            'posts %s at a value of %s into the receivable and %s out of mining revenue (a '
            'record is written after its entry''s postings)', bad.code, bad.day, bad.net,
            bad.commodity_id, bad.value, coalesce(bad.sequence::text, '(not written)'),
            bad.effective_date, bad.posted_net, bad.posted_value, -bad.posted_revenue));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_production_records_match_entries AFTER INSERT
    ON holdings_productionrecord REFERENCING NEW TABLE AS new_records FOR EACH STATEMENT
    EXECUTE FUNCTION holdings_production_records_match_entries();
