"""`make run` end to end: a fresh data directory, no external service, Ctrl-C stops it all."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def get_json(url: str, token: str) -> object:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """The launcher's data directory, a fresh one, outside pytest's temporary root: as root,
    the embedded PostgreSQL runs as a user of its own, which must reach its files until it
    has stopped, and any pytest that starts meanwhile takes that root back to mode 0700."""
    root = Path(tempfile.mkdtemp(prefix="cango-launch-"))
    yield root / "data"
    shutil.rmtree(root, ignore_errors=True)


def test_make_run_serves_the_admin_and_the_api_and_stops_on_ctrl_c(tmp_path, data_dir):
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(CANGO_DATA_DIR=str(data_dir), RUN_PORT=str(port), WEB_WORKERS="1")
    log = tmp_path / "run.log"
    children: list[psutil.Process] = []
    with log.open("w") as sink:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "cango_treasury.launch"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        # The demonstration data loads first: two minutes on a quiet machine, over four on a
        # slow one with the rest of the suite running beside it.
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline and "Press Ctrl-C" not in log.read_text():
            assert launcher.poll() is None, log.read_text()
            time.sleep(0.5)
        banner = log.read_text()
        assert f"http://127.0.0.1:{port}/admin/" in banner, banner
        assert "admin / " in banner
        for _ in range(60):
            try:
                if status_of(f"http://127.0.0.1:{port}/admin/login/") == 200:
                    break
            except OSError:
                time.sleep(0.5)
        assert status_of(f"http://127.0.0.1:{port}/admin/login/") == 200
        assert status_of(f"http://127.0.0.1:{port}/api/v1/accounts/") == 401
        # The demonstration quarter is there, with the figures Cango published.
        token = subprocess.run(
            [sys.executable, "manage.py", "api_token", "auditor"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        report = get_json(
            f"http://127.0.0.1:{port}/api/v1/reports/production/?start=2025-10-01&end=2025-12-31",
            token,
        )
        rows = report["results"] if isinstance(report, dict) else report
        assert [(r["mined"], r["held_at_month_end"]) for r in rows] == [
            ("602.60000000", "6412.60000000"),
            ("546.70000000", "6959.30000000"),
            ("569.00000000", "7528.30000000"),
        ]
        # And the treasury of 2026: the loan, the sale of 4,451 BTC and the repayment.
        api = f"http://127.0.0.1:{port}/api/v1"
        [loan] = get_json(f"{api}/loans/?as_of=2026-02-28", token)["results"]
        assert loan["code"] == "LOAN-2025-BTC" and loan["status"]["tier"] == "ok"
        sale = get_json(f"{api}/sales/?reference=OTC-2026-02-001", token)["results"]
        assert [(s["units"], s["gross_proceeds"]) for s in sale] == [
            ("4451.00000000", "305000000.000000")
        ]
        events = get_json(f"{api}/loans/LOAN-2025-BTC/events/?kind=repayment", token)["results"]
        assert [(e["effective_date"], e["amount"]) for e in events] == [
            ("2026-02-12", "304847500.000000")
        ]
        # Everything runs as the application's role; the tables are the owner's.
        socket_dir = (data_dir / "postgres" / "postmaster.pid").read_text().split("\n")[4]
        with psycopg.connect(host=socket_dir, user="postgres", dbname="cango_treasury") as conn:
            users = conn.execute(
                "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ).fetchall()
            owners = conn.execute(
                "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class "
                "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'S')"
            ).fetchall()
        assert users == [("cango_app",)]
        assert owners == [("postgres",)]
        children = psutil.Process(launcher.pid).children(recursive=True)
        names = " ".join(" ".join(child.cmdline()) for child in children)
        assert "gunicorn" in names and "worker" in names and "beat" in names
    finally:
        launcher.send_signal(signal.SIGINT)
        try:
            launcher.wait(timeout=60)
        except subprocess.TimeoutExpired:
            launcher.kill()
            raise
    assert launcher.returncode == 0
    for child in children:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    # The embedded database of that data directory is stopped too (on a busy machine its
    # shutdown may end a moment after the launcher's).
    pid_file = data_dir / "postgres" / "postmaster.pid"
    for _ in range(60):
        if not pid_file.exists():
            break
        time.sleep(0.5)
    assert not pid_file.exists()
