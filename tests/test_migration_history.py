"""The database's history is frozen: a migration (and the SQL it runs: beside it, or in
`ledger/sql/` and `holdings/sql/` for the migrations released before SQL sat beside them) is
never edited once committed, so a database migrated with any release goes through the same
history as a fresh one. A change to a rule is a new migration; a new migration is added to the
manifest."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = Path(__file__).with_name("migration_checksums.json")
APPS = ("ledger", "holdings")


def migration_files() -> dict[str, str]:
    """Every migration file of the apps (its `.py` and its `.sql`), every helper the
    migrations import (`_released.py`) and every SQL file the earlier migrations read by path,
    by path, with its SHA-256."""
    paths = []
    for app in APPS:
        paths += [
            path
            for path in (ROOT / app / "migrations").iterdir()
            if (path.name[:4].isdigit() and path.suffix in (".py", ".sql"))
            or (path.name.startswith("_") and path.name != "__init__.py" and path.suffix == ".py")
        ]
        paths += list((ROOT / app / "sql").glob("*.sql"))
    return {
        path.relative_to(ROOT).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(paths)
    }


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


# What the database's rules are made of, to compare a database before and after a round trip.
CATALOG = """
SELECT 'function ' || p.oid::regprocedure::text, pg_get_functiondef(p.oid)
  FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace
UNION ALL
SELECT 'trigger ' || tgrelid::regclass::text || ' ' || tgname, pg_get_triggerdef(oid)
  FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname, pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = current_schema()::regnamespace
UNION ALL
SELECT 'index ' || c.relname, pg_get_indexdef(c.oid)
  FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'i'
UNION ALL
SELECT 'relation ' || c.relname, c.relkind::text || ' ' || string_agg(
           a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
  FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
                                          AND NOT a.attisdropped
 WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'v', 'S')
 GROUP BY c.relname, c.relkind
"""


@pytest.fixture
def throwaway_database(django_db_setup):
    """A database of its own on the suite's server, migrated by `manage.py migrate` in a
    subprocess as a deployment would: (its DATABASE_URL, a function reading its catalog)."""
    server = settings.DATABASES["default"]
    name = f"cango_migration_history_{os.getpid()}"
    credentials = {
        "host": server["HOST"] or None,
        "port": server["PORT"] or None,
        "user": server["USER"],
        "password": server["PASSWORD"] or None,
    }

    def on_server(statement):
        with psycopg.connect(dbname="postgres", autocommit=True, **credentials) as connection:
            connection.execute(statement)

    def catalog():
        with psycopg.connect(dbname=name, **credentials) as connection:
            return dict(connection.execute(CATALOG).fetchall())

    on_server(f'DROP DATABASE IF EXISTS "{name}"')
    on_server(f'CREATE DATABASE "{name}"')
    login = quote(server["USER"], safe="")
    if server["PASSWORD"]:
        login += ":" + quote(server["PASSWORD"], safe="")
    location = quote(server["HOST"] or "localhost", safe="")
    if server["PORT"]:
        location += f":{server['PORT']}"
    try:
        yield f"postgres://{login}@{location}/{name}", catalog
    finally:
        on_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(database_url, *arguments):
    environment = {**os.environ, "DATABASE_URL": database_url, "CANGO_DEVELOPMENT": "true"}
    environment.pop("DATABASE_OWNER_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# The migrations released before every migration came with its reverse end here; from these
# on, each goes back and forward again.
REVERSIBLE_FROM = (
    ("ledger", "0011_journal_seal_schedule"),
    ("holdings", "0011_pool_balance_schedule"),
)


def ours(catalog: dict[str, str]) -> dict[str, str]:
    """The ledger's and the holdings' part of a catalog: their relations, constraints and
    indexes, and every function and trigger (other apps' tables are migrated apart)."""
    return {
        key: definition
        for key, definition in catalog.items()
        if key.startswith(("function ", "trigger "))
        or any(word.startswith(("ledger_", "holdings_")) for word in key.split(" ")[1:])
    }


def test_every_later_migration_goes_back_and_forward_again(throwaway_database):
    """Each migration since REVERSIBLE_FROM has its reverse: going back leaves exactly the
    database those releases left, and going forward again gives the very same rules."""
    database_url, catalog = throwaway_database
    for app, name in REVERSIBLE_FROM:
        migrate(database_url, app, name)
    released = ours(catalog())
    migrate(database_url)
    migrated = catalog()

    for app, name in reversed(REVERSIBLE_FROM):
        migrate(database_url, app, name)
    back = ours(catalog())
    assert back == released, sorted(
        key for key in released.keys() | back.keys() if released.get(key) != back.get(key)
    )

    migrate(database_url)
    again = catalog()
    assert again == migrated, sorted(
        key for key in migrated.keys() | again.keys() if migrated.get(key) != again.get(key)
    )
