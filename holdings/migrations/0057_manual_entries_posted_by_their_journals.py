"""An entry of a manual journal's kind is posted by its manual journal, checked at commit
(0057_manual_entries_posted_by_their_journals.sql)."""

import re
from pathlib import Path

from django.db import migrations

HERE = Path(__file__).parent
SQL = Path(__file__).with_suffix(".sql").read_text()


def _as_released(statement: str) -> str:
    """0056's list of kinds or view, as it released them, to put back."""
    sql = (HERE / "0056_entries_posted_with_their_documents.sql").read_text()
    found = re.search(rf"^CREATE {statement}.*?^(?:\$\$|   END);", sql, re.DOTALL | re.MULTILINE)
    assert found is not None, statement
    return found.group(0).replace("CREATE ", "CREATE OR REPLACE ", 1)


REVERSE = [
    _as_released("FUNCTION holdings_document_kinds"),
    _as_released("VIEW holdings_entry_without_document"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("holdings", "0056_entries_posted_with_their_documents"),
        ("ledger", "0026_entries_posted_only"),
    ]

    operations = [migrations.RunSQL(SQL, REVERSE)]
