"""A small mining world for the holdings tests, and builders of pool files in real shapes."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from holdings.importers.records import PriceQuote
from holdings.models import ImportBatch
from holdings.services import prices, production, setup

ADDRESS = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"
ADDRESS_2 = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
COLD_ADDRESS = "bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l"


def unix(day: date, at: time = time(0)) -> int:
    return int(datetime.combine(day, at, tzinfo=UTC).timestamp())


def closed_port() -> int:
    """A local port nothing listens on: an explorer configured there never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def txid(seed: object) -> str:
    return hashlib.sha256(str(seed).encode()).hexdigest()


def f2pool_file(
    earnings: Iterable[tuple[date, str]] = (),
    payouts: Iterable[tuple[int, datetime, str, str]] = (),
    *,
    id_base: int = 1_000_000,
) -> bytes:
    """F2Pool's `/v2/assets/transactions/list` response: net amounts as JSON doubles."""
    items = []
    for day, net in earnings:
        items.append(
            {
                "id": id_base + (day - date(2020, 1, 1)).days,
                "type": "revenue",
                "changed_balance": float(net),
                "created_at": unix(day + timedelta(days=1)),
                "mining_extra": {
                    "mining_date": unix(day),
                    "settle_date": unix(day + timedelta(days=1)),
                    "pps": float(net),
                    "pps_fee_rate": 0.025,
                    "tx_fee": 0.0,
                    "tx_fee_rate": 0.025,
                    "hash_rate": 1.2e18,
                },
            }
        )
    for payout_id, paid_at, amount, address in payouts:
        items.append(
            {
                "id": payout_id,
                "type": "payout",
                "changed_balance": -float(amount),
                "created_at": int(paid_at.timestamp()),
                "payout_extra": {
                    "value": float(amount),
                    "address": address,
                    "tx_id": txid(payout_id),
                    "paid_time": int(paid_at.timestamp()),
                    "wallet_type": "mainnet",
                    "tip": 0.00001,
                },
            }
        )
    return json.dumps({"transactions": items}).encode()


def csv_file(rows: Iterable[tuple[date, str, str, str, str]]) -> bytes:
    """Generic earnings CSV rows: (day, pool_account, gross, fee, net)."""
    lines = ["date,pool_account,gross_btc,fee_btc,net_btc,hashrate_hs,external_id"]
    lines += [f"{d.isoformat()},{acct},{g},{f},{n},," for d, acct, g, f, n in rows]
    return ("\n".join(lines) + "\n").encode()


def price_on(day: date) -> Decimal:
    """The test world's BTC/USD price for a day (the day-end timestamp)."""
    return Decimal("100000.00") + (day - date(2026, 1, 1)).days * 1000


def load_prices(start: date, end: date, base: str = "BTC") -> None:
    quotes = []
    day = start
    while day <= end:
        at = datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
        quotes.append(PriceQuote(at, base, "USD", price_on(day), "test-close", 1))
        day += timedelta(days=1)
    prices.prices_import(quotes=quotes, file_name="test prices")


@pytest.fixture
def world(chart):
    """One F2Pool sub-account paying one hot wallet; a cold wallet; January 2026 prices."""
    return build_world()


@pytest.fixture
def tx_world(transactional_db):
    """The same world in a test whose transactions really commit (several connections)."""
    from tests.conftest import CHART, ensure_reference_data

    ensure_reference_data()
    with CHART.open(newline="") as handle:
        import csv

        from ledger.services import chart_load

        chart_load(rows=list(csv.DictReader(handle)))
    return build_world()


def build_world() -> dict:
    pool = setup.pool_create(
        code="f2pool", name="F2Pool", kind="f2pool", api_base_url="https://api.f2pool.com"
    )
    setup.pool_create(code="other", name="Other pool", kind="other")
    site = setup.site_create(
        code="US-TX-01",
        name="Texas 1",
        region="North America",
        deployed_hashrate_hs="1500000000000000000",
    )
    account = setup.pool_account_create(code="F2P-A", pool=pool, name="cango-a", site=site)
    setup.pool_account_create(code="OTH-B", pool="other", name="cango-b", source="csv")
    hot = setup.wallet_create(
        code="HOT-1", name="Hot wallet", parent_account="1220", addresses=[ADDRESS, ADDRESS_2]
    )
    cold = setup.wallet_create(
        code="COLD-1", name="Cold storage", parent_account="1210", addresses=[COLD_ADDRESS]
    )
    load_prices(date(2025, 12, 1), date(2026, 2, 28))
    return {"pool": pool, "account": account, "hot": hot, "cold": cold, "site": site}


def run_import(
    source: str, content: bytes, pool_account: str | None = "F2P-A", file_name: str = "file.json"
) -> ImportBatch:
    batch = production.import_batch_create(
        source=source, file_name=file_name, content=content, pool_account=pool_account
    )
    return production.import_batch_run(batch_id=batch.pk)
