"""`make load`: the users Locust simulates against a `make run` instance (bench/load.py).

- Auditors (most users) pull the reports an audit pulls, over the demonstration's books:
  the trial balance, the balance sheet, realized gains, the roll-forward, the production
  report, lots as of a date, account detail and the journal.
- Finance staff preview sales, record small ones, and post manual journals that a finance
  approver approves at once (maker-checker: the approve call is a request of its own).
- One pool import at a time: a generic earnings file of a pool account set up for the load
  (a new one per file, so every record is new) uploaded every few seconds, imported by the
  Celery worker while the others read and write.

The sales and the pool files are dated in the month after the books (March 2026): every
month of the books is remeasured at its end, and nothing moves lots on or before the day of
a standing remeasurement. bench/load.py imports that month's day-end prices first.

Tokens, the host and the pool accounts to import into come from bench/load.py through the
environment. Each request is named by its endpoint, so the statistics are per endpoint.
"""

from __future__ import annotations

import itertools
import os
import random
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

from locust import HttpUser, between, constant, task

API = "/api/v1"
TOKENS = {
    role: os.environ.get(f"LOAD_TOKEN_{role.upper()}", "")
    for role in ("auditor", "staff", "approver")
}
# Pool accounts set up for the load (bench/load.py), one file each.
POOL_ACCOUNTS = [code for code in os.environ.get("LOAD_POOL_ACCOUNTS", "").split(",") if code]
# The demonstration's books: October 2025 to February 2026, read by the reports.
FIRST_DAY = date(2025, 10, 1)
LAST_DAY = date(2026, 2, 28)
# The month the load's sales and pool files are dated in (bench/load.py prices it).
WRITES_FIRST_DAY = date(2026, 3, 1)
WRITES_LAST_DAY = date(2026, 3, 31)
WALLETS = ["COLD-02", "COLD-03", "HOT-01", "HOT-02", "HOT-03", "HOT-04", "HOT-05"]
_counter = itertools.count(1)
_counter_lock = threading.Lock()
RUN = os.environ.get("LOAD_RUN", datetime.now(UTC).strftime("%Y%m%d%H%M%S"))


def unique(prefix: str) -> str:
    with _counter_lock:
        n = next(_counter)
    return f"{prefix}-{RUN}-{os.getpid()}-{n}"


def checked(response: Any, *, expected: tuple[int, ...]) -> Any:
    """Mark an answer other than `expected` failed, with its status and what it said."""
    if response.status_code not in expected:
        response.failure(f"HTTP {response.status_code}: {response.text[:300]}")
    else:
        response.success()
    return response


def some_day(start: date = FIRST_DAY, end: date = LAST_DAY) -> date:
    return start + timedelta(days=random.randrange((end - start).days + 1))


class Auditor(HttpUser):
    weight = 7
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Token {TOKENS['auditor']}"

    @task(3)
    def trial_balance(self) -> None:
        self.client.get(
            f"{API}/reports/trial-balance/?as_of={some_day()}", name="reports/trial-balance"
        )

    @task(1)
    def balance_sheet(self) -> None:
        self.client.get(
            f"{API}/reports/balance-sheet/?as_of={some_day()}", name="reports/balance-sheet"
        )

    @task(2)
    def realized_gains(self) -> None:
        self.client.get(
            f"{API}/reports/realized-gains/?start=2026-01-01&end=2026-02-28&commodity=BTC",
            name="reports/realized-gains",
        )

    @task(2)
    def rollforward(self) -> None:
        month = random.choice(["2025-10", "2025-11", "2025-12", "2026-01", "2026-02"])
        start = date.fromisoformat(f"{month}-01")
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        self.client.get(
            f"{API}/reports/rollforward/?commodity=BTC&start={start}&end={end}",
            name="reports/rollforward",
        )

    @task(2)
    def production(self) -> None:
        self.client.get(
            f"{API}/reports/production/?start=2025-10-01&end=2026-02-28&commodity=BTC",
            name="reports/production",
        )

    @task(2)
    def lots_as_of(self) -> None:
        self.client.get(
            f"{API}/lots/?as_of={some_day()}&account={random.choice(['1210', '1220'])}",
            name="lots?as_of",
        )

    @task(1)
    def account_detail(self) -> None:
        start = some_day(FIRST_DAY, date(2026, 2, 1))
        self.client.get(
            f"{API}/reports/account-detail/?account=1300&start={start}"
            f"&end={start + timedelta(days=27)}",
            name="reports/account-detail",
        )

    @task(2)
    def journal(self) -> None:
        self.client.get(f"{API}/journal-entries/?page_size=100", name="journal-entries")


class Staff(HttpUser):
    weight = 3
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Token {TOKENS['staff']}"

    def sale(self) -> dict[str, object]:
        """A small OTC sale for USDT in the month after the books, valued at the USDT
        received."""
        units = random.choice(["0.01000000", "0.02000000", "0.05000000"])
        proceeds = f"{float(units) * random.randint(90_000, 110_000):.2f}"
        day = some_day(WRITES_FIRST_DAY, WRITES_LAST_DAY)
        sold_at = datetime(day.year, day.month, day.day, random.randint(0, 23), tzinfo=UTC)
        return {
            "reference": unique("LOAD-OTC"),
            "wallet": random.choice(WALLETS),
            "units": units,
            "sold_at": sold_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "proceeds_commodity": "USDT",
            "gross_proceeds": proceeds,
            "proceeds_value": proceeds,
            "proceeds_wallet": "USDT-CUSTODY",
        }

    @task(4)
    def sale_preview(self) -> None:
        with self.client.post(
            f"{API}/sales/preview/", json=self.sale(), name="sales/preview", catch_response=True
        ) as response:
            checked(response, expected=(200,))

    @task(1)
    def sale_record(self) -> None:
        with self.client.post(
            f"{API}/sales/", json=self.sale(), name="sales", catch_response=True
        ) as response:
            checked(response, expected=(201,))

    @task(1)
    def manual_journal(self) -> None:
        cents = random.randint(100, 100_000)
        amount = f"{cents // 100}.{cents % 100:02d}"
        body = {
            "effective_date": datetime.now(UTC).date().isoformat(),
            "memo": "Venue fee correction (load test)",
            "postings": [
                {"account": "5300", "quantity": amount, "value": amount},
                {"account": "3000", "quantity": f"-{amount}", "value": f"-{amount}"},
            ],
        }
        with self.client.post(
            f"{API}/journal-entries/", json=body, name="journal-entries", catch_response=True
        ) as response:
            if checked(response, expected=(202,)).status_code != 202:
                return
            journal = response.json()["id"]
        with self.client.post(
            f"{API}/manual-journals/{journal}/approve/",
            json={},
            headers={"Authorization": f"Token {TOKENS['approver']}"},
            name="manual-journals/approve",
            catch_response=True,
        ) as response:
            checked(response, expected=(200, 201))


class PoolImport(HttpUser):
    """One pool file at a time, each for a pool account of its own (every record new)."""

    fixed_count = 1
    wait_time = constant(5)
    accounts = iter(POOL_ACCOUNTS)

    def on_start(self) -> None:
        self.client.headers["Authorization"] = f"Token {TOKENS['staff']}"

    @task
    def upload(self) -> None:
        code = next(self.accounts, None)
        if code is None:
            return
        rows = ["date,pool_account,gross_btc,fee_btc,net_btc,hashrate_hs,external_id"]
        day = WRITES_FIRST_DAY
        while day <= WRITES_LAST_DAY:
            gross = random.randint(20_000_000, 30_000_000)
            fee = gross * 25 // 1000
            rows.append(
                f"{day},{code},{gross / 1e8:.8f},{fee / 1e8:.8f},{(gross - fee) / 1e8:.8f},"
                f"{random.randint(500, 600)}000000000000000,{code}-{day}"
            )
            day += timedelta(days=1)
        with self.client.post(
            f"{API}/imports/",
            data={"source": "csv", "pool_account": code},
            files={"file": (f"{code}.csv", "\n".join(rows) + "\n", "text/csv")},
            name="imports (upload)",
            catch_response=True,
        ) as response:
            checked(response, expected=(201, 202))
