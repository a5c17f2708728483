"""The database's history is frozen: a migration (and the SQL beside it) is never edited once
committed, so a database migrated with any release goes through the same history as a fresh
one. A change to a rule is a new migration; a new migration is added to the manifest."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = Path(__file__).with_name("migration_checksums.json")
APPS = ("ledger", "holdings")


def migration_files() -> dict[str, str]:
    """Every migration file of the apps (its `.py` and its `.sql`), by path, with its SHA-256."""
    files = {}
    for app in APPS:
        for path in sorted((ROOT / app / "migrations").iterdir()):
            if path.name[:4].isdigit() and path.suffix in (".py", ".sql"):
                files[path.relative_to(ROOT).as_posix()] = hashlib.sha256(
                    path.read_bytes()
                ).hexdigest()
    return files


def test_released_migrations_are_never_edited_nor_removed():
    recorded = json.loads(MANIFEST.read_text())
    present = migration_files()
    problems = []
    for path, checksum in recorded.items():
        if path not in present:
            problems.append(f"{path} was removed: a released migration stays")
        elif present[path] != checksum:
            problems.append(
                f"{path} was edited: a released migration is never changed; write the change "
                "as a new migration at the end"
            )
    problems += [
        f"{path} is not in {MANIFEST.name}: add a new migration's files with their SHA-256"
        for path in present
        if path not in recorded
    ]
    assert not problems, "\n".join(problems)


def test_migrations_read_only_the_sql_beside_them():
    for app in APPS:
        for path in (ROOT / app / "migrations").glob("[0-9]*.py"):
            text = path.read_text()
            assert '"sql" /' not in text and "sql/" not in text, (
                f"{path.relative_to(ROOT)} reads SQL from outside its migration's pair"
            )


def test_models_and_migrations_agree():
    """`makemigrations --check`: every model change has its migration."""
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env={**os.environ, "CANGO_DEVELOPMENT": os.environ.get("CANGO_DEVELOPMENT", "true")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
