"""`make load`: Locust, headless, against a `make run` instance for a bounded time.

Starts the product as `make run` does (cango_treasury.launch: the web server with its
workers, a Celery worker and beat, the demonstration data and logins) on a free port and its
own embedded PostgreSQL (under .data/load, kept between runs), logs in the demonstration's
auditor, finance staff and finance approver through the API, sets up pool accounts for the
import that runs during the load and imports the day-end prices of the month the load's
sales and pool files are dated in (`manage.py import_prices`), then runs
bench/locustfile.py headless (LOAD_USERS users, LOAD_SECONDS seconds) and writes
p50/p95/p99 per endpoint, the failures and the 5xx to bench/results/load.json and a table on
stdout. The instance is stopped at the end.

Locust runs from its own virtualenv (bench/.load-venv, from bench/requirements-load.txt,
made by `make load`), so the project's environment stays free of it. The API's per-user
throttle is raised for the instance under load: the few demonstration logins stand for many
people, and the run measures latency, not the throttle.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LOCUST = BENCH / ".load-venv" / "bin" / "locust"
RESULTS = BENCH / "results" / "load.json"
PASSWORD = os.environ.get("DEMO_PASSWORD", "treasury-demo")
LOGINS = {"auditor": "auditor", "staff": "finance.staff", "approver": "finance.approver"}
# Targets (QUALITY.md): with 50 concurrent users.
P95_MS, P99_MS = 300, 600
# How a failure names an answer of 500-599: "HTTP 502: ..." (locustfile.checked) or
# Locust's own "HTTPError('502 Server Error: ...')".
SERVER_ERROR = re.compile(r"\bHTTP 5\d\d\b|\b5\d\d Server Error")


# The month after the demonstration's books, which the load's writes are dated in
# (bench/locustfile.py): a day-end price for each of its days, BTC on a seeded walk from the
# books' last close (already recorded, at the month's first midnight), USDT at par.
WRITES_MONTH_START = datetime(2026, 3, 1, tzinfo=UTC)
WRITES_MONTH_DAYS = 31
BOOKS_LAST_CLOSE = Decimal("67180.00")


def log(message: str) -> None:
    print(f"load: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request(
    url: str, *, method: str = "GET", body: dict[str, Any] | None = None, **headers: str
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")


def wait_until_up(base: str, launcher: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if launcher.poll() is not None:
            raise SystemExit(f"load: the instance stopped (exit {launcher.returncode})")
        try:
            status, _ = request(f"{base}/api/v1/")
            if status in (200, 401, 403):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(2)
    raise SystemExit(f"load: the instance did not answer within {timeout:.0f} s")


def login(base: str, username: str) -> str:
    basic = base64.b64encode(f"{username}:{PASSWORD}".encode()).decode()
    status, body = request(
        f"{base}/api/v1/auth/login/", method="POST", Authorization=f"Basic {basic}"
    )
    if status != 201:
        raise SystemExit(f"load: {username} could not log in ({status}): {body}")
    return str(body["token"])


def pool_accounts(base: str, token: str, run: str, count: int) -> list[str]:
    """New pool accounts (generic CSV) for the import under load: a file each."""
    codes = []
    for n in range(count):
        code = f"LOAD-{run}-{n + 1:03d}"
        status, body = request(
            f"{base}/api/v1/pool-accounts/",
            method="POST",
            body={"code": code, "pool": "f2pool", "name": code.lower(), "source": "csv"},
            Authorization=f"Token {token}",
        )
        if status != 201:
            raise SystemExit(f"load: pool account {code} not set up ({status}): {body}")
        codes.append(code)
    return codes


def month_prices(path: Path) -> Path:
    """Write the writes' month of day-end prices as a price CSV; the same file every run."""
    rng = random.Random(202603)
    btc = BOOKS_LAST_CLOSE
    rows = ["timestamp,base,quote,price,source"]
    for n in range(WRITES_MONTH_DAYS + 1):
        if n:
            btc = (btc * (10_000 + rng.randint(-300, 300)) / 10_000).quantize(Decimal("0.01"))
        at = (WRITES_MONTH_START + timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
        rows += [f"{at},BTC,USD,{btc},coinmetrics-close", f"{at},USDT,USD,1.00,coinmetrics-close"]
    path.write_text("\n".join(rows) + "\n")
    return path


def import_prices(env: dict[str, str], path: Path) -> None:
    """Import `path` into the instance's database (the books' last close, already there, is
    skipped as identical)."""
    done = subprocess.run(
        [sys.executable, "manage.py", "import_prices", "--skip-identical", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"load: the month's prices were not imported: {done.stderr.strip()}")
    log(done.stdout.strip())


def read_stats(prefix: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    def number(text: str) -> float | None:
        try:
            return float(text)
        except ValueError:
            return None

    endpoints = []
    with (prefix.parent / f"{prefix.name}_stats.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            endpoints.append(
                {
                    "method": row["Type"],
                    "endpoint": row["Name"],
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "p50_ms": number(row["50%"]),
                    "p95_ms": number(row["95%"]),
                    "p99_ms": number(row["99%"]),
                    "max_ms": number(row["Max Response Time"]),
                    "requests_per_s": round(float(row["Requests/s"]), 2),
                }
            )
    failures = []
    path = prefix.parent / f"{prefix.name}_failures.csv"
    if path.exists():
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                failures.append(
                    {
                        "method": row["Method"],
                        "endpoint": row["Name"],
                        "error": row["Error"],
                        "occurrences": int(row["Occurrences"]),
                    }
                )
    return endpoints, failures


def import_outcome(base: str, token: str, codes: list[str]) -> dict[str, int]:
    outcome: dict[str, int] = {}
    status, body = request(f"{base}/api/v1/imports/?page_size=1000", Authorization=f"Token {token}")
    if status != 200:
        return {"unknown": len(codes)}
    for batch in body["results"]:
        if batch.get("pool_account") in codes:
            outcome[batch["status"]] = outcome.get(batch["status"], 0) + 1
    return outcome


def table(results: dict[str, Any]) -> str:
    rows = [
        f"cango-treasury under load: {results['users']} users for {results['seconds']} s, "
        f"{results['web_workers']} web workers ({results['revision']})",
        f"{'endpoint':<36} {'requests':>9} {'fail':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}",
    ]
    for row in results["endpoints"]:
        name = (
            row["endpoint"]
            if row["endpoint"] == "Aggregated"
            else (f"{row['method']} {row['endpoint']}")
        )
        rows.append(
            f"{name[:36]:<36} {row['requests']:>9,} {row['failures']:>5} "
            f"{row['p50_ms'] or 0:>8.0f} {row['p95_ms'] or 0:>8.0f} {row['p99_ms'] or 0:>8.0f}"
        )
    total = results["total"]
    rows.append(
        f"overall: p95 {total['p95_ms']:.0f} ms (target < {P95_MS}), p99 {total['p99_ms']:.0f} "
        f"ms (target < {P99_MS}), {total['failures']} failures, {results['server_errors']} 5xx; "
        f"pool files imported meanwhile: {results['imports']}"
    )
    for failure in results["failures"][:10]:
        rows.append(
            f"  failure: {failure['method']} {failure['endpoint']}: {failure['error'][:100]} "
            f"x{failure['occurrences']}"
        )
    return "\n".join(rows)


def revision() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not LOCUST.exists():
        raise SystemExit(f"load: {LOCUST} is missing: run `make load`, which installs it")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    run = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    workers = os.environ.get("WEB_WORKERS", "2")
    env = {
        **os.environ,
        "CANGO_DEVELOPMENT": "true",
        "CANGO_DATA_DIR": os.environ.get("LOAD_DATA_DIR", str(ROOT / ".data" / "load")),
        "RUN_PORT": str(port),
        "WEB_WORKERS": workers,
        "API_THROTTLE_USER": "1000000/minute",
    }
    env.pop("DATABASE_URL", None)
    log(f"starting the instance on {base} (demonstration data under {env['CANGO_DATA_DIR']})")
    launcher = subprocess.Popen(
        [sys.executable, "-m", "cango_treasury.launch"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(base, launcher, timeout=900)
        tokens = {role: login(base, username) for role, username in LOGINS.items()}
        files = max(1, args.seconds // 5 + 1)
        codes = pool_accounts(base, tokens["staff"], run, files)
        prefix = Path(os.environ.get("LOAD_CSV_DIR", "/tmp")) / f"cango-load-{run}"
        import_prices(env, month_prices(prefix.parent / f"{prefix.name}-prices.csv"))
        log(f"{args.users} users for {args.seconds} s")
        subprocess.run(
            [
                str(LOCUST),
                "-f",
                str(BENCH / "locustfile.py"),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(args.spawn_rate),
                "--run-time",
                f"{args.seconds}s",
                "--host",
                base,
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            env={
                **os.environ,
                "LOAD_RUN": run,
                "LOAD_POOL_ACCOUNTS": ",".join(codes),
                **{f"LOAD_TOKEN_{role.upper()}": token for role, token in tokens.items()},
            },
            check=False,
            stdout=subprocess.DEVNULL,
        )
        time.sleep(5)  # the last file's import
        imports = import_outcome(base, tokens["auditor"], codes)
    finally:
        launcher.send_signal(signal.SIGINT)
        try:
            launcher.wait(timeout=60)
        except subprocess.TimeoutExpired:
            launcher.kill()

    endpoints, failures = read_stats(prefix)
    total = next(row for row in endpoints if row["endpoint"] == "Aggregated")
    server_errors = sum(f["occurrences"] for f in failures if SERVER_ERROR.search(f["error"]))
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "revision": revision(),
        "users": args.users,
        "seconds": args.seconds,
        "web_workers": int(workers),
        "machine": {"cpus": os.cpu_count()},
        "endpoints": endpoints,
        "total": total,
        "failures": failures,
        "server_errors": server_errors,
        "imports": imports,
        "targets": {
            "p95_ms_below": P95_MS,
            "p99_ms_below": P99_MS,
            # Zero errors: no request failed, and no pool file failed its import (the
            # Celery worker's, which no request sees).
            "met": (total["p95_ms"] or 0) < P95_MS
            and (total["p99_ms"] or 0) < P99_MS
            and total["failures"] == 0
            and not {"failed", "unknown"} & set(imports),
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    log(f"results written to {args.output}")


if __name__ == "__main__":
    main()
