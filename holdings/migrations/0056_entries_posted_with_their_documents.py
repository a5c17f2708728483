"""An entry of a document's kind is posted with its document, checked at commit
(0056_entries_posted_with_their_documents.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_entries_have_documents ON holdings_entry_documents_pending",
    "DROP FUNCTION holdings_entries_have_documents()",
    "DROP TRIGGER holdings_entries_await_documents ON ledger_journalentry",
    "DROP FUNCTION holdings_entries_await_documents()",
    "DROP TABLE holdings_entry_documents_pending",
    "DROP FUNCTION holdings_entry_documents_pending_guard()",
    "DROP VIEW holdings_entry_without_document",
    "DROP FUNCTION holdings_document_kinds()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0055_asset_events_at_a_site")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
