"""The embedded PostgreSQL used when no DATABASE_URL is given.

pgserver ships a real PostgreSQL server in a wheel. Every entry point (manage.py, Celery,
pytest) that finds no DATABASE_URL calls `embedded_database_url`, which starts the server
under `.data/postgres` if it is not running and returns a URL for the project's database.
The server stops when the last process that asked for it exits.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

DATABASE_NAME = "cango_treasury"


def embedded_database_url(data_dir: Path) -> str:
    # platformdirs warns when XDG_RUNTIME_DIR is unset, which is normal on servers.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        logging.getLogger("pgserver").setLevel(logging.WARNING)
        pgdata = data_dir / "postgres"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgresql://postgres@/{DATABASE_NAME}?host={socket_dir}"


def embedded_database_settings(data_dir: Path) -> dict[str, str]:
    """Django DATABASES entry for the embedded server; the socket directory is the host."""
    url = embedded_database_url(data_dir)
    return {
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": url.split("?host=", 1)[1],
        "PORT": "",
    }
