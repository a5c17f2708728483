"""The posting trigger's look-ups of the entries a statement names, bounded to their range
of ids so that they read what the statement touched, not the journal from its start
(0019_bounded_entry_lookups.sql). On the way back, the function as 0018 released it."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()

# The function as 0018_set_based_writes.sql released it (that file never changes).
_RELEASED = Path(__file__).with_name("0018_set_based_writes.sql").read_text()
_START = _RELEASED.index("CREATE OR REPLACE FUNCTION ledger_posting_after_insert()")
REVERSE = _RELEASED[_START : _RELEASED.index("END $$;", _START) + len("END $$;")]


class Migration(migrations.Migration):
    dependencies = [("ledger", "0018_set_based_writes")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
