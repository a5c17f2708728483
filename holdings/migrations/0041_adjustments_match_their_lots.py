"""The fair value adjustment accounts compared with the lots' adjustments, entry by entry, at
commit (0041_adjustments_match_their_lots.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
# Both comparisons at commit as holdings migration 0040 released them (its file replaces
# them and nothing else).
MATCH_0040 = Path(__file__).with_name("0040_checks_at_commit_by_key.sql").read_text()
# As holdings migration 0039 released it.
TOUCH_0039 = """
CREATE OR REPLACE FUNCTION holdings_entries_touch_lots() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'ledger_posting' THEN
        IF NOT EXISTS (SELECT 1 FROM touched t
                         JOIN holdings_kept_account k ON k.account_id = t.account_id) THEN
            RETURN NULL;
        END IF;
        WITH kept AS (
            SELECT DISTINCT t.entry_id, k.holds_lots, k.loan
              FROM touched t JOIN holdings_kept_account k ON k.account_id = t.account_id
        ), lots AS (
            INSERT INTO holdings_entry_lots_pending AS p (entry_ids)
            SELECT array_agg(DISTINCT entry_id) FROM kept WHERE holds_lots HAVING count(*) > 0
            ON CONFLICT (xact) DO UPDATE SET entry_ids = p.entry_ids || EXCLUDED.entry_ids
            RETURNING 1
        )
        INSERT INTO holdings_loan_entries_pending AS p (entry_ids)
        SELECT array_agg(DISTINCT entry_id) FROM kept WHERE loan HAVING count(*) > 0
        ON CONFLICT (xact) DO UPDATE SET entry_ids = p.entry_ids || EXCLUDED.entry_ids;
    ELSIF TG_TABLE_NAME = 'holdings_loanevent' THEN
        INSERT INTO holdings_loan_entries_pending AS p (entry_ids)
        SELECT array_agg(DISTINCT entry_id) FROM touched WHERE entry_id IS NOT NULL
        HAVING count(*) > 0
        ON CONFLICT (xact) DO UPDATE SET entry_ids = p.entry_ids || EXCLUDED.entry_ids;
    ELSE
        INSERT INTO holdings_entry_lots_pending AS p (entry_ids)
        SELECT array_agg(DISTINCT entry_id) FROM touched HAVING count(*) > 0
        ON CONFLICT (xact) DO UPDATE SET entry_ids = p.entry_ids || EXCLUDED.entry_ids;
    END IF;
    RETURN NULL;
END $$;
"""
REVERSE = [
    MATCH_0040,
    TOUCH_0039,
    "DROP TRIGGER holdings_adjustment_accounts_kept ON ledger_account",
    "DROP TRIGGER holdings_adjustment_accounts_kept_updated ON ledger_account",
    "DROP FUNCTION holdings_adjustment_accounts_follow()",
    "ALTER TABLE holdings_kept_account DISABLE TRIGGER holdings_kept_account_guard",
    "DELETE FROM holdings_kept_account WHERE NOT holds_lots AND NOT loan",
    "ALTER TABLE holdings_kept_account ENABLE TRIGGER holdings_kept_account_guard",
    "ALTER TABLE holdings_kept_account DROP COLUMN adjusts_lots",
    "DROP FUNCTION holdings_lots_adjustment_account(bigint)",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0040_checks_at_commit_by_key")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
