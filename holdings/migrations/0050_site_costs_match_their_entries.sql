-- A site cost against its own entry, whenever its entry is set. Since 0028 the entry had to be
-- of the document's kind ('site_cost' or 'cost_accrual'), but what it posted was held to
-- nothing: raw SQL could record a power invoice of 175,000.00 on an entry that booked 1,750.00
-- to the site's power cost, an accrual of one site on another site's accounts, or an invoice
-- marked paid whose entry owed the vendor; the cost reports, the accruals' roll-forward and the
-- cost of production read the document, the statements the entry. Now the entry posts,
-- account by account, what costs.py's _postings makes of the document and nothing else:
--   accrual  : the kind's cost account of the site (<5000|5020|5030>-<site>) + amount,
--              the site's accrued costs (2200-<site>) - amount;
--   invoice  : the kind's cost account + amount (power: + energy + demand + taxes, and the
--              site's power credits 5010-<site> - credits), cash (1000) if paid else vendor
--              payables (2210) - amount; an invoice reversing an accrual also takes the
--              accrual's amount out of 2200-<site> and out of the accrual kind's cost account.
-- The codes are holdings/chart.py's. Released with migration 0050; a change is a new file and
-- a new migration.

CREATE FUNCTION holdings_site_cost_account(kind text, site text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kind WHEN 'power' THEN '5000' WHEN 'hosting' THEN '5020' ELSE '5030' END
           || '-' || site
$$;

CREATE FUNCTION holdings_site_cost_matches_its_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    site text;
    bad record;
BEGIN
    SELECT s.code INTO site FROM holdings_site s WHERE s.id = NEW.site_id;
    WITH wanted (code, value) AS (
        SELECT holdings_site_cost_account(NEW.kind, site),
               CASE WHEN NEW.origin <> 'accrual' AND NEW.kind = 'power'
                    THEN NEW.energy + NEW.demand + NEW.taxes ELSE NEW.amount END
        UNION ALL
        SELECT '5010-' || site, -NEW.credits WHERE NEW.origin <> 'accrual' AND NEW.kind = 'power'
        UNION ALL
        SELECT '2200-' || site, -NEW.amount WHERE NEW.origin = 'accrual'
        UNION ALL
        SELECT CASE WHEN NEW.paid THEN '1000' ELSE '2210' END, -NEW.amount
         WHERE NEW.origin <> 'accrual'
        UNION ALL
        SELECT '2200-' || site, r.amount
          FROM holdings_sitecost r WHERE r.id = NEW.reverses_id AND NEW.origin <> 'accrual'
        UNION ALL
        SELECT holdings_site_cost_account(r.kind, site), -r.amount
          FROM holdings_sitecost r WHERE r.id = NEW.reverses_id AND NEW.origin <> 'accrual'
    ), wanted_by_account AS (
        SELECT code, sum(value) AS value FROM wanted GROUP BY code
    ), posted AS (
        SELECT a.code, sum(p.quantity) AS quantity, sum(p.value) AS value
          FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id
         WHERE p.entry_id = NEW.entry_id
         GROUP BY a.code
    )
    SELECT coalesce(w.code, p.code) AS code, coalesce(w.value, 0) AS wanted,
           coalesce(p.quantity, 0) AS quantity, coalesce(p.value, 0) AS value,
           j.sequence, j.effective_date
      INTO bad
      FROM wanted_by_account w
      FULL JOIN posted p ON p.code = w.code
      JOIN ledger_journalentry j ON j.id = NEW.entry_id
     WHERE (coalesce(p.quantity, 0), coalesce(p.value, 0))
           <> (coalesce(w.value, 0), coalesce(w.value, 0))
     ORDER BY 1
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_site_cost_matches_its_entry', format(
            'site cost %s (%s %s %s of site %s) makes %s USD of account %s, but its entry #%s of '
            '%s posts %s at %s', NEW.id, NEW.kind, CASE WHEN NEW.origin = 'accrual'
            THEN 'accrual' ELSE 'invoice' END, NEW.reference, site, bad.wanted, bad.code,
            bad.sequence, bad.effective_date, bad.quantity, bad.value));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER holdings_site_cost_matches_its_entry
    AFTER INSERT OR UPDATE OF entry_id ON holdings_sitecost
    FOR EACH ROW WHEN (NEW.entry_id IS NOT NULL)
    EXECUTE FUNCTION holdings_site_cost_matches_its_entry();
