"""The project's half of `make bench`, through ledger.services and ledger.selectors only
(and, for the production import, holdings.services, holdings.production and
holdings.selectors).

Run by bench/run.py in the project's virtualenv with DATABASE_URL naming a fresh, migrated
database. Prints {"figures": ..., "info": ...} as JSON on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

# Runnable from any directory: the project's packages sit one level up.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cango_treasury.settings")

import django

# Django must be set up before the ledger's models are imported.
django.setup()

import limits  # noqa: E402
import workload as w  # noqa: E402
from django.db import DatabaseError, connection, transaction  # noqa: E402

from holdings.importers.generic_csv import EARNINGS_HEADER  # noqa: E402
from holdings.importers.records import PriceQuote  # noqa: E402
from holdings.models import BatchStatus, ImportBatch, Lot, LotMovement  # noqa: E402
from holdings.models import ProductionRecord as Record  # noqa: E402
from holdings.selectors import lots  # noqa: E402
from holdings.services import prices, production, setup  # noqa: E402
from ledger.models import Account, AccountType, JournalEntry  # noqa: E402
from ledger.selectors import account_balance, trial_balance  # noqa: E402
from ledger.services import (  # noqa: E402
    EntryInput,
    PostingInput,
    account_create,
    chart_load,
    entries_post,
    entry_post,
)

MEMO = "Pool payout"
KIND = "bench"
CHART = Path(__file__).resolve().parent.parent / "fixtures" / "chart_of_accounts.csv"


def create_accounts() -> tuple[list[Account], Account]:
    wallets = [
        account_create(
            code=f"wallet-{n:02d}",
            name=f"Site wallet {n:02d}",
            type=AccountType.ASSET,
            commodity="BTC",
        )
        for n in range(1, w.WALLETS + 1)
    ]
    # Mining revenue is recognised in the functional currency at the BTC's fair value.
    income = account_create(
        code="income-mining", name="Mining income", type=AccountType.INCOME, commodity="USD"
    )
    return wallets, income


def lines(move: w.Movement, wallets: list[Account], income: Account) -> list[PostingInput]:
    return [
        PostingInput(account=wallets[move.wallet], quantity=move.quantity, value=move.value),
        PostingInput(account=income, quantity=-move.value, value=-move.value),
    ]


def single_entry_posting(wallets: list[Account], income: Account) -> tuple[float, float]:
    moves = w.movements(w.SINGLE_ENTRIES, w.SINGLE_SEED)
    with w.StatementCounter() as counter:
        start = time.perf_counter()
        for move in moves:
            entry_post(
                effective_date=move.day,
                memo=MEMO,
                kind=KIND,
                postings=lines(move, wallets, income),
            )
        elapsed = time.perf_counter() - start
    return len(moves) / elapsed, counter.count / len(moves)


def batch_posting(wallets: list[Account], income: Account) -> tuple[float, float]:
    batches = w.batches()
    with w.StatementCounter() as counter:
        start = time.perf_counter()
        for batch in batches:
            entries_post(
                entries=[
                    EntryInput(
                        effective_date=move.day,
                        memo=MEMO,
                        kind=KIND,
                        postings=lines(move, wallets, income),
                    )
                    for move in batch
                ]
            )
        elapsed = time.perf_counter() - start
    postings = sum(len(batch) for batch in batches) * w.POSTINGS_PER_ENTRY
    return postings / elapsed, counter.count / len(batches)


def fill(legs: int, wallets: list[Account], income: Account) -> tuple[float, int]:
    """Bulk SQL: one entry and two postings per row. The database's triggers still assign
    sequences, check every rule and keep the balance roll-ups."""
    wallet = wallets[0]
    params: dict[str, Any] = {
        "wallet_ids": [account.pk for account in wallets],
        "wallet_commodity": wallet.commodity_id,
        "wallet_scale": wallet.commodity.decimal_places,
        "income_id": income.pk,
        "income_commodity": income.commodity_id,
        "income_scale": income.commodity.decimal_places,
        "memo": MEMO,
    }
    chunks = w.fill_chunks(legs)
    start = time.perf_counter()
    with connection.cursor() as cursor:
        for n, count in enumerate(chunks):
            with transaction.atomic():
                cursor.execute("SELECT setseed(%s)", [w.fill_seed(n)])
                cursor.execute(w.FILL_ROWS_SQL, w.fill_rows_params("ledger_journalentry", count))
                # An entry is written with its postings in one statement, as the ledger's
                # rules require (the entries' statement trigger looks for their postings).
                cursor.execute(
                    """
                    WITH entries AS (
                        INSERT INTO ledger_journalentry
                            (id, effective_date, memo, kind, status, payload_hash, created_at)
                        SELECT id, day, %(memo)s, 'bench_fill', 'posted', '', now()
                          FROM bench_fill
                    )
                    INSERT INTO ledger_posting
                        (entry_id, account_id, commodity_id, scale, effective_date, quantity, value)
                    SELECT id, (%(wallet_ids)s::bigint[])[wallet], %(wallet_commodity)s,
                           %(wallet_scale)s, day, quantity, value
                      FROM bench_fill
                    UNION ALL
                    SELECT id, %(income_id)s, %(income_commodity)s, %(income_scale)s, day,
                           -value, -value
                      FROM bench_fill
                    """,
                    params,
                )
            w.log(f"project: fill {n + 1}/{len(chunks)} ({time.perf_counter() - start:.0f} s)")
    return time.perf_counter() - start, sum(chunks)


def busiest_account() -> Account:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT account_id FROM ledger_posting GROUP BY account_id "
            "ORDER BY count(*) DESC, account_id LIMIT 1"
        )
        (account_id,) = cursor.fetchone()
    return Account.objects.select_related("commodity").get(pk=account_id)


def pool_account_code(n: int, prefix: str = "POOL") -> str:
    return f"{prefix}-{n + 1:02d}"


def production_setup() -> None:
    """Not timed: the seed chart (pool receivables, mining revenue), a pool with the pool
    accounts, and the day-end prices the import values the year's earnings at."""
    with CHART.open(newline="") as handle:
        chart_load(rows=list(csv.DictReader(handle)), source=CHART.name)
    pool_accounts_setup("POOL")
    quotes = [
        PriceQuote(w.price_timestamp(day), "BTC", "USD", price, "bench-close", row)
        for row, (day, price) in enumerate(w.production_prices().items(), start=2)
    ]
    created, _ = prices.prices_import(quotes=quotes, file_name="bench prices")
    if created != w.PRODUCTION_DAYS:
        raise SystemExit(f"project: {created} prices created, expected {w.PRODUCTION_DAYS}")


def pool_accounts_setup(prefix: str) -> None:
    pool = setup.pool_create(code=f"bench-{prefix.lower()}", name=f"Bench {prefix}", kind="other")
    for n in range(w.POOL_ACCOUNTS):
        setup.pool_account_create(
            code=pool_account_code(n, prefix), pool=pool, name=f"sub-{n + 1:02d}", source="csv"
        )


def production_files(
    earnings: list[w.PoolEarning], prefix: str = "POOL"
) -> list[tuple[str, bytes]]:
    """One generic earnings CSV per pool account: its year, a row a day."""
    files = []
    for n, year in enumerate(w.production_by_account(earnings)):
        code = pool_account_code(n, prefix)
        lines = [EARNINGS_HEADER]
        lines += [
            f"{e.day.isoformat()},{code},{e.gross},{e.fee},{e.net},{e.hashrate_hs}," for e in year
        ]
        files.append((code, ("\n".join(lines) + "\n").encode()))
    return files


def import_files(files: list[tuple[str, bytes]]) -> tuple[float, float, float]:
    """Timed: the batches created, then each run as the Celery task runs it, one
    transaction each. Seconds in all, seconds creating, statements per batch."""
    with w.StatementCounter() as counter:
        start = time.perf_counter()
        batches = [
            production.import_batch_create(
                source="csv",
                file_name=f"{code}-{w.PRODUCTION_FIRST_DAY.year}.csv",
                content=content,
                pool_account=code,
            )
            for code, content in files
        ]
        created = time.perf_counter()
        for batch in batches:
            production.import_batch_run(batch_id=batch.pk)
        elapsed = time.perf_counter() - start
    return elapsed, created - start, counter.count / len(batches)


def production_import(info: dict[str, Any]) -> float:
    """Timed: the 50 batches created and each run as the Celery task runs it, one
    transaction each (parse, check against earlier imports, value at the day-end price,
    post an entry per earning, write its production record, lot and lot movement)."""
    earnings = w.production_earnings()
    production_setup()
    files = production_files(earnings)
    elapsed, creating, statements = import_files(files)
    info["production_import_create_seconds"] = creating
    info["production_import_run_seconds"] = elapsed - creating
    info["statements_per_production_batch"] = statements

    # Not timed: every batch succeeded and wrote what it should.
    failed = ImportBatch.objects.exclude(status=BatchStatus.SUCCEEDED)
    if failed.exists():
        raise SystemExit(f"project: batches failed: {[(b.pk, b.errors[:1]) for b in failed]}")
    counts = {
        "batches": ImportBatch.objects.count(),
        "production_records": Record.objects.count(),
        "pool_earning_entries": JournalEntry.objects.filter(kind="pool_earning").count(),
        "lots": Lot.objects.count(),
        "lot_movements": LotMovement.objects.count(),
    }
    expected = {"batches": w.POOL_ACCOUNTS, **dict.fromkeys(list(counts)[1:], len(earnings))}
    if counts != expected:
        raise SystemExit(f"project: production import wrote {counts}, expected {expected}")
    info["production_import_counts"] = counts
    total = sum((r.value for r in Record.objects.only("value")), start=Decimal("0.00"))
    if total != sum((e.value for e in earnings), start=Decimal("0.00")):
        raise SystemExit(f"project: production records are worth {total}, not the workload's")
    info["production_income_usd"] = str(total)
    # The bench's own wallets hold BTC posted by the fill without lots; every other
    # non-USD asset account, the pool receivables included, must agree with its lots.
    wallets = {f"wallet-{n:02d}" for n in range(1, w.WALLETS + 1)}
    as_of = date(w.PRODUCTION_FIRST_DAY.year, 12, 31)
    differences = [d for d in lots.lot_differences(as_of=as_of) if d.account not in wallets]
    if differences:
        raise SystemExit(f"project: ledger and lots differ: {differences[:5]}")
    info["production_import_does"] = (
        f"{w.POOL_ACCOUNTS} generic CSV files of {w.PRODUCTION_DAYS} rows: "
        "import_batch_create for each, then import_batch_run for each (one transaction per "
        "file: parse, check against earlier imports, price lookup, one journal entry of two "
        "postings, a production record, a lot and its lot movement per earning)"
    )
    return elapsed


def without_rules(wallets: list[Account], income: Account) -> dict[str, float]:
    """The three writes again, with PostgreSQL's triggers and foreign keys off for the
    session (session_replication_role = replica, a superuser's setting): what the rules
    cost, and the most this write path could reach were every rule free. Run last: it
    leaves roll-ups and lots behind the journal, and nothing is read after it. Empty when
    the role may not switch the rules off (an external server's ordinary role)."""
    pool_accounts_setup("FREE")
    earnings = w.production_earnings()
    files = production_files(earnings, "FREE")
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.execute("SET session_replication_role = replica")
        except DatabaseError as error:
            w.log(f"project: writes without the rules not measured ({error})")
            return {}
        try:
            single, _ = single_entry_posting(wallets, income)
            batch, _ = batch_posting(wallets, income)
            elapsed, _, _ = import_files(files)
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
    imported = Record.objects.filter(pool_account__code__startswith="FREE-").count()
    if imported != len(earnings):
        raise SystemExit(f"project: the import without the rules wrote {imported} records")
    return {"single_entry_posting": single, "batch_posting": batch, "production_import": elapsed}


def run(legs: int) -> dict[str, Any]:
    figures: dict[str, float] = {}
    info: dict[str, Any] = {"django": django.__version__}
    wallets, income = create_accounts()

    w.log("project: single-entry posting")
    # The commit rate right beside it: the limit this figure is set against (bench/run.py).
    info["commits_per_s_beside_single_entry"] = [limits.commit_rate(os.environ["DATABASE_URL"])]
    figures["single_entry_posting"], info["statements_per_single_entry"] = single_entry_posting(
        wallets, income
    )
    info["commits_per_s_beside_single_entry"].append(limits.commit_rate(os.environ["DATABASE_URL"]))
    w.log("project: batch posting")
    figures["batch_posting"], info["statements_per_batch"] = batch_posting(wallets, income)

    w.log("project: fill")
    info["fill_seconds"], info["fill_entries"] = fill(legs, wallets, income)
    info["vacuum_analyze_seconds"] = w.vacuum_analyze(connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_posting")
        info["postings"] = cursor.fetchone()[0]

    account = busiest_account()
    info["busiest_account"] = account.code

    def balance() -> Any:
        return account_balance(account=account, as_of=w.AS_OF)

    def trial() -> Any:
        return trial_balance(as_of=w.AS_OF)

    w.log("project: balance as of")
    info["statements_per_balance_as_of"] = w.statements(balance)
    figures["balance_as_of"] = w.median_ms(balance, w.BALANCE_CALLS)
    info["busiest_balance_usd"] = str(abs(balance().value))

    w.log("project: trial balance")
    info["statements_per_trial_balance"] = w.statements(trial)
    figures["trial_balance"] = w.median_ms(trial, w.TRIAL_BALANCE_CALLS)
    result = trial()
    if result.total_value != 0:
        raise SystemExit(f"project: the trial balance does not balance: {result.total_value}")
    info["trial_balance_rows"] = len(result.rows)

    w.log("project: production import")
    figures["production_import"] = production_import(info)

    w.log("project: the writes again, the rules off")
    info["without_rules"] = without_rules(wallets, income)
    return {"figures": figures, "info": info}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--legs", type=int, required=True)
    args = parser.parse_args()
    json.dump(run(args.legs), sys.stdout)
    print()


if __name__ == "__main__":
    main()
