"""The project's half of `make bench`, through ledger.services and ledger.selectors only.

Run by bench/run.py in the project's virtualenv with DATABASE_URL naming a fresh, migrated
database. Prints {"figures": ..., "info": ...} as JSON on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

# Runnable from any directory: the project's packages sit one level up.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cango_treasury.settings")

import django

# Django must be set up before the ledger's models are imported.
django.setup()

import workload as w  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from ledger.models import Account, AccountType  # noqa: E402
from ledger.selectors import account_balance, trial_balance  # noqa: E402
from ledger.services import (  # noqa: E402
    EntryInput,
    PostingInput,
    account_create,
    entries_post,
    entry_post,
)

MEMO = "Pool payout"
KIND = "bench"


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


def run(legs: int) -> dict[str, Any]:
    figures: dict[str, float] = {}
    info: dict[str, Any] = {"django": django.__version__}
    wallets, income = create_accounts()

    w.log("project: single-entry posting")
    figures["single_entry_posting"], info["statements_per_single_entry"] = single_entry_posting(
        wallets, income
    )
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
    return {"figures": figures, "info": info}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--legs", type=int, required=True)
    args = parser.parse_args()
    json.dump(run(args.legs), sys.stdout)
    print()


if __name__ == "__main__":
    main()
