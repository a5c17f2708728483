"""`make bench-reports`: the reports over a world ten times the demonstration's.

Builds, on the embedded PostgreSQL under .data/bench-postgres (or the server DATABASE_URL
names), a fresh database `bench_reports` holding ACCOUNTS pool accounts (440: ten times the
demonstration's 44) over YEARS years (5) of daily earnings, weekly payouts and month-end
sales, all through the product's services, and a journal filled to POSTINGS postings
(10,000,000); then times every report over it (bench/reports_workload.py) and writes
bench/results/reports.json with the revision and a table on stdout. Targets (QUALITY.md):
every report's p95 under 300 ms, the beancount export at least 20 MB/s in memory that does
not grow with the journal, and no paginated list whose query count grows with its page.

The world takes a while to build (about twenty minutes on two cores at full size);
`--reuse` times the reports again over the world a previous run left, once migrated to
the current revision.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from run import (
    ROOT,
    hold_bench_lock,
    log,
    project_revision,
    recreate_database,
    server_version,
    start_server,
    with_database,
)

DATABASE = "bench_reports"
RESULTS = ROOT / "bench" / "results" / "reports.json"
WORKLOAD = ROOT / "bench" / "reports_workload.py"
P95_MS, EXPORT_MB_PER_S = 300, 20


def workload(step: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "cango_treasury.settings"}
    command = [sys.executable, str(WORKLOAD), step]
    command += ["--accounts", str(args.accounts), "--years", str(args.years)]
    command += ["--postings", str(args.postings)]
    output = subprocess.run(
        command, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    result: dict[str, Any] = json.loads(output)
    return result


def world_exists(server_url: str) -> bool:
    with psycopg.connect(server_url, autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
    return row is not None


def targets(figures: dict[str, Any]) -> list[dict[str, Any]]:
    checks = []
    for name, figure in figures.items():
        if "p95_ms" in figure:
            checks.append(
                {"figure": name, "p95_ms_below": P95_MS, "met": figure["p95_ms"] < P95_MS}
            )
        if "queries_for_page_of_10_and_100" in figure:
            small, large = figure["queries_for_page_of_10_and_100"]
            checks.append({"figure": name, "queries_constant": True, "met": small == large})
    export = figures["beancount export (whole journal)"]
    checks.append(
        {
            "figure": "beancount export (whole journal)",
            "mb_per_s_at_least": EXPORT_MB_PER_S,
            "met": export["mb_per_s"] >= EXPORT_MB_PER_S,
        }
    )
    return checks


def table(result: dict[str, Any]) -> str:
    world = result["info"]["world"]
    rows = [
        f"reports over {world['ledger_posting']:,} postings, {world['holdings_lot']:,} lots, "
        f"{world['holdings_disposal']:,} disposals (PostgreSQL {result['info']['postgresql']})",
        f"{'report':40} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'KiB':>8}",
    ]
    for name, figure in result["figures"].items():
        if "p95_ms" in figure:
            rows.append(
                f"{name:40} {figure['p50_ms']:>8} {figure['p95_ms']:>8} {figure['queries']:>8} "
                f"{figure['bytes'] // 1024:>8}"
            )
    night = result["figures"]["internal reconciliation (one night)"]
    rows.append(f"{'internal reconciliation (one night)':40} {night['ms']:>8} ms")
    export = result["figures"]["beancount export (whole journal)"]
    rows.append(
        f"beancount export: {export['bytes'] / 1e6:,.0f} MB in {export['seconds']} s "
        f"({export['mb_per_s']} MB/s), resident memory {export['rss_before_mb']} MB before, "
        f"{export['rss_peak_mb']} MB at most"
    )
    for check in result["targets"]:
        if not check["met"]:
            rows.append(f"target NOT met: {check}")
    met = sum(check["met"] for check in result["targets"])
    rows.append(f"targets met: {met} of {len(result['targets'])}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=440)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--postings", type=int, default=10_000_000)
    parser.add_argument("--reuse", action="store_true", help="time the world left by a run")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    _lock = hold_bench_lock()
    started = time.perf_counter()
    server_url, _server = start_server()
    url = with_database(server_url, DATABASE)
    info: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "project_revision": project_revision(),
        "postgresql": server_version(server_url),
        "machine": {"cpus": os.cpu_count()},
        "accounts": args.accounts,
        "years": args.years,
    }
    build = not (args.reuse and world_exists(server_url))
    if build:
        recreate_database(server_url, DATABASE)
    # A world left by an earlier revision is upgraded first, as a deployed ledger would be.
    log(f"reports: migrating {DATABASE}")
    migrating = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
    )
    if not build:
        info["migrate_seconds"] = round(time.perf_counter() - migrating, 1)
    if build:
        info.update(workload("build", url, args)["info"])
    timed = workload("time", url, args)
    info.update(timed["info"])
    info["total_seconds"] = round(time.perf_counter() - started, 1)
    result = {"figures": timed["figures"], "info": info}
    result["targets"] = targets(result["figures"])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    log(f"results written to {args.output}")


if __name__ == "__main__":
    main()
