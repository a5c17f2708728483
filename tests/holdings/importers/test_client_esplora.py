"""Esplora client against a local stub serving the shapes Blockstream and mempool.space serve."""

from __future__ import annotations

import hashlib
import re
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from holdings.importers.clients import PoolApiError
from holdings.importers.esplora import (
    PAGE_SIZE,
    AddressBalance,
    ChainInput,
    ChainOutput,
    ChainSourceUnavailable,
    ChainTransaction,
    EsploraClient,
    confirmations,
    satoshis_to_btc,
)
from tests.conftest import LateAnswer

ADDRESS = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"
OTHER = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
FUNDER = "bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l"  # what the transaction spends
BLOCK_TIME = 1767323647  # 2026-01-02 03:14:07 UTC


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


def txid(seed: object) -> str:
    return hashlib.sha256(str(seed).encode()).hexdigest()


TXID = txid("payout")


def output(address: str | None, value: object) -> dict:
    """A vout entry as Esplora writes it; scripts without an address have no
    scriptpubkey_address at all."""
    item: dict = {
        "scriptpubkey": "0014" + "ab" * 20,
        "scriptpubkey_asm": "OP_0 OP_PUSHBYTES_20 " + "ab" * 20,
        "scriptpubkey_type": "v0_p2wpkh",
        "value": value,
    }
    if address is None:
        item.update(scriptpubkey="6a0b63616e676f2d706f6f6c", scriptpubkey_type="op_return")
        item["scriptpubkey_asm"] = "OP_RETURN OP_PUSHBYTES_11 63616e676f2d706f6f6c"
    else:
        item["scriptpubkey_address"] = address
    return item


def tx_json(
    tx: str = TXID,
    outputs: list[dict] | None = None,
    *,
    height: int | None = 930112,
    block_time: int = BLOCK_TIME,
) -> dict:
    status: dict = {"confirmed": False}
    if height is not None:
        status = {
            "confirmed": True,
            "block_height": height,
            "block_hash": "00000000000000000001" + "c" * 44,
            "block_time": block_time,
        }
    return {
        "txid": tx,
        "version": 2,
        "locktime": 0,
        "vin": [
            {
                "txid": txid("funding"),
                "vout": 0,
                "prevout": output(FUNDER, 1_716_715_411),
                "scriptsig": "",
                "scriptsig_asm": "",
                "witness": ["30440220" + "00" * 30],
                "is_coinbase": False,
                "sequence": 4294967293,
            }
        ],
        "vout": outputs if outputs is not None else [output(ADDRESS, 51714000)],
        "size": 222,
        "weight": 561,
        "fee": 1410,
        "status": status,
    }


def client(httpserver, **options) -> EsploraClient:
    options.setdefault("timeout", 5.0)
    options.setdefault("backoff", 0)
    return EsploraClient(httpserver.url_for("/api"), **options)


def url(httpserver, path: str) -> str:
    return re.escape(httpserver.url_for("/api" + path))


# ---------------------------------------------------------------------------------------
# /tx/:txid


def test_confirmed_transaction_with_several_outputs(httpserver):
    outputs = [
        output(ADDRESS, 51714000),
        output(OTHER, 120000000),
        output(None, 0),  # OP_RETURN: no address, kept
        output(ADDRESS, 1),  # the same address paid twice in one transaction
    ]
    httpserver.expect_request(f"/api/tx/{TXID}", method="GET").respond_with_json(
        tx_json(outputs=outputs)
    )

    tx = client(httpserver).transaction(TXID.upper())  # explorers also write upper case

    assert tx == ChainTransaction(
        txid=TXID,
        outputs=(
            ChainOutput(index=0, address=ADDRESS, amount=Decimal("0.51714000")),
            ChainOutput(index=1, address=OTHER, amount=Decimal("1.20000000")),
            ChainOutput(index=2, address=None, amount=Decimal("0")),
            ChainOutput(index=3, address=ADDRESS, amount=Decimal("0.00000001")),
        ),
        confirmed=True,
        block_height=930112,
        block_time=datetime(2026, 1, 2, 3, 14, 7, tzinfo=UTC),
        fee=Decimal("0.00001410"),
        inputs=(ChainInput(index=0, address=FUNDER, amount=Decimal("17.16715411")),),
    )
    assert tx.spent_from(FUNDER) == Decimal("17.16715411")
    assert tx.spent_from(ADDRESS) == Decimal("0")
    assert str(tx.outputs[0].amount) == "0.51714000"  # exactly 8 places, from integers
    assert tx.block_time is not None and tx.block_time.utcoffset() == timedelta(0)
    assert tx.paid_to(ADDRESS) == Decimal("0.51714001")
    assert tx.paid_to(OTHER) == Decimal("1.2")
    assert tx.paid_to("bc1qnotpaid") == Decimal("0")
    assert confirmations(tx, 930112) == 1
    assert confirmations(tx, 930117) == 6


def test_unconfirmed_transaction(httpserver):
    httpserver.expect_request(f"/api/tx/{TXID}").respond_with_json(tx_json(height=None))

    tx = client(httpserver).transaction(TXID)

    assert tx is not None
    assert (tx.confirmed, tx.block_height, tx.block_time) == (False, None, None)
    assert tx.paid_to(ADDRESS) == Decimal("0.51714000")
    assert confirmations(tx, 930200) == 0


def test_unknown_transaction_is_none(httpserver):
    httpserver.expect_request(f"/api/tx/{TXID}").respond_with_data(
        "Transaction not found", status=404, content_type="text/plain"
    )
    assert client(httpserver).transaction(TXID) is None
    assert len(httpserver.log) == 1  # a 404 is an answer, not asked again


def test_confirmations_refuses_a_tip_below_the_block():
    tx = ChainTransaction(
        txid=TXID, outputs=(), confirmed=True, block_height=930112, block_time=None
    )
    with pytest.raises(ValueError, match=r"tip height 930111 is below block 930112"):
        confirmations(tx, 930111)


def test_answer_for_another_transaction_is_refused(httpserver):
    httpserver.expect_request(f"/api/tx/{TXID}").respond_with_json(tx_json(tx=txid("other")))
    with pytest.raises(ChainSourceUnavailable, match=rf"answered for transaction {txid('other')}"):
        client(httpserver).transaction(TXID)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, r"vout\[0\]\.value must be whole satoshis \(an integer\), got 1\.5"),
        (51714000.0, r"vout\[0\]\.value must be whole satoshis \(an integer\), got 51714000\.0"),
        ("51714000", r"vout\[0\]\.value must be whole satoshis \(an integer\), got '51714000'"),
        (True, r"vout\[0\]\.value must be whole satoshis \(an integer\), got True"),
        (None, r"vout\[0\]\.value must be whole satoshis \(an integer\), got None"),
        (-1, r"vout\[0\]\.value must not be negative, got -1 satoshis"),
        (2_100_000_000_000_001, r"vout\[0\]\.value 2100000000000001 satoshis is more than 21"),
    ],
)
def test_value_that_is_not_whole_non_negative_satoshis_is_refused(httpserver, value, message):
    httpserver.expect_request(f"/api/tx/{TXID}").respond_with_json(
        tx_json(outputs=[output(ADDRESS, value)])
    )
    with pytest.raises(ChainSourceUnavailable) as caught:
        client(httpserver).transaction(TXID)
    assert re.match(
        rf"Esplora API {url(httpserver, f'/tx/{TXID}')} \(HTTP 200\): malformed answer: {message}",
        str(caught.value),
    ), str(caught.value)


def test_value_missing_is_refused(httpserver):
    item = output(ADDRESS, 1)
    del item["value"]
    httpserver.expect_request(f"/api/tx/{TXID}").respond_with_json(tx_json(outputs=[item]))
    with pytest.raises(
        ChainSourceUnavailable, match=r"malformed answer: vout\[0\]\.value is missing"
    ):
        client(httpserver).transaction(TXID)


def test_confirmed_without_block_height_is_refused(httpserver):
    body = tx_json()
    del body["status"]["block_height"]
    httpserver.expect_request(f"/api/tx/{TXID}").respond_with_json(body)
    with pytest.raises(
        ChainSourceUnavailable,
        match=r"malformed answer: status\.block_height must be a non-negative integer, got None",
    ):
        client(httpserver).transaction(TXID)


def test_malformed_json_is_refused(httpserver):
    httpserver.expect_request(f"/api/tx/{TXID}").respond_with_data(
        '{"txid": "' + TXID + '", "vout": [', content_type="application/json"
    )
    with pytest.raises(ChainSourceUnavailable) as caught:
        client(httpserver).transaction(TXID)
    message = str(caught.value)
    assert message.startswith(
        f"Esplora API {httpserver.url_for('/api/tx/' + TXID)} (HTTP 200): answered with "
        "something that is not JSON (application/json): "
    )
    assert isinstance(caught.value, PoolApiError)  # retried by the tasks that retry fetches
    assert caught.value.url == httpserver.url_for(f"/api/tx/{TXID}")


def test_json_of_another_shape_is_refused(httpserver):
    httpserver.expect_request(f"/api/tx/{TXID}").respond_with_json(["not", "a", "tx"])
    with pytest.raises(
        ChainSourceUnavailable, match=r"malformed answer: the answer must be a JSON object"
    ):
        client(httpserver).transaction(TXID)


@pytest.mark.parametrize("bad", ["", "abc", TXID[:-1], TXID + "0", "g" * 64, f"{TXID[:32]}/../x"])
def test_bad_txid_is_refused_before_any_request(httpserver, bad):
    with pytest.raises(ValueError, match=r"is not a transaction id \(64 hex characters\)"):
        client(httpserver).transaction(bad)
    assert httpserver.log == []


# ---------------------------------------------------------------------------------------
# /blocks/tip/height


def test_tip_height(httpserver):
    httpserver.expect_request("/api/blocks/tip/height").respond_with_data(
        "930117", content_type="text/plain"
    )
    assert client(httpserver).tip_height() == 930117


def test_tip_height_that_is_not_a_number_is_refused(httpserver):
    httpserver.expect_request("/api/blocks/tip/height").respond_with_data("<html>oops</html>")
    with pytest.raises(
        ChainSourceUnavailable,
        match=rf"^Esplora API {url(httpserver, '/blocks/tip/height')}: "
        r"the tip height is not a whole number: '<html>oops</html>'$",
    ):
        client(httpserver).tip_height()


# ---------------------------------------------------------------------------------------
# /address/:address/txs/chain


def chain_page(first: int, count: int, *, start: int = BLOCK_TIME, step: int = 600) -> list:
    """`count` confirmed transactions, newest first, numbered from `first`, one per block."""
    return [
        tx_json(
            txid(n),
            [output(ADDRESS, 1000 + n)],
            height=930112 - n,
            block_time=start - n * step,
        )
        for n in range(first, first + count)
    ]


def test_address_transactions_page_by_last_seen_txid(httpserver):
    base = f"/api/address/{ADDRESS}/txs/chain"
    httpserver.expect_ordered_request(base).respond_with_json(chain_page(0, 25))
    httpserver.expect_ordered_request(f"{base}/{txid(24)}").respond_with_json(chain_page(25, 25))
    httpserver.expect_ordered_request(f"{base}/{txid(49)}").respond_with_json(chain_page(50, 7))

    found = client(httpserver).address_transactions(ADDRESS)

    httpserver.check_assertions()
    assert len(httpserver.log) == 3
    assert [tx.txid for tx in found] == [txid(n) for n in range(57)]
    assert found[56].block_height == 930112 - 56
    assert found[56].paid_to(ADDRESS) == Decimal("0.00001056")
    assert PAGE_SIZE == 25


def test_address_transactions_stop_at_an_empty_page(httpserver):
    base = f"/api/address/{ADDRESS}/txs/chain"
    httpserver.expect_ordered_request(base).respond_with_json(chain_page(0, 25))
    httpserver.expect_ordered_request(f"{base}/{txid(24)}").respond_with_json([])

    found = client(httpserver).address_transactions(ADDRESS)

    httpserver.check_assertions()
    assert len(found) == 25


def test_address_without_transactions(httpserver):
    httpserver.expect_request(f"/api/address/{ADDRESS}/txs/chain").respond_with_json([])
    assert client(httpserver).address_transactions(ADDRESS) == []


def test_since_stops_paging_early(httpserver):
    # One block a day, newest first: page 2 reaches back past `since`, page 3 is never asked.
    base = f"/api/address/{ADDRESS}/txs/chain"
    day = 86400
    httpserver.expect_ordered_request(base).respond_with_json(chain_page(0, 25, step=day))
    httpserver.expect_ordered_request(f"{base}/{txid(24)}").respond_with_json(
        chain_page(25, 25, step=day)
    )
    since = datetime.fromtimestamp(BLOCK_TIME - 30 * day, tz=UTC)

    found = client(httpserver).address_transactions(ADDRESS, since=since)

    httpserver.check_assertions()
    assert len(httpserver.log) == 2
    assert [tx.txid for tx in found] == [txid(n) for n in range(31)]  # day 30 is `since` itself
    assert all(tx.block_time is not None and tx.block_time >= since for tx in found)


def test_since_looks_past_block_times_out_of_order(httpserver):
    # Block times may go back by up to two hours: a page ending an hour before `since` does
    # not stop the walk, and a later page's transaction in the window is still found.
    base = f"/api/address/{ADDRESS}/txs/chain"
    since = datetime.fromtimestamp(BLOCK_TIME, tz=UTC) - timedelta(hours=5)
    first = chain_page(0, 25, step=60)
    first[-1]["status"]["block_time"] = int((since - timedelta(hours=1)).timestamp())
    second = chain_page(25, 3, step=60)  # an earlier block stamped later, inside the window
    httpserver.expect_ordered_request(base).respond_with_json(first)
    httpserver.expect_ordered_request(f"{base}/{txid(24)}").respond_with_json(second)

    found = client(httpserver).address_transactions(ADDRESS, since=since)

    httpserver.check_assertions()
    assert [tx.txid for tx in found] == [txid(n) for n in range(24)] + [
        txid(25),
        txid(26),
        txid(27),
    ]


def test_since_must_be_aware(httpserver):
    with pytest.raises(ValueError, match=r"since must be an aware datetime"):
        client(httpserver).address_transactions(ADDRESS, since=datetime(2026, 1, 1))
    assert httpserver.log == []


def test_paging_is_bounded(httpserver):
    base = f"/api/address/{ADDRESS}/txs/chain"
    httpserver.expect_ordered_request(base).respond_with_json(chain_page(0, 25))
    httpserver.expect_ordered_request(f"{base}/{txid(24)}").respond_with_json(chain_page(25, 25))

    with pytest.raises(ChainSourceUnavailable) as caught:
        client(httpserver, max_pages=2).address_transactions(ADDRESS)

    assert str(caught.value) == (
        f"Esplora API {httpserver.url_for(base)}: more than 2 pages of 25 transactions; "
        "give `since` to stop earlier"
    )


def test_a_page_that_does_not_advance_is_refused(httpserver):
    base = f"/api/address/{ADDRESS}/txs/chain"
    httpserver.expect_request(base).respond_with_json(chain_page(0, 25))
    httpserver.expect_request(f"{base}/{txid(24)}").respond_with_json(chain_page(0, 25))
    with pytest.raises(
        ChainSourceUnavailable, match=rf"the next page after {txid(24)} starts over at {txid(24)}"
    ):
        client(httpserver).address_transactions(ADDRESS)
    assert len(httpserver.log) == 2


def test_a_bad_transaction_in_a_page_is_named(httpserver):
    page = chain_page(0, 3)
    page[2]["vout"][0]["value"] = 0.5
    httpserver.expect_request(f"/api/address/{ADDRESS}/txs/chain").respond_with_json(page)
    with pytest.raises(
        ChainSourceUnavailable, match=r"malformed answer: \[2\]\.vout\[0\]\.value must be whole"
    ):
        client(httpserver).address_transactions(ADDRESS)


@pytest.mark.parametrize("bad", ["", "bc1q/../tx", "bc1q x", "bc1q?x=1", "bc1q#x", "bc1q%2F"])
def test_bad_address_is_refused_before_any_request(httpserver, bad):
    with pytest.raises(ValueError, match=r"is not an address"):
        client(httpserver).address_transactions(bad)
    with pytest.raises(ValueError, match=r"is not an address"):
        client(httpserver).address_balance(bad)
    assert httpserver.log == []


# ---------------------------------------------------------------------------------------
# /address/:address


def test_address_balance_with_mempool_figures(httpserver):
    httpserver.expect_request(f"/api/address/{ADDRESS}").respond_with_json(
        {
            "address": ADDRESS,
            "chain_stats": {
                "funded_txo_count": 12,
                "funded_txo_sum": 620571400,
                "spent_txo_count": 3,
                "spent_txo_sum": 200000000,
                "tx_count": 14,
            },
            "mempool_stats": {
                "funded_txo_count": 1,
                "funded_txo_sum": 51714000,
                "spent_txo_count": 1,
                "spent_txo_sum": 100000000,
                "tx_count": 2,
            },
        }
    )

    balance = client(httpserver).address_balance(ADDRESS)

    assert balance == AddressBalance(
        address=ADDRESS,
        chain_funded=Decimal("6.20571400"),
        chain_spent=Decimal("2.00000000"),
        chain_tx_count=14,
        mempool_funded=Decimal("0.51714000"),
        mempool_spent=Decimal("1.00000000"),
        mempool_tx_count=2,
    )
    assert str(balance.confirmed) == "4.20571400"
    assert balance.mempool_change == Decimal("-0.48286")


def test_address_balance_without_mempool_stats_is_refused(httpserver):
    httpserver.expect_request(f"/api/address/{ADDRESS}").respond_with_json(
        {
            "address": ADDRESS,
            "chain_stats": {"funded_txo_sum": 1, "spent_txo_sum": 0, "tx_count": 1},
        }
    )
    with pytest.raises(
        ChainSourceUnavailable, match=r"malformed answer: mempool_stats must be a JSON object"
    ):
        client(httpserver).address_balance(ADDRESS)


def test_address_balance_spending_more_than_funded_is_refused(httpserver):
    stats = {"funded_txo_sum": 1, "spent_txo_sum": 2, "tx_count": 2}
    httpserver.expect_request(f"/api/address/{ADDRESS}").respond_with_json(
        {"address": ADDRESS, "chain_stats": stats, "mempool_stats": stats}
    )
    with pytest.raises(
        ChainSourceUnavailable,
        match=r"chain_stats spends 0.00000002 BTC, more than the 0.00000001 BTC funded",
    ):
        client(httpserver).address_balance(ADDRESS)


def test_address_balance_of_another_address_is_refused(httpserver):
    stats = {"funded_txo_sum": 0, "spent_txo_sum": 0, "tx_count": 0}
    httpserver.expect_request(f"/api/address/{ADDRESS}").respond_with_json(
        {"address": OTHER, "chain_stats": stats, "mempool_stats": stats}
    )
    with pytest.raises(ChainSourceUnavailable, match=rf"address is '{OTHER}', not '{ADDRESS}'"):
        client(httpserver).address_balance(ADDRESS)


# ---------------------------------------------------------------------------------------
# Transport


def test_server_error_is_asked_again_then_refused(httpserver):
    httpserver.expect_request(f"/api/tx/{TXID}").respond_with_data(
        "Internal Server Error", status=500
    )
    with pytest.raises(ChainSourceUnavailable) as caught:
        client(httpserver, retries=2).transaction(TXID)
    assert str(caught.value) == (
        f"Esplora API {httpserver.url_for('/api/tx/' + TXID)} (HTTP 500): "
        "Internal Server Error after 3 attempts"
    )
    assert caught.value.status == 500
    assert len(httpserver.log) == 3


def test_transient_error_then_an_answer(httpserver):
    httpserver.expect_ordered_request("/api/blocks/tip/height").respond_with_data(
        "Service Unavailable", status=503
    )
    httpserver.expect_ordered_request("/api/blocks/tip/height").respond_with_data("930118")
    assert client(httpserver, retries=1).tip_height() == 930118
    httpserver.check_assertions()


def test_client_error_is_not_asked_again(httpserver):
    httpserver.expect_request(f"/api/address/{ADDRESS}").respond_with_data(
        "Invalid Bitcoin address", status=400
    )
    with pytest.raises(ChainSourceUnavailable) as caught:
        client(httpserver, retries=2).address_balance(ADDRESS)
    assert str(caught.value) == (
        f"Esplora API {httpserver.url_for('/api/address/' + ADDRESS)} (HTTP 400): "
        "Invalid Bitcoin address"
    )
    assert len(httpserver.log) == 1


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_names_the_url():
    port = closed_port()
    unreachable = EsploraClient(f"http://127.0.0.1:{port}/api", retries=1, backoff=0)
    with pytest.raises(ChainSourceUnavailable) as caught:
        unreachable.tip_height()
    assert str(caught.value) == (
        f"Esplora API http://127.0.0.1:{port}/api/blocks/tip/height: "
        "could not be reached (ConnectionError) after 2 attempts"
    )


def test_timeout_names_the_url(httpserver):
    late = LateAnswer(httpserver)
    httpserver.expect_request("/api/blocks/tip/height").respond_with_handler(late)
    with pytest.raises(ChainSourceUnavailable) as caught:
        client(httpserver, timeout=0.1, retries=0).tip_height()
    late.finish()
    assert str(caught.value) == (
        f"Esplora API {httpserver.url_for('/api/blocks/tip/height')}: "
        "no answer within 0.1 s (ReadTimeout)"
    )


def test_credentials_in_the_base_url_stay_out_of_messages():
    port = closed_port()
    unreachable = EsploraClient(f"http://user:s3cret@127.0.0.1:{port}", retries=0)
    with pytest.raises(ChainSourceUnavailable) as caught:
        unreachable.tip_height()
    assert "s3cret" not in str(caught.value)
    assert str(caught.value).startswith(f"Esplora API http://127.0.0.1:{port}/blocks/tip/height:")


def test_empty_base_url_is_refused():
    with pytest.raises(ValueError, match=r"set ESPLORA_URL"):
        EsploraClient("  ")


# ---------------------------------------------------------------------------------------
# Satoshis


def test_satoshis_convert_exactly():
    assert satoshis_to_btc(1) == Decimal("0.00000001")
    assert str(satoshis_to_btc(51714000)) == "0.51714000"
    assert str(satoshis_to_btc(2_100_000_000_000_000)) == "21000000.00000000"
    assert satoshis_to_btc(0) == 0
    for bad in (1.0, Decimal("1"), "1", -5, False):
        with pytest.raises(ValueError):
            satoshis_to_btc(bad)


def test_results_are_frozen():
    tx = ChainTransaction(
        txid=TXID, outputs=(), confirmed=False, block_height=None, block_time=None
    )
    with pytest.raises(AttributeError):
        tx.confirmed = True  # type: ignore[misc]


def test_inputs_read_what_each_spends_and_a_coinbase_spends_nothing(httpserver):
    body = tx_json()
    body["vin"] = [
        {"txid": "0" * 64, "vout": 4294967295, "prevout": None, "is_coinbase": True},
        {"txid": txid("funding"), "vout": 1, "prevout": output(ADDRESS, 2500)},
    ]
    httpserver.expect_request(f"/api/tx/{TXID}").respond_with_json(body)

    tx = client(httpserver).transaction(TXID)

    assert tx is not None
    assert tx.inputs == (
        ChainInput(index=0, address=None, amount=Decimal("0")),
        ChainInput(index=1, address=ADDRESS, amount=Decimal("0.00002500")),
    )
    assert tx.spent_from(ADDRESS) == Decimal("0.000025")


def test_an_input_spending_a_fraction_of_a_satoshi_is_refused(httpserver):
    body = tx_json()
    body["vin"][0]["prevout"] = output(ADDRESS, 1.5)
    httpserver.expect_request(f"/api/tx/{TXID}").respond_with_json(body)

    with pytest.raises(ChainSourceUnavailable) as error:
        client(httpserver).transaction(TXID)

    assert "vin[0].prevout.value must be whole satoshis" in str(error.value)
