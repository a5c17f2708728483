"""Each coin on its own chain: KAS and ETC payouts, inflows and wallets are never looked up
on the Bitcoin chain; without an explorer of their own they are reported plainly as not
checked on chain, with no break and no alert mail; with one, they are checked on it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core import mail
from werkzeug import Request, Response

from holdings.importers.esplora import ChainUnit, EsploraClient
from holdings.models import BatchStatus, ItemStatus, ReconciliationStatus
from holdings.services import setup
from holdings.services.reconciliation import reconcile
from tests.holdings.conftest import f2pool_file, load_prices, run_import, txid

KAS_ADDRESS = "kaspa:qqkqkzjvr7zwxxmjxjkmxxdwju9kjs6e9u82uh59z07vgaks6gg62v8707g73"
ETC_ADDRESS = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
DAY = date(2026, 1, 2)
PAID_AT = datetime(2026, 1, 2, 4, tzinfo=UTC)
PAYOUT_IDS = {"KAS": 11, "ETC": 12}


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


@pytest.fixture
def kas_and_etc(chart):
    """KAS and ETC sub-accounts on F2Pool, a wallet each, one payout each on DAY; no BTC."""
    setup.pool_create(code="f2pool", name="F2Pool", kind="f2pool")
    for commodity, address, paid in (
        ("KAS", KAS_ADDRESS, "250000.5"),
        ("ETC", ETC_ADDRESS, "12.5"),
    ):
        setup.pool_account_create(
            code=f"F2P-{commodity}", pool="f2pool", name=f"cango-{commodity}", commodity=commodity
        )
        setup.wallet_create(
            code=f"{commodity}-1", name=commodity, commodity=commodity, addresses=[address]
        )
        load_prices(date(2026, 1, 1), date(2026, 1, 3), base=commodity)
        content = f2pool_file(
            [(date(2026, 1, 1), str(Decimal(paid) * 2))],
            [(PAYOUT_IDS[commodity], PAID_AT, paid, address)],
        )
        batch = run_import("f2pool", content, pool_account=f"F2P-{commodity}")
        assert batch.status == BatchStatus.SUCCEEDED, batch.errors


class BitcoinChain:
    """A Bitcoin Esplora that knows none of these transactions, and notes every question."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def handle(self, request: Request) -> Response:
        self.asked.append(request.path)
        return Response("Transaction not found", status=404)


@pytest.mark.django_db
def test_coins_without_an_explorer_are_not_checked_on_chain_nor_mailed(
    kas_and_etc, httpserver, settings
):
    settings.CHAIN_EXPLORERS = {}
    bitcoin = BitcoinChain()
    for number in PAYOUT_IDS.values():
        httpserver.expect_request(f"/btc/tx/{txid(number)}").respond_with_handler(bitcoin.handle)
    btc = EsploraClient(httpserver.url_for("/btc"), retries=0, backoff=0, timeout=5)
    runs = reconcile(as_of=DAY, kinds=["payouts", "wallets"], chain=btc)
    assert bitcoin.asked == [] and len(httpserver.log) == 0  # never asked the Bitcoin chain
    items = [item for run in runs for item in run.items.order_by("id")]
    assert {(item.commodity, item.checked, item.status) for item in items} == {
        ("KAS", "on_chain", ItemStatus.NOT_ON_CHAIN),
        ("ETC", "on_chain", ItemStatus.NOT_ON_CHAIN),
        ("KAS", "inflows", ItemStatus.NOT_ON_CHAIN),
        ("ETC", "inflows", ItemStatus.NOT_ON_CHAIN),
        ("KAS", "balance", ItemStatus.NOT_ON_CHAIN),
        ("ETC", "balance", ItemStatus.NOT_ON_CHAIN),
    }
    [kas_payout] = [i for i in items if i.commodity == "KAS" and i.checked == "on_chain"]
    assert kas_payout.message == (
        f"payout F2P-KAS #11 of 250000.5 KAS to {KAS_ADDRESS} in "
        f"transaction {kas_payout.subject}: not checked on chain, no explorer is configured "
        "for KAS (CHAIN_EXPLORERS)"
    )
    assert "BTC" not in " ".join(item.message for item in items)
    assert all(run.status == ReconciliationStatus.MATCHED and not run.breaks for run in runs)
    assert mail.outbox == []


def kas_transaction(tx: str, address: str, sompi: int) -> dict:
    return {
        "txid": tx,
        "vin": [],
        "vout": [{"scriptpubkey_address": address, "value": sompi}],
        "status": {"confirmed": True, "block_height": 100, "block_time": int(PAID_AT.timestamp())},
    }


@pytest.mark.django_db
def test_a_kas_payout_is_checked_on_the_kas_explorer_configured(kas_and_etc, httpserver):
    from holdings.models import Payout

    payout = Payout.objects.get(pool_account__code="F2P-KAS")
    body = json.dumps(kas_transaction(payout.txid, KAS_ADDRESS, 25_000_050_000_000))
    httpserver.expect_request(f"/kas/tx/{payout.txid}").respond_with_data(
        body, content_type="application/json"
    )
    httpserver.expect_request("/kas/blocks/tip/height").respond_with_data("110")
    kas = EsploraClient(
        httpserver.url_for("/kas"),
        retries=0,
        backoff=0,
        timeout=5,
        unit=ChainUnit("KAS", 8, name="sompi"),
    )
    [run] = reconcile(as_of=DAY, kinds=["payouts"], chain=None, chains={"KAS": kas})
    item = run.items.get(commodity="KAS", checked="on_chain")
    assert item.status == ItemStatus.MATCHED, item.message
    assert item.source_amount == Decimal("250000.5")
    assert item.message.endswith("11 confirmations")
    etc = run.items.get(commodity="ETC", checked="on_chain")
    assert etc.status == ItemStatus.NOT_ON_CHAIN
