"""django-hordak's half of `make bench`, the same workload through hordak's own API.

Run by bench/run.py in bench/.venv (hordak 2.0.0 supports Django 4.2 and 5.0, not the
project's 5.2) with DJANGO_SETTINGS_MODULE=hordak_site.settings and DATABASE_URL naming a
fresh, migrated database. Prints {"figures": ..., "info": ...} as JSON on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from decimal import Decimal
from importlib.metadata import version
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hordak_site.settings")

import django

# Django must be set up before hordak's models are imported.
django.setup()

import limits  # noqa: E402
import workload as w  # noqa: E402
from django.db import connection  # noqa: E402
from django.db import transaction as db_transaction  # noqa: E402
from hordak.models import Account, AccountType, Leg, Transaction  # noqa: E402
from moneyed import Money  # noqa: E402

CURRENCY = "USD"
MEMO = "Pool payout"


def create_accounts() -> tuple[list[Account], Account]:
    wallets = [
        Account.objects.create(
            name=f"Site wallet {n:02d}",
            code=f"1{n:02d}",
            type=AccountType.asset,
            currencies=[CURRENCY],
        )
        for n in range(1, w.WALLETS + 1)
    ]
    income = Account.objects.create(
        name="Mining income", code="400", type=AccountType.income, currencies=[CURRENCY]
    )
    return wallets, income


def single_entry_posting(wallets: list[Account], income: Account) -> tuple[float, float]:
    """hordak's posting call: transfer_to() credits income and debits the wallet atomically."""
    moves = w.movements(w.SINGLE_ENTRIES, w.SINGLE_SEED)
    with w.StatementCounter() as counter:
        start = time.perf_counter()
        for move in moves:
            income.transfer_to(
                wallets[move.wallet],
                Money(move.value, CURRENCY),
                date=move.day,
                description=MEMO,
            )
        elapsed = time.perf_counter() - start
    return len(moves) / elapsed, counter.count / len(moves)


def batch_posting(wallets: list[Account], income: Account) -> tuple[float, float]:
    """hordak's bulk path, as in its own create_benchmark_transactions command: Transaction
    and Leg objects bulk-created in one database transaction per batch."""
    batches = w.batches()
    with w.StatementCounter() as counter:
        start = time.perf_counter()
        for batch in batches:
            transactions = []
            legs = []
            for move in batch:
                entry = Transaction(date=move.day, description=MEMO)
                amount = Money(move.value, CURRENCY)
                transactions.append(entry)
                legs.append(Leg(transaction=entry, account=wallets[move.wallet], debit=amount))
                legs.append(Leg(transaction=entry, account=income, credit=amount))
            with db_transaction.atomic():
                Transaction.objects.bulk_create(transactions)
                Leg.objects.bulk_create(legs)
        elapsed = time.perf_counter() - start
    postings = sum(len(batch) for batch in batches) * w.POSTINGS_PER_ENTRY
    return postings / elapsed, counter.count / len(batches)


def fill(legs: int, wallets: list[Account], income: Account) -> tuple[float, int]:
    """Bulk SQL into hordak's tables; its deferred leg checks still run at each commit."""
    params: dict[str, Any] = {
        "wallet_ids": [account.pk for account in wallets],
        "income_id": income.pk,
        "currency": CURRENCY,
    }
    chunks = w.fill_chunks(legs)
    start = time.perf_counter()
    with connection.cursor() as cursor:
        for n, count in enumerate(chunks):
            with db_transaction.atomic():
                cursor.execute("SELECT setseed(%s)", [w.fill_seed(n)])
                cursor.execute(w.FILL_ROWS_SQL, w.fill_rows_params("hordak_transaction", count))
                cursor.execute(
                    """
                    INSERT INTO hordak_transaction (id, uuid, timestamp, date, description)
                    SELECT id, gen_random_uuid(), now(), day, %s FROM bench_fill
                    """,
                    [MEMO],
                )
                cursor.execute(
                    """
                    INSERT INTO hordak_leg
                        (uuid, transaction_id, account_id, debit, credit, currency, description)
                    SELECT gen_random_uuid(), id, (%(wallet_ids)s::bigint[])[wallet], value, NULL,
                           %(currency)s, ''
                      FROM bench_fill
                    UNION ALL
                    SELECT gen_random_uuid(), id, %(income_id)s, NULL, value, %(currency)s, ''
                      FROM bench_fill
                    """,
                    params,
                )
            w.log(f"hordak: fill {n + 1}/{len(chunks)} ({time.perf_counter() - start:.0f} s)")
    return time.perf_counter() - start, sum(chunks)


def busiest_account() -> Account:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT account_id FROM hordak_leg GROUP BY account_id "
            "ORDER BY count(*) DESC, account_id LIMIT 1"
        )
        (account_id,) = cursor.fetchone()
    return Account.objects.get(pk=account_id)


def fastest(
    calls: dict[str, Any], times: int, info: dict[str, Any], name: str
) -> tuple[float, str]:
    """hordak offers two public ways to read balances; it is credited with its faster one."""
    medians = {}
    for method, call in calls.items():
        info[f"statements_per_{name}_{method}"] = w.statements(call)
        medians[method] = w.median_ms(call, times)
    info[f"{name}_ms_by_method"] = medians
    best = min(medians, key=medians.__getitem__)
    return medians[best], best


def production_import(info: dict[str, Any]) -> float:
    """The year's earnings as hordak would take them: it has no pool files, production
    records or lots, so per pool account one database transaction bulk-creates its
    transactions (a receivable debit and an income credit each, in USD at the day-end
    price), the same API calls as the batch posting figure."""
    earnings = w.production_earnings()
    receivables = [
        Account.objects.create(
            name=f"Receivable from Bench pool (sub-{n + 1:02d})",
            code=f"3{n + 1:02d}",
            type=AccountType.asset,
            currencies=[CURRENCY],
        )
        for n in range(w.POOL_ACCOUNTS)
    ]
    revenue = Account.objects.create(
        name="Mining revenue", code="401", type=AccountType.income, currencies=[CURRENCY]
    )
    years = w.production_by_account(earnings)
    with w.StatementCounter() as counter:
        start = time.perf_counter()
        for n, year in enumerate(years):
            transactions = []
            legs = []
            for earning in year:
                entry = Transaction(
                    date=earning.day,
                    description=f"POOL-{n + 1:02d} earned {earning.net} BTC on {earning.day} "
                    f"at {earning.price}",
                )
                amount = Money(earning.value, CURRENCY)
                transactions.append(entry)
                legs.append(Leg(transaction=entry, account=receivables[n], debit=amount))
                legs.append(Leg(transaction=entry, account=revenue, credit=amount))
            with db_transaction.atomic():
                Transaction.objects.bulk_create(transactions)
                Leg.objects.bulk_create(legs)
        elapsed = time.perf_counter() - start
    info["statements_per_production_batch"] = counter.count / len(years)

    # Not timed: every earning posted, for the workload's value.
    counts = {
        "transactions": Transaction.objects.filter(legs__account=revenue).count(),
        "legs": Leg.objects.filter(account__in=[revenue, *receivables]).count(),
    }
    expected = {"transactions": len(earnings), "legs": len(earnings) * w.POSTINGS_PER_ENTRY}
    if counts != expected:
        raise SystemExit(f"hordak: production import wrote {counts}, expected {expected}")
    info["production_import_counts"] = counts
    total = abs(revenue.get_balance()[CURRENCY].amount)
    if total != sum((e.value for e in earnings), start=Decimal("0.00")):
        raise SystemExit(f"hordak: mining revenue is {total}, not the workload's")
    info["production_income_usd"] = str(total)
    info["production_import_does"] = (
        f"{w.POOL_ACCOUNTS} pool accounts x {w.PRODUCTION_DAYS} earnings from memory: per pool "
        "account one database transaction, Transaction and Leg bulk_create (a receivable "
        "debit and an income credit per earning, USD only); no file, record, lot or "
        "movement to write"
    )
    return elapsed


def run(legs: int) -> dict[str, Any]:
    figures: dict[str, float] = {}
    info: dict[str, Any] = {"version": version("django-hordak"), "django": django.__version__}
    wallets, income = create_accounts()

    w.log("hordak: single-entry posting")
    # The commit rate right beside it: the limit this figure is set against (bench/run.py).
    info["commits_per_s_beside_single_entry"] = [limits.commit_rate(os.environ["DATABASE_URL"])]
    figures["single_entry_posting"], info["statements_per_single_entry"] = single_entry_posting(
        wallets, income
    )
    info["commits_per_s_beside_single_entry"].append(limits.commit_rate(os.environ["DATABASE_URL"]))
    w.log("hordak: batch posting")
    figures["batch_posting"], info["statements_per_batch"] = batch_posting(wallets, income)

    w.log("hordak: fill")
    info["fill_seconds"], info["fill_entries"] = fill(legs, wallets, income)
    info["vacuum_analyze_seconds"] = w.vacuum_analyze(connection)
    info["postings"] = Leg.objects.count()

    account = busiest_account()
    info["busiest_account"] = account.full_code

    # Account.get_balance(): one query per account in the subtree. with_balances(): hordak's
    # GET_BALANCE() database function, which its changelog calls the performant way.
    w.log("hordak: balance as of")
    figures["balance_as_of"], info["balance_as_of_method"] = fastest(
        {
            "get_balance": lambda: account.get_balance(as_of=w.AS_OF),
            "with_balances": lambda: (
                Account.objects.with_balances(as_of=w.AS_OF).get(pk=account.pk).balance
            ),
        },
        w.BALANCE_CALLS,
        info,
        "balance_as_of",
    )
    info["busiest_balance_usd"] = str(abs(account.get_balance(as_of=w.AS_OF)[CURRENCY].amount))

    w.log("hordak: trial balance")
    figures["trial_balance"], info["trial_balance_method"] = fastest(
        {
            "get_balance": lambda: [a.get_balance(as_of=w.AS_OF) for a in Account.objects.all()],
            "with_balances": lambda: list(Account.objects.with_balances(as_of=w.AS_OF)),
        },
        w.TRIAL_BALANCE_CALLS,
        info,
        "trial_balance",
    )
    accounts = list(Account.objects.with_balances(as_of=w.AS_OF))
    total = sum((a.balance[CURRENCY].amount * a.sign for a in accounts), start=0)
    if total != 0:
        raise SystemExit(f"hordak: the trial balance does not balance: {total}")
    info["trial_balance_rows"] = len(accounts)

    w.log("hordak: production import")
    figures["production_import"] = production_import(info)
    return {"figures": figures, "info": info}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--legs", type=int, required=True)
    args = parser.parse_args()
    json.dump(run(args.legs), sys.stdout)
    print()


if __name__ == "__main__":
    main()
