"""`make bench`: the project against django-hordak on the same server and the same workload.

Each side runs as a subprocess in its own virtualenv (hordak 2.0.0 needs Django 5.0, the
project 5.2) against a fresh database on one PostgreSQL server: the embedded one under
.data/bench-postgres, or the server DATABASE_URL names. The project runs first, then hordak;
the figures go side by side to bench/results/latest.json and a table on stdout.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import limits
import psycopg
import workload as w
from psycopg import sql

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
HORDAK_VENV = BENCH / ".venv"
HORDAK_PYTHON = HORDAK_VENV / "bin" / "python"
HORDAK_REQUIREMENTS = BENCH / "requirements-hordak.txt"
RESULTS = BENCH / "results" / "latest.json"
DATABASES = {"project": "bench_project", "hordak": "bench_hordak"}
LIMITS_DATABASE = "bench_limits"

# Name -> (unit, whether a bigger number is better). A figure only one side measures leaves
# the other side and the ratio null.
FIGURES: dict[str, tuple[str, bool]] = {
    "single_entry_posting": ("entries/s", True),
    "batch_posting": ("postings/s", True),
    "balance_as_of": ("ms", False),
    "trial_balance": ("ms", False),
    "production_import": ("s", False),
}

# Each write figure against PostgreSQL's own limit (bench/limits.py), measured in the same
# run on the same server: (limit, how many of the limit's rows one unit of the figure is).
# The production import writes six rows per earning: an entry, two postings, a production
# record, a lot and its movement.
PRODUCTION_ROWS_PER_EARNING = 6
PRODUCTION_EARNINGS = w.POOL_ACCOUNTS * w.PRODUCTION_DAYS
WRITE_LIMITS: dict[str, str] = {
    "single_entry_posting": "commits_per_s",
    "batch_posting": "copy_rows_per_s",
    "production_import": "copy_rows_per_s",
}

# A limit a side measures itself right beside the figure (the commit rate moves with the
# machine's other work from one minute to the next): the better of its two measurements.
BESIDE = {"single_entry_posting": "commits_per_s_beside_single_entry"}

# The targets (QUALITY.md), each checked on the figures of one run.
TARGETS: list[tuple[str, str, float]] = [
    # (figure, "hordak" or "limit", at least this many times hordak / this share of the limit)
    ("single_entry_posting", "hordak", 2.0),
    ("single_entry_posting", "limit", 0.5),
    ("batch_posting", "hordak", 10.0),
    ("batch_posting", "limit", 1 / 3),
    ("production_import", "hordak", 5.0),
    # Under 1.5 s where raw COPY does 300,000 rows/s: 109,500 rows at 73,000 rows/s.
    ("production_import", "limit", PRODUCTION_ROWS_PER_EARNING * PRODUCTION_EARNINGS / 450_000),
]


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def ensure_hordak_venv() -> None:
    """Create bench/.venv with hordak, again whenever its requirements change."""
    stamp = HORDAK_VENV / ".installed"
    wanted = HORDAK_REQUIREMENTS.read_text()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    log("installing django-hordak into bench/.venv")
    if not HORDAK_PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(HORDAK_VENV)], check=True)
    pip = [str(HORDAK_PYTHON), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-r", str(HORDAK_REQUIREMENTS)], check=True)
    stamp.write_text(wanted)


def data_dir() -> Path:
    return Path(os.environ.get("CANGO_DATA_DIR", ROOT / ".data"))


def hold_bench_lock() -> Any:
    """One benchmark at a time: a second run would drop the first one's databases and, in
    any case, share its CPUs. The lock lasts as long as the returned file stays open."""
    path = data_dir() / "bench.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip()
        raise SystemExit(f"bench: another benchmark is running (pid {holder})") from None
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()
    return lock


def start_server() -> tuple[str, Any]:
    """A URL of the server to run on, and the embedded server's handle (None if external).

    The handle must stay referenced: pgserver stops the server when its last user exits.
    """
    url = os.environ.get("DATABASE_URL", "")
    if url:
        return url, None
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset, which is normal on servers.
        warnings.simplefilter("ignore")
        import pgserver

        pgdata = data_dir() / "bench-postgres"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgresql://postgres@/postgres?host={socket_dir}", server


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def drop_database(server_url: str, name: str) -> None:
    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(statement)


def recreate_database(server_url: str, name: str) -> None:
    drop_database(server_url, name)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def server_version(server_url: str) -> str:
    with psycopg.connect(server_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def run_side(side: str, server_url: str, legs: int) -> dict[str, Any]:
    url = with_database(server_url, DATABASES[side])
    if side == "project":
        python = sys.executable
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "cango_treasury.settings",
        }
        migrate = [python, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"]
    else:
        python = str(HORDAK_PYTHON)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DJANGO_SETTINGS_MODULE": "hordak_site.settings",
            "PYTHONPATH": str(BENCH),
        }
        migrate = [python, "-m", "django", "migrate", "--noinput", "-v", "0"]
    recreate_database(server_url, DATABASES[side])
    log(f"{side}: migrating {DATABASES[side]}")
    subprocess.run(migrate, cwd=ROOT, env=env, check=True)
    start = time.perf_counter()
    script = str(BENCH / f"{side}_workload.py")
    output = subprocess.run(
        [python, script, "--legs", str(legs)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    log(f"{side}: done in {time.perf_counter() - start:.0f} s")
    result: dict[str, Any] = json.loads(output)
    return result


def project_revision() -> str:
    """The commit the project side ran, marked when its tracked code had local changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        changed = git(
            "status", "--porcelain", "--untracked-files=no", "ledger", "holdings", "cango_treasury"
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} (uncommitted changes)" if changed else head


def limit_share(name: str, value: float | None, limit: float | None) -> float | None:
    """A write figure as a share of its limit: rows (or commits) per second over the
    limit's. The production import (seconds) counts its rows."""
    if value is None or not limit:
        return None
    if name == "production_import":
        value = PRODUCTION_EARNINGS * PRODUCTION_ROWS_PER_EARNING / value
    elif name == "batch_posting":
        pass  # postings/s against COPY rows/s: a posting is a row
    return value / limit


def without_rules(
    name: str, free: float, hordak: float | None, limit: float | None, bigger_is_better: bool
) -> dict[str, Any]:
    """The project's write with PostgreSQL's rules off for its session (its triggers and
    foreign keys: bench/project_workload.py), against hordak and the same limit."""
    ratio = None
    if hordak:
        ratio = round(free / hordak if bigger_is_better else hordak / free, 2)
    share = limit_share(name, free, limit)
    return {
        "project_without_rules": round(free, 3),
        "without_rules_ratio": ratio,
        "without_rules_of_limit": None if share is None else round(share, 3),
    }


def combine(
    legs: int, sides: dict[str, dict[str, Any]], limits_found: dict[str, float]
) -> dict[str, Any]:
    figures: dict[str, dict[str, Any]] = {}
    for name, (unit, bigger_is_better) in FIGURES.items():
        project = sides.get("project", {}).get("figures", {}).get(name)
        hordak = sides.get("hordak", {}).get("figures", {}).get(name)
        ratio = None
        if project and hordak:
            # How many times better the project is, whichever way "better" points.
            ratio = round(project / hordak if bigger_is_better else hordak / project, 2)
        figures[name] = {
            "project": None if project is None else round(project, 3),
            "hordak": None if hordak is None else round(hordak, 3),
            "unit": unit,
            "ratio": ratio,
        }
        if name in WRITE_LIMITS:
            limit_name = WRITE_LIMITS[name]
            figures[name]["limit"] = limit_name
            limits_used = {}
            for side, value in (("project", project), ("hordak", hordak)):
                limit = limits_found.get(limit_name)
                beside = sides.get(side, {}).get("info", {}).get(BESIDE.get(name, ""))
                if beside:
                    # Measured by the side itself right before and after this figure.
                    limit = max(beside)
                    figures[name][f"{side}_limit"] = round(limit, 1)
                limits_used[side] = limit
                share = limit_share(name, value, limit)
                figures[name][f"{side}_of_limit"] = None if share is None else round(share, 3)
            free = sides.get("project", {}).get("info", {}).get("without_rules", {}).get(name)
            if free:
                figures[name].update(
                    without_rules(name, free, hordak, limits_used["project"], bigger_is_better)
                )
    targets = []
    for name, against, wanted in TARGETS:
        figure = figures[name]
        found = figure["ratio"] if against == "hordak" else figure.get("project_of_limit")
        free = figure.get(
            "without_rules_ratio" if against == "hordak" else "without_rules_of_limit"
        )
        targets.append(
            {
                "figure": name,
                "against": against if against == "hordak" else figure["limit"],
                "at_least": round(wanted, 3),
                "found": found,
                "met": None if found is None else found >= wanted,
                "found_without_rules": free,
            }
        )
    return {
        "legs": legs,
        "limits": {name: round(value, 1) for name, value in limits_found.items()},
        "figures": figures,
        "targets": targets,
    }


def measure_limits(server_url: str, when: str) -> dict[str, float]:
    recreate_database(server_url, LIMITS_DATABASE)
    try:
        found = limits.measure(with_database(server_url, LIMITS_DATABASE))
    finally:
        drop_database(server_url, LIMITS_DATABASE)
    log(
        f"limits ({when}): COPY {found['copy_rows_per_s']:,.0f} rows/s, "
        f"INSERT + COMMIT {found['commits_per_s']:,.0f} commits/s"
    )
    return found


def same_workload(sides: dict[str, dict[str, Any]]) -> bool | None:
    """Both sides hold the same journal if the busiest account's balances agree, and
    imported the same production if its income agrees."""
    if len(sides) < 2:
        return None
    return all(
        len({side["info"].get(key) for side in sides.values()}) == 1
        for key in ("busiest_balance_usd", "production_income_usd")
    )


def number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def table(results: dict[str, Any]) -> str:
    info = results["info"]
    versus = f"django-hordak {info['hordak_version']}" if info["hordak_version"] else "nothing"
    found = results["limits"]
    rows = [
        f"cango-treasury vs {versus}: {results['legs']:,} postings, "
        f"PostgreSQL {info['postgresql']}",
        f"PostgreSQL's limits on this server, this run: COPY "
        f"{number(found.get('copy_rows_per_s'))} rows/s; one-row INSERT + COMMIT "
        f"{number(found.get('commits_per_s'))} commits/s",
        f"{'figure':<22} {'unit':<11} {'project':>12} {'hordak':>12} {'ratio':>9} "
        f"{'of limit':>9} {'hordak of limit':>16}",
    ]
    for name, figure in results["figures"].items():
        ratio = "-" if figure["ratio"] is None else f"{figure['ratio']:,.1f}x"
        share, hordak_share = (
            "-" if figure.get(key) is None else f"{figure[key]:.0%}"
            for key in ("project_of_limit", "hordak_of_limit")
        )
        rows.append(
            f"{name:<22} {figure['unit']:<11} {number(figure['project']):>12} "
            f"{number(figure['hordak']):>12} {ratio:>9} {share:>9} {hordak_share:>16}"
        )
    fill = info["fill_seconds"]
    rows.append(
        f"{'fill (info)':<22} {'s':<11} {number(fill.get('project')):>12} "
        f"{number(fill.get('hordak')):>12}"
    )
    rows.append(
        "ratio: how many times better the project is (higher is better); of limit: rows or "
        "commits per second as a share of PostgreSQL's own (the production import counts "
        f"{PRODUCTION_ROWS_PER_EARNING} rows per earning)"
    )
    for target in results["targets"]:
        met = {True: "met", False: "NOT met", None: "-"}[target["met"]]
        wanted = (
            f"{target['at_least']:g}x hordak"
            if target["against"] == "hordak"
            else f"{target['at_least']:.0%} of {target['against']}"
        )
        found_text = "-" if target["found"] is None else f"{target['found']:.2f}"
        free = target.get("found_without_rules")
        free_text = "" if free is None else f"; with the rules off {free:.2f}"
        rows.append(
            f"target {target['figure']}: at least {wanted}: {found_text} ({met}){free_text}"
        )
    if info["same_workload"] is False:
        rows.append(
            "WARNING: the two journals differ (busiest balances or production income disagree)"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--legs", type=int, default=1_000_000, help="postings in the journal (default 1,000,000)"
    )
    parser.add_argument(
        "--only", choices=sorted(DATABASES), help="run one side only (ratios stay empty)"
    )
    parser.add_argument(
        "--keep-databases", action="store_true", help="leave bench_project/bench_hordak behind"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    _lock = hold_bench_lock()
    started = time.perf_counter()
    revision = project_revision()
    side_names = [args.only] if args.only else ["project", "hordak"]
    if "hordak" in side_names:
        ensure_hordak_venv()
    server_url, _server = start_server()
    sides: dict[str, dict[str, Any]] = {}
    # The limits before, between and after the two sides: the best of each is the limit
    # (the machine is shared; a limit measured low would flatter the figures against it).
    measured = [measure_limits(server_url, "before")]
    try:
        for n, side in enumerate(side_names):
            if n:
                measured.append(measure_limits(server_url, "between"))
            sides[side] = run_side(side, server_url, args.legs)
    finally:
        if not args.keep_databases:
            for side in side_names:
                drop_database(server_url, DATABASES[side])
    measured.append(measure_limits(server_url, "after"))
    limits_found = {name: max(m[name] for m in measured) for name in measured[0]}

    results = combine(args.legs, sides, limits_found)
    results["info"] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "postgresql": server_version(server_url),
        "server": "external (DATABASE_URL)" if os.environ.get("DATABASE_URL") else "embedded",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "project_revision": revision,
        "hordak_version": sides.get("hordak", {}).get("info", {}).get("version"),
        "same_workload": same_workload(sides),
        "fill_seconds": {
            side: round(result["info"]["fill_seconds"], 1) for side, result in sides.items()
        },
        "total_seconds": round(time.perf_counter() - started, 1),
        "limits_measured": [{k: round(v, 1) for k, v in m.items()} for m in measured],
        **{side: result["info"] for side, result in sides.items()},
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    log(f"results written to {args.output}")


if __name__ == "__main__":
    main()
