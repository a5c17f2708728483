"""The functions of released migrations, read back from their SQL files (which are never
edited) for the reverse of a later migration that replaces them. Django's loader skips this
module (its name starts with an underscore); tests/migration_checksums.json keeps it."""

from __future__ import annotations

import re
from pathlib import Path

MIGRATIONS = Path(__file__).parent


def released_function(migration: str, name: str) -> str:
    """`CREATE OR REPLACE FUNCTION name(...) ... END $$;` as `migration`'s SQL file wrote it."""
    sql = (MIGRATIONS / f"{migration}.sql").read_text()
    found = re.search(
        rf"^CREATE (?:OR REPLACE )?FUNCTION {re.escape(name)}\(.*?^END \$\$;",
        sql,
        re.DOTALL | re.MULTILINE,
    )
    if found is None:
        raise LookupError(f"{migration}.sql defines no function {name}")
    return re.sub(r"^CREATE (OR REPLACE )?", "CREATE OR REPLACE ", found.group(0))
