-- A sale's or a liquidation's proceeds, shared among the lots it relieves by their units. Since
-- 0044 and 0045 a document's records add up to its proceeds, but how the sum was split among
-- them was held to nothing: raw SQL could give a lot bought yesterday all the proceeds and a
-- lot held for years none, keeping the total. The realized gains by lot and by holding
-- period would then be wrong while every total agreed. Now, at commit and once per document,
-- each record's proceeds are within a cent of its units' share of the document's proceeds (the
-- services split them by largest remainder: each part is its exact share rounded to a cent,
-- up or down). Released with migration 0049; a change is a new file and a new migration.

CREATE FUNCTION holdings_disposals_share_proceeds_by_units() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT d.id, d.lot_id, d.units, d.proceeds, t.units AS all_units,
           t.proceeds AS all_proceeds, j.sequence, j.effective_date
      INTO bad
      FROM (SELECT sum(units) AS units, sum(proceeds) AS proceeds
              FROM holdings_disposal
             WHERE entry_id = NEW.entry_id AND reversal_of_id IS NULL) t
      JOIN holdings_disposal d
        ON d.entry_id = NEW.entry_id AND d.reversal_of_id IS NULL
      JOIN ledger_journalentry j ON j.id = NEW.entry_id
     WHERE abs(d.proceeds * t.units - t.proceeds * d.units) > 0.01 * t.units
     ORDER BY d.id
     LIMIT 1;
    IF FOUND THEN
        PERFORM ledger_violation('holdings_disposals_share_proceeds_by_units', format(
            'disposal record %s (entry #%s of %s) relieves %s of the %s units from lot %s for '
            'proceeds of %s USD, but its share by units of the %s proceeds is %s', bad.id,
            bad.sequence, bad.effective_date, bad.units, bad.all_units, bad.lot_id,
            bad.proceeds, bad.all_proceeds,
            round(bad.all_proceeds * bad.units / bad.all_units, 4)));
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER holdings_sale_proceeds_by_units AFTER INSERT ON holdings_sale
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION holdings_disposals_share_proceeds_by_units();

CREATE CONSTRAINT TRIGGER holdings_liquidation_proceeds_by_units AFTER INSERT
    ON holdings_loanevent DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.kind = 'liquidation')
    EXECUTE FUNCTION holdings_disposals_share_proceeds_by_units();
