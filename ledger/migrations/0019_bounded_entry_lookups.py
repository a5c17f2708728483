"""The triggers' look-ups of entries and their postings, bounded to the range of entry ids
they concern, so that they read what a statement or a transaction touched, not the journal
from its start (0019_bounded_entry_lookups.sql). On the way back, the functions as 0018
released them."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()

# The functions as 0018_set_based_writes.sql released them (that file never changes).
_RELEASED = Path(__file__).with_name("0018_set_based_writes.sql").read_text()


def _released(head: str) -> str:
    start = _RELEASED.index(head)
    return _RELEASED[start : _RELEASED.index("END $$;", start) + len("END $$;")]


REVERSE = [
    _released("CREATE OR REPLACE FUNCTION ledger_posting_after_insert()"),
    _released("CREATE OR REPLACE FUNCTION ledger_entries_after_insert()"),
    # Released as CREATE FUNCTION; on the way back it replaces this migration's version.
    _released("CREATE FUNCTION ledger_entries_have_postings()").replace(
        "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1
    ),
]


class Migration(migrations.Migration):
    dependencies = [("ledger", "0018_set_based_writes")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
