-- A fixed asset's depreciation, impairment or disposal is posted by an entry, and its placing
-- in service or change of life by none. 0052 held an event's entry to the event, but only where
-- it had one: raw SQL could add a month's depreciation of 10,000.00 with no entry, and the
-- register, the roll-forward and the asset's net book value would count it while the journal
-- did not. A CHECK, NOT VALID: rows of earlier releases are not re-read (the nightly cost
-- check compares each class's accounts with its register). Released with migration 0054; a
-- change is a new file and a new migration.

ALTER TABLE holdings_assetevent
    ADD CONSTRAINT holdings_asset_event_posted_by_kind
    CHECK ((kind IN ('depreciation', 'impairment', 'disposal')) = (entry_id IS NOT NULL))
    NOT VALID;
