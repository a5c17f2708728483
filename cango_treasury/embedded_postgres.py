"""The embedded PostgreSQL of development mode (CANGO_DEVELOPMENT=true, no DATABASE_URL).

pgserver ships a real PostgreSQL server in a wheel. Every entry point (manage.py, Celery,
pytest) in development mode without DATABASE_URL calls `embedded_database_settings`, which
starts the server under `.data/postgres` if it is not running, creates the project's database
and its two roles, and returns how the application connects. The server stops when the last
process that asked for it exits.

The two roles, as in production: `postgres` (the server's superuser) owns the tables and runs
the migrations; the application connects as `cango_app`, which owns nothing, may only read
and write rows, and so can neither disable a trigger nor switch to replica mode.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import warnings
from pathlib import Path
from typing import Any, LiteralString, cast

DATABASE_NAME = "cango_treasury"
OWNER_ROLE = "postgres"
APPLICATION_ROLE = "cango_app"
# Every process of `make run` sets the roles up as it starts; one at a time, as GRANT
# statements on the same objects from two sessions collide ("tuple concurrently updated").
_SETUP_LOCK = "cango_treasury.embedded_roles"


def _start(data_dir: Path) -> Any:
    # platformdirs warns when XDG_RUNTIME_DIR is unset, which is normal on servers.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        logging.getLogger("pgserver").setLevel(logging.WARNING)
        pgdata = data_dir / "postgres"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        # One process at a time: pgserver starts the server under a lock of its own, but
        # what comes before it (the data directory made, as root its system user added) fails
        # in a process that another, starting at the same moment, beat to it (the workers of
        # a parallel test run, the processes of `make run`).
        with (data_dir / "postgres.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return pgserver.get_server(pgdata, cleanup_mode="stop")


def application_role_statements(role: str, owner: str) -> list[str]:
    """What the application role may do in the current database: use the schema, read and
    write rows, take sequence values and call functions, on what exists and on what the owner
    creates later. Nothing else: no TRUNCATE, REFERENCES or TRIGGER, no ownership."""
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
        f"GRANT EXECUTE ON FUNCTIONS TO {role}",
    ]


def _set_up(socket_dir: str) -> None:
    import psycopg
    from psycopg import errors

    with psycopg.connect(host=socket_dir, user=OWNER_ROLE, dbname="postgres") as conn:
        conn.autocommit = True
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
        if not found.fetchone():
            # Unless another process creates it at the same moment.
            with contextlib.suppress(errors.DuplicateDatabase, errors.UniqueViolation):
                conn.execute(f"CREATE DATABASE {DATABASE_NAME}")
    with (
        psycopg.connect(host=socket_dir, user=OWNER_ROLE, dbname=DATABASE_NAME) as conn,
        conn.transaction(),
    ):
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [_SETUP_LOCK])
        exists = conn.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", [APPLICATION_ROLE]
        ).fetchone()
        if not exists:
            conn.execute(f"CREATE ROLE {APPLICATION_ROLE} LOGIN")
        # Whatever the role was given before, it is a plain login again.
        conn.execute(
            f"ALTER ROLE {APPLICATION_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
            "NOREPLICATION NOBYPASSRLS"
        )
        conn.execute(f"GRANT CONNECT ON DATABASE {DATABASE_NAME} TO {APPLICATION_ROLE}")
        # No temporary tables, so no triggers of its own (ledger migration 0025): a server
        # set up before that migration granted them.
        conn.execute(
            f"REVOKE TEMPORARY ON DATABASE {DATABASE_NAME} FROM PUBLIC, {APPLICATION_ROLE}"
        )
        for statement in application_role_statements(APPLICATION_ROLE, OWNER_ROLE):
            conn.execute(cast(LiteralString, statement))


def embedded_server(data_dir: Path) -> str:
    """Start the embedded server (if it is not running), set up the project's database and
    roles, and return the directory of its Unix socket: the host to connect to."""
    server = _start(data_dir)
    socket_dir = str(server.get_postmaster_info().socket_dir)
    _set_up(socket_dir)
    return socket_dir


def embedded_database_settings(data_dir: Path) -> dict[str, str]:
    """Django DATABASES entry for the embedded server, as the application role."""
    return {
        "NAME": DATABASE_NAME,
        "USER": APPLICATION_ROLE,
        "PASSWORD": "",
        "HOST": embedded_server(data_dir),
        "PORT": "",
    }


def embedded_owner_credentials() -> dict[str, str]:
    """How migrations connect to the embedded server (on the same host): as the owner."""
    return {"USER": OWNER_ROLE, "PASSWORD": ""}
