"""A loan's principal and interest accounts move only with its events, entry by entry,
checked at commit (0038_loans_match_their_entries.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
# The postings' statement trigger as holdings migration 0036 released it.
TOUCH_LOTS_0036 = """
CREATE OR REPLACE FUNCTION holdings_entries_touch_lots() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'ledger_posting' THEN
        INSERT INTO holdings_entry_lots_pending AS p (entry_ids)
        SELECT array_agg(DISTINCT t.entry_id)
          FROM (SELECT DISTINCT entry_id, account_id FROM touched) t
         WHERE holdings_account_holds_lots(t.account_id)
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
    "DROP TRIGGER holdings_loans_match_entries ON holdings_loan_entries_pending",
    "DROP FUNCTION holdings_loans_match_entries()",
    "DROP TRIGGER holdings_loan_events_touch_entries ON holdings_loanevent",
    TOUCH_LOTS_0036,
    "DROP TABLE holdings_loan_entries_pending",
    "DROP FUNCTION holdings_loan_entries_pending_guard()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0037_documents_posted_by_their_own_entries")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
