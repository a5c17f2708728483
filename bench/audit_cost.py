"""What the audit triggers cost the production import (README: The audit log).

    .venv/bin/python bench/audit_cost.py [--rounds 3]

In a scratch database (`test_audit_cost`, dropped at the end), imports the benchmark's year of
daily earnings for 50 pool accounts again and again, switching between: no audit triggers
(`off`), the triggers as shipped (`shipped`), with the lots' openings logged too (`lots`),
and with every insert-only table logged too (`all`: postings, production records, payouts,
lot movements). Rounds interleave the modes so that a busy machine slows them alike. Reports
the import's wall and CPU time (this process and its database backend) and the time spent
inside the audit trigger function (pg_stat_user_functions), the steadiest of the three.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cango_treasury.settings")
os.environ["DATABASE_TEST_NAME"] = "test_audit_cost"

import django  # noqa: E402

django.setup()

import psutil  # noqa: E402
import workload as w  # noqa: E402
from django.db import connection  # noqa: E402

from holdings.importers.generic_csv import EARNINGS_HEADER  # noqa: E402
from holdings.importers.records import PriceQuote  # noqa: E402
from holdings.services import prices, production, setup  # noqa: E402
from ledger.services import chart_load  # noqa: E402

MODES = ("off", "shipped", "lots", "all")
EXTRA = ("ledger_posting", "holdings_productionrecord", "holdings_payout", "holdings_lotmovement")


def sql(statement: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


def audit_triggers() -> list[tuple[str, str]]:
    return sql(
        "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE t.tgname LIKE %s AND NOT t.tgisinternal",
        ["%\\_audit\\_%"],
    )


def switch(mode: str) -> None:
    for table, trigger in audit_triggers():
        extra = table in EXTRA or trigger == "holdings_lot_audit_insert"
        on = mode != "off" and (
            not extra or mode == "all" or (mode == "lots" and table == "holdings_lot")
        )
        sql(f"ALTER TABLE {table} {'ENABLE' if on else 'DISABLE'} TRIGGER {trigger}")


def import_year(tag: str, pool: object, years: list) -> tuple[float, float, float]:
    files = []
    for n, year in enumerate(years):
        code = f"{tag}-{n:02d}"
        setup.pool_account_create(code=code, pool=pool, name=code, source="csv")
        rows = [f"{e.day},{code},{e.gross},{e.fee},{e.net},{e.hashrate_hs}," for e in year]
        files.append((code, ("\n".join([EARNINGS_HEADER, *rows]) + "\n").encode()))
    backend = psutil.Process(sql("SELECT pg_backend_pid()")[0][0])
    sql("SET track_functions = 'pl'")
    sql("SELECT pg_stat_reset_single_function_counters('ledger_audit_rows'::regproc)")

    def cpu() -> float:
        times = backend.cpu_times()
        return time.process_time() + times.user + times.system

    cpu_start, start = cpu(), time.perf_counter()
    batches = [
        production.import_batch_create(
            source="csv", file_name=f"{code}.csv", content=content, pool_account=code
        )
        for code, content in files
    ]
    for batch in batches:
        production.import_batch_run(batch_id=batch.pk)
    wall, used = time.perf_counter() - start, cpu() - cpu_start
    sql("SELECT pg_stat_force_next_flush()")
    (in_trigger,) = sql(
        "SELECT coalesce(sum(total_time), 0) FROM pg_stat_user_functions "
        "WHERE funcname = 'ledger_audit_rows'"
    )[0]
    return wall, used, float(in_trigger) / 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        with (ROOT / "fixtures" / "chart_of_accounts.csv").open(newline="") as handle:
            chart_load(rows=list(csv.DictReader(handle)))
        pool = setup.pool_create(code="audit-cost", name="Audit cost", kind="other")
        quotes = [
            PriceQuote(w.price_timestamp(day), "BTC", "USD", price, "bench", row)
            for row, (day, price) in enumerate(w.production_prices().items(), start=2)
        ]
        prices.prices_import(quotes=quotes, file_name="prices")
        years = w.production_by_account(w.production_earnings())
        for table in EXTRA:
            sql("SELECT ledger_audit_attach(%s)", [table])
        sql("SELECT ledger_audit_attach('holdings_lot', events => '{insert}')")
        results: dict[str, list[tuple[float, float, float]]] = {mode: [] for mode in MODES}
        for n in range(rounds):
            for m, mode in enumerate(MODES):
                switch(mode)
                figures = import_year(f"R{n}M{m}", pool, years)
                results[mode].append(figures)
                print(
                    f"round {n} {mode:8} wall {figures[0]:6.2f} s  cpu {figures[1]:6.2f} s  "
                    f"in the audit trigger {figures[2]:5.2f} s",
                    flush=True,
                )
        print(
            f"\nmedians over {rounds} rounds of {w.POOL_ACCOUNTS} files, "
            f"{sum(len(y) for y in years)} earnings each:"
        )
        for mode, runs in results.items():
            wall, used, trigger = (statistics.median(column) for column in zip(*runs, strict=True))
            print(
                f"  {mode:8} wall {wall:6.2f} s  cpu {used:6.2f} s  in the trigger {trigger:5.2f} s"
            )
    finally:
        connection.creation.destroy_test_db("test_audit_cost", verbosity=0)


if __name__ == "__main__":
    main()
