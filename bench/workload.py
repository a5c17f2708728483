"""The benchmark's workload, shared by both sides (standard library only).

bench/project_workload.py (the project's virtualenv) and bench/hordak_workload.py (the
benchmark's own virtualenv) both import this module, so they post the same movements, fill
with the same rows and time reads the same way.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

FIRST_DAY = date(2021, 1, 1)
LAST_DAY = date(2025, 12, 31)
DAYS = (LAST_DAY - FIRST_DAY).days + 1
AS_OF = date(2023, 7, 1)  # the middle of the five years

WALLETS = 50
POSTINGS_PER_ENTRY = 2  # a wallet debit and an income credit of equal value
SINGLE_ENTRIES = 2_000
BATCHES = 20
BATCH_ENTRIES = 1_000
BALANCE_CALLS = 20
TRIAL_BALANCE_CALLS = 5
# Entries per fill transaction: large enough for bulk speed, small enough that the deferred
# per-entry checks at commit do not hold one huge transaction open.
FILL_CHUNK_ENTRIES = 100_000

SINGLE_SEED = 1
BATCH_SEED = 100
FILL_SEED = 0.42

# Production import: a year of daily earnings of the pool sub-accounts, dated after the five
# filled years. One file per pool account and year, as a pool's export would come.
POOL_ACCOUNTS = 50
PRODUCTION_FIRST_DAY = date(2026, 1, 1)
PRODUCTION_DAYS = 365  # 2026 is not a leap year: the whole of it
PRODUCTION_SEED = 2026
POOL_FEE_PER_MILLE = 25  # the pool keeps 2.5% of the gross

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Movement:
    """One entry: a site wallet receives BTC and income is credited its USD value."""

    wallet: int  # index into the wallets, 0-based
    day: date
    quantity: Decimal  # BTC, 8 decimals
    value: Decimal  # USD, 2 decimals, never zero


def movements(count: int, seed: int) -> list[Movement]:
    rng = random.Random(seed)
    result = []
    for _ in range(count):
        quantity = Decimal(rng.randint(1, 100_000_000)).scaleb(-8)
        price = Decimal(rng.randint(20_000_00, 100_000_00)).scaleb(-2)
        result.append(
            Movement(
                wallet=rng.randrange(WALLETS),
                day=date.fromordinal(FIRST_DAY.toordinal() + rng.randrange(DAYS)),
                quantity=quantity,
                value=max(CENT, (quantity * price).quantize(CENT)),
            )
        )
    return result


def batches() -> list[list[Movement]]:
    """The import path: each batch is a day's pool files, so its entries share one date
    (a different day per batch, in no particular order)."""
    result = []
    for n in range(BATCHES):
        day = date.fromordinal(
            FIRST_DAY.toordinal() + random.Random(BATCH_SEED - n).randrange(DAYS)
        )
        result.append(
            [
                Movement(wallet=m.wallet, day=day, quantity=m.quantity, value=m.value)
                for m in movements(BATCH_ENTRIES, BATCH_SEED + n)
            ]
        )
    return result


@dataclass(frozen=True)
class PoolEarning:
    """One pool sub-account's production for one UTC day, and what it is worth."""

    pool_account: int  # index into the pool accounts, 0-based
    day: date
    gross: Decimal  # BTC, 8 decimals
    fee: Decimal  # BTC, 8 decimals
    net: Decimal  # gross - fee, > 0
    hashrate_hs: int  # the day's average hashrate
    price: Decimal  # USD per BTC, the day-end price (00:00 UTC of the next day)
    value: Decimal  # net at that price, to the cent half-even: the revenue recognised


def production_days() -> list[date]:
    return [PRODUCTION_FIRST_DAY + timedelta(days=n) for n in range(PRODUCTION_DAYS)]


def price_timestamp(day: date) -> datetime:
    """The day-end price policy: a day is valued at the price of 00:00 UTC the day after."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def production_prices() -> dict[date, Decimal]:
    """A BTC/USD price per production day (2 decimals), drawn once for both sides."""
    rng = random.Random(PRODUCTION_SEED)
    return {
        day: Decimal(rng.randint(80_000_00, 120_000_00)).scaleb(-2) for day in production_days()
    }


def production_earnings() -> list[PoolEarning]:
    """POOL_ACCOUNTS x PRODUCTION_DAYS earnings, grouped by pool account, each in day order."""
    prices = production_prices()
    result = []
    for account in range(POOL_ACCOUNTS):
        rng = random.Random(PRODUCTION_SEED * 1000 + account)
        petahashes = rng.randint(20, 80)  # the sub-account's deployed hashrate
        for day in production_days():
            # About 0.0005 BTC per PH/s a day, give or take a fifth: luck and downtime.
            gross_sats = petahashes * rng.randint(40_000, 60_000)
            fee_sats = gross_sats * POOL_FEE_PER_MILLE // 1000
            net = Decimal(gross_sats - fee_sats).scaleb(-8)
            price = prices[day]
            result.append(
                PoolEarning(
                    pool_account=account,
                    day=day,
                    gross=Decimal(gross_sats).scaleb(-8),
                    fee=Decimal(fee_sats).scaleb(-8),
                    net=net,
                    hashrate_hs=petahashes * 10**15 + rng.randint(-(10**14), 10**14),
                    price=price,
                    value=(net * price).quantize(CENT, rounding=ROUND_HALF_EVEN),
                )
            )
    return result


def production_by_account(earnings: list[PoolEarning]) -> list[list[PoolEarning]]:
    by_account: list[list[PoolEarning]] = [[] for _ in range(POOL_ACCOUNTS)]
    for earning in earnings:
        by_account[earning.pool_account].append(earning)
    return by_account


def fill_chunks(legs: int) -> list[int]:
    """Entries per fill transaction, topping the journal up to `legs` postings."""
    posted = (SINGLE_ENTRIES + BATCHES * BATCH_ENTRIES) * POSTINGS_PER_ENTRY
    remaining = max(0, legs - posted) // POSTINGS_PER_ENTRY
    chunks = [FILL_CHUNK_ENTRIES] * (remaining // FILL_CHUNK_ENTRIES)
    if remaining % FILL_CHUNK_ENTRIES:
        chunks.append(remaining % FILL_CHUNK_ENTRIES)
    return chunks


# The fill's rows, drawn by PostgreSQL itself: the same seed and statement give both databases
# the same rows. Each row becomes one entry; `id` comes from the entry table's own sequence
# so that the two inserts that follow can refer to it. Run inside a transaction.
FILL_ROWS_SQL = """
    CREATE TEMP TABLE bench_fill ON COMMIT DROP AS
    SELECT nextval(pg_get_serial_sequence(%(entry_table)s, 'id')) AS id,
           day, wallet, quantity, greatest(0.01, round(quantity * price, 2)) AS value
      FROM (SELECT %(first_day)s::date + floor(random() * %(days)s)::int AS day,
                   1 + floor(random() * %(wallets)s)::int AS wallet,
                   round((1 + floor(random() * 100000000))::numeric / 100000000, 8) AS quantity,
                   round((20000 + random() * 80000)::numeric, 2) AS price
              FROM generate_series(1, %(count)s)) AS drawn
"""


def fill_rows_params(entry_table: str, count: int) -> dict[str, object]:
    return {
        "entry_table": entry_table,
        "first_day": FIRST_DAY,
        "days": DAYS,
        "wallets": WALLETS,
        "count": count,
    }


def fill_seed(chunk: int) -> float:
    return (FILL_SEED + chunk / 1000) % 1


def vacuum_analyze(connection: Any) -> float:
    """Fresh bulk data: both sides get fresh statistics instead of racing autovacuum."""
    start = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - start


def median_ms(call: Callable[[], object], times: int) -> float:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


class StatementCounter:
    """Counts the SQL statements sent while in use (not BEGIN and COMMIT, which psycopg
    sends itself).

    Counts in psycopg's Cursor class, which every cursor derives from: code may use the
    psycopg connection under Django's directly, past Django's execute wrappers, and with
    cursor classes of its own.
    """

    def __init__(self) -> None:
        self.count = 0

    def __enter__(self) -> StatementCounter:
        import psycopg  # both virtualenvs have it; this module otherwise needs no package

        self._originals = {
            name: getattr(psycopg.Cursor, name) for name in ("execute", "executemany")
        }
        for name, original in self._originals.items():
            setattr(psycopg.Cursor, name, self._counting(original))
        return self

    def __exit__(self, *exc: object) -> None:
        import psycopg

        for name, original in self._originals.items():
            setattr(psycopg.Cursor, name, original)

    def _counting(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def counted(cursor: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(cursor, *args, **kwargs)

        return counted


def statements(call: Callable[[], object]) -> int:
    """Run `call` once and return how many statements it sent (also serves as a warm-up)."""
    with StatementCounter() as counter:
        call()
    return counter.count


def log(message: str) -> None:
    # stdout carries the JSON result; progress goes to stderr.
    print(message, file=sys.stderr, flush=True)
