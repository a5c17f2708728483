"""The project's half of `make bench-reports`: a world built through the product's own
services, then every report timed over it.

Run by bench/reports.py in the project's virtualenv with DATABASE_URL naming a migrated
database. `build` writes the world: the seed chart, a pool with ACCOUNTS pool accounts (one
wallet for every ten), a day-end BTC price for every day of YEARS years, each pool account's
daily earnings (a generic CSV file per account and year, imported as the Celery task
imports it: entry, production record, lot), its weekly payouts into its wallet (a file per
account and year: the lots move), a sale of half of each wallet at every month's end (FIFO
disposals), then journal entries between two USD accounts until the journal holds POSTINGS
postings (bulk SQL; the triggers check and roll up each one). `time` times every report
over it, in process through the API as an auditor pulls them (Django's test client: the
views, serializers and queries, no HTTP server), and prints {"figures": ..., "info": ...}
as JSON on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import statistics
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any

# Runnable from any directory: the project's packages sit one level up.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cango_treasury.settings")

import django

django.setup()

import bech32m  # noqa: E402
import psutil  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from holdings.importers.generic_csv import EARNINGS_HEADER, PAYOUTS_HEADER  # noqa: E402
from holdings.importers.records import PriceQuote  # noqa: E402
from holdings.models import BatchStatus, Wallet  # noqa: E402
from holdings.selectors.prices import price_timestamp  # noqa: E402
from holdings.services import prices, production, reconciliation, setup, treasury  # noqa: E402
from ledger.roles import AUDITOR, FINANCE_STAFF  # noqa: E402
from ledger.selectors import account_balance  # noqa: E402
from ledger.services import chart_load  # noqa: E402

CHART = Path(__file__).resolve().parent.parent / "fixtures" / "chart_of_accounts.csv"
API = "/api/v1"
FIRST_DAY = date(2021, 1, 1)
ACCOUNTS_PER_WALLET = 10
CALLS = 20  # each report, for its p50 and p95
FILL_CHUNK = 250_000  # entries per fill transaction
SATS = Decimal("0.00000001")


def log(message: str) -> None:
    print(f"reports: {message}", file=sys.stderr, flush=True)


def days(years: int) -> list[date]:
    last = date(FIRST_DAY.year + years - 1, 12, 31)
    return [FIRST_DAY + timedelta(n) for n in range((last - FIRST_DAY).days + 1)]


def price_of(day: date) -> Decimal:
    """A day-end BTC price in USD: a drift from 30,000 to about 100,000 with daily noise."""
    rng = random.Random(day.toordinal())
    trend = 30_000 + 14_000 * (day - FIRST_DAY).days / 365
    return Decimal(int(trend * rng.uniform(0.93, 1.07) * 100)).scaleb(-2)


def address(n: int) -> str:
    return str(bech32m.encode("bc", 0, hashlib.sha256(f"wallet {n}".encode()).digest()[:20]))


def txid(*parts: object) -> str:
    return hashlib.sha256(" ".join(map(str, parts)).encode()).hexdigest()


# --- the world -----------------------------------------------------------------------------


def build(accounts: int, years: int, postings: int) -> dict[str, Any]:
    started = time.perf_counter()
    calendar = days(years)
    with CHART.open(newline="") as handle:
        chart_load(rows=list(csv.DictReader(handle)), source=CHART.name)
    pool = setup.pool_create(code="bench-pool", name="Bench pool", kind="other")
    wallets = [
        setup.wallet_create(code=f"W{n:03d}", name=f"Site wallet {n}", addresses=[address(n)])
        for n in range((accounts + ACCOUNTS_PER_WALLET - 1) // ACCOUNTS_PER_WALLET)
    ]
    codes = [f"POOL-{n + 1:03d}" for n in range(accounts)]
    for code in codes:
        setup.pool_account_create(code=code, pool=pool, name=code.lower(), source="csv")
    # Each day valued at the price the product's policy looks for.
    quotes = [
        PriceQuote(price_timestamp(day), "BTC", "USD", price_of(day), "bench-close", row)
        for row, day in enumerate(calendar, start=2)
    ]
    prices.prices_import(quotes=quotes, file_name="bench prices")
    log(f"set-up: {accounts} pool accounts, {len(wallets)} wallets, {len(quotes)} prices")

    for year in sorted({day.year for day in calendar}):
        year_days = [day for day in calendar if day.year == year]
        for n, code in enumerate(codes):
            earnings, payouts = _account_year(code, n, year_days, address(n // ACCOUNTS_PER_WALLET))
            _import(f"{code}-{year}-earnings.csv", earnings, code)
            _import(f"{code}-{year}-payouts.csv", payouts, code)
        log(f"{year}: earnings and payouts imported ({time.perf_counter() - started:.0f} s)")
        _sales(wallets, year_days)
        log(f"{year}: month-end sales recorded ({time.perf_counter() - started:.0f} s)")

    written = _count_postings()
    fill = max(0, postings - written) // 2
    _fill(fill, calendar)
    log(f"journal filled with {fill} entries ({time.perf_counter() - started:.0f} s)")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {"build_seconds": round(time.perf_counter() - started, 1)}


def _account_year(
    code: str, n: int, year_days: list[date], to_address: str
) -> tuple[list[str], list[str]]:
    """A pool account's year: a row of earnings a day, and a payout of each full week's net
    on the day after it."""
    rng = random.Random(f"{code}-{year_days[0].year}")
    petahashes = 20 + n % 60
    earnings = [EARNINGS_HEADER]
    payouts = [PAYOUTS_HEADER]
    week: list[Decimal] = []
    for day in year_days:
        gross = petahashes * rng.randint(40_000, 60_000)
        fee = gross * 25 // 1000
        net = Decimal(gross - fee) * SATS
        earnings.append(
            f"{day},{code},{Decimal(gross) * SATS},{Decimal(fee) * SATS},{net},"
            f"{petahashes * 10**15},"
        )
        week.append(net)
        if len(week) == 7:
            paid = datetime.combine(day + timedelta(1), clock(2), tzinfo=UTC)
            payouts.append(f"{paid.isoformat()},{code},{txid(code, day)},{to_address},{sum(week)},")
            week = []
    return earnings, payouts


def _import(file_name: str, lines: list[str], code: str) -> None:
    batch = production.import_batch_create(
        source="csv",
        file_name=file_name,
        content=("\n".join(lines) + "\n").encode(),
        pool_account=code,
    )
    done = production.import_batch_run(batch_id=batch.pk)
    if done.status != BatchStatus.SUCCEEDED:
        raise SystemExit(f"reports: {file_name} failed: {done.errors[:2]}")


def _sales(wallets: list[Wallet], year_days: list[date]) -> None:
    """Half of each wallet sold at the close of every month's last day."""
    month_ends = [day for day in year_days if (day + timedelta(1)).day == 1]
    for day in month_ends:
        price = price_of(day)
        for wallet in wallets:
            held = account_balance(account=wallet.account_id, as_of=day).quantity
            units = (held / 2).quantize(SATS)
            if units <= 0:
                continue
            treasury.sale_record(
                reference=f"{wallet.code}-{day}",
                wallet=wallet,
                units=units,
                sold_at=datetime.combine(day, clock(23, 0), tzinfo=UTC),
                proceeds_commodity="USD",
                gross_proceeds=(units * price).quantize(Decimal("0.01")),
            )


def _count_postings() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_posting")
        return int(cursor.fetchone()[0])


_FILL = """
    WITH rows AS (
        SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id')) AS id,
               %(first)s::date + (random() * %(span)s)::int AS day,
               round((1 + random() * 100000)::numeric, 2) AS value
          FROM generate_series(1, %(count)s)
    ), entries AS (
        INSERT INTO ledger_journalentry
            (id, effective_date, memo, kind, status, payload_hash, created_at)
        SELECT id, day, 'Power invoice accrued', 'bench_fill', 'posted', '', now() FROM rows
    )
    INSERT INTO ledger_posting
        (entry_id, account_id, commodity_id, scale, effective_date, quantity, value)
    SELECT id, %(expense)s, 'USD', 2, day, value, value FROM rows
    UNION ALL
    SELECT id, %(accrued)s, 'USD', 2, day, -value, -value FROM rows
"""


def _fill(entries: int, calendar: list[date]) -> None:
    """Entries between two USD accounts, written with their postings in one statement each
    chunk (the entries' trigger looks for them), through every rule and roll-up."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM ledger_account WHERE code IN ('5000', '2200') ORDER BY code")
        accrued, expense = (row[0] for row in cursor.fetchall())
        cursor.execute("SELECT setseed(0.5)")
        while entries > 0:
            count = min(entries, FILL_CHUNK)
            with transaction.atomic():
                cursor.execute(
                    _FILL,
                    {
                        "first": calendar[0],
                        "span": len(calendar) - 1,
                        "count": count,
                        "expense": expense,
                        "accrued": accrued,
                    },
                )
            entries -= count


# --- the reports ---------------------------------------------------------------------------


def _users() -> tuple[User, User]:
    auditor, _ = User.objects.get_or_create(username="bench-auditor")
    auditor.groups.add(Group.objects.get(name=AUDITOR))
    staff, _ = User.objects.get_or_create(username="bench-staff", defaults={"is_staff": True})
    staff.groups.add(Group.objects.get(name=FINANCE_STAFF))
    return auditor, staff


def _timed(client: Client, path: str) -> tuple[list[float], int, int]:
    """Milliseconds of each of CALLS requests (after one to warm up), the queries of one,
    and the size of its answer."""
    response = client.get(path)
    if response.status_code != 200:
        answer = response.content[:300]
        raise SystemExit(f"reports: {path} answered {response.status_code}: {answer!r}")
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    # Counted now: the captured queries are read from the connection's log, which the
    # requests below reset.
    queries = len(captured)
    timings = []
    for _ in range(CALLS):
        start = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - start) * 1000)
    return timings, queries, len(response.content)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report_requests(years: int, lot_account: str) -> dict[str, str]:
    last = date(FIRST_DAY.year + years - 1, 12, 31)
    year_start = date(last.year, 1, 1)
    middle = FIRST_DAY + (last - FIRST_DAY) / 2
    month = date(last.year, 6, 1)
    return {
        "trial balance": f"{API}/reports/trial-balance/?as_of={middle}",
        "balance sheet": f"{API}/reports/balance-sheet/?as_of={last}",
        "income statement (a year)": f"{API}/reports/income-statement/?start={year_start}"
        f"&end={last}",
        "account detail (a month)": f"{API}/reports/account-detail/?account=1300&start={month}"
        f"&end={month + timedelta(29)}",
        "lots as of a date": f"{API}/lots/?as_of={middle}&account={lot_account}",
        "realized gains (a year)": f"{API}/reports/realized-gains/?start={year_start}&end={last}"
        "&commodity=BTC",
        "roll-forward (a year)": f"{API}/reports/rollforward/?commodity=BTC&start={year_start}"
        f"&end={last}",
        f"production report ({years} years)": f"{API}/reports/production/?start={FIRST_DAY}"
        f"&end={last}&commodity=BTC",
        "journal entries (a page of 100)": f"{API}/journal-entries/?page_size=100",
        "dashboard": "/admin/",
    }


PAGED = {
    "lots as of a date": "page_size",
    "realized gains (a year)": "page_size",
    "journal entries (a page of 100)": "page_size",
    "account detail (a month)": "page_size",
}


def time_reports(years: int) -> dict[str, Any]:
    settings.ALLOWED_HOSTS.append("testserver")
    settings.DEBUG = False  # as in production: no query log kept by every cursor
    auditor, staff = _users()
    wallet = Wallet.objects.order_by("code").first()
    assert wallet is not None
    lot_account = wallet.account.code
    reader, admin = Client(), Client()
    reader.force_login(auditor)
    admin.force_login(staff)
    figures: dict[str, Any] = {}
    for name, path in report_requests(years, lot_account).items():
        client = admin if path.startswith("/admin/") else reader
        timings, queries, size = _timed(client, path)
        figure: dict[str, Any] = {
            "path": path,
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(_percentile(timings, 0.95), 1),
            "queries": queries,
            "bytes": size,
        }
        if name in PAGED:
            sep = "&" if "?" in path else "?"
            counts = []
            for page_size in (10, 100):
                with CaptureQueriesContext(connection) as captured:
                    response = client.get(f"{path}{sep}{PAGED[name]}={page_size}")
                assert response.status_code == 200, (path, response.status_code)
                counts.append(len(captured))
            figure["queries_for_page_of_10_and_100"] = counts
        figures[name] = figure
        log(f"{name}: p95 {figure['p95_ms']} ms, {queries} queries")

    last = date(FIRST_DAY.year + years - 1, 12, 31)
    start = time.perf_counter()
    reconciliation.reconcile(as_of=last, kinds=["internal"])
    figures["internal reconciliation (one night)"] = {
        "ms": round((time.perf_counter() - start) * 1000, 1)
    }
    figures["beancount export (whole journal)"] = _export(reader, last)
    return figures


def _export(client: Client, as_of: date) -> dict[str, Any]:
    """The whole journal as beancount, streamed: its rate, and the process's peak resident
    memory over it against the memory before."""
    process = psutil.Process()
    before = process.memory_info().rss
    peak = [before]
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], process.memory_info().rss)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    start = time.perf_counter()
    response = client.get(f"{API}/exports/beancount/?as_of={as_of}")
    assert response.status_code == 200 and response.streaming, response.status_code
    size = sum(len(chunk) for chunk in response.streaming_content)
    seconds = time.perf_counter() - start
    done.set()
    watcher.join()
    return {
        "bytes": size,
        "seconds": round(seconds, 1),
        "mb_per_s": round(size / seconds / 1e6, 1),
        "rss_before_mb": round(before / 1e6),
        "rss_peak_mb": round(peak[0] / 1e6),
    }


def world_info() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in (
            "ledger_posting",
            "ledger_journalentry",
            "holdings_productionrecord",
            "holdings_lot",
            "holdings_lotmovement",
            "holdings_disposal",
            "holdings_payout",
            "holdings_sale",
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table] = int(cursor.fetchone()[0])
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("step", choices=["build", "time"])
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--years", type=int, required=True)
    parser.add_argument("--postings", type=int, required=True)
    args = parser.parse_args()
    if args.step == "build":
        info = build(args.accounts, args.years, args.postings)
        json.dump({"info": info}, sys.stdout)
    else:
        figures = time_reports(args.years)
        json.dump({"figures": figures, "info": {"world": world_info()}}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
