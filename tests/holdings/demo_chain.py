"""A local Esplora serving the demonstration's chain (fixtures/demo/chain/transactions.json).

`serve_demo_chain(server)` registers, on a pytest-httpserver `HTTPServer`, the endpoints the
Esplora client reads, answered as Blockstream and mempool.space answer them:

- `GET /tx/<txid>`: the transaction's JSON, 404 with a text body for one the file lacks;
- `GET /blocks/tip/height`: the tip height, as plain text;
- `GET /address/<address>`: `chain_stats` (funded and spent sums and counts over the file's
  transactions), `mempool_stats` all zero;
- `GET /address/<address>/txs/chain[/<last_seen_txid>]`: the address's transactions (those
  paying it or spending from it), newest first, 25 a page, each page after the txid given.

The file holds the payouts and the treasury's transfers only, so an address's figures are
what those moved, not its whole history (the opening balances predate them).

The server logs every request with its response: on a long run, `server.clear_log()` now
and then keeps that log small.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from holdings.services.demo import DEMO_DIR

CHAIN_FILE = DEMO_DIR / "chain" / "transactions.json"
PAGE_SIZE = 25  # Esplora's page of /address/:address/txs/chain
TXID = "[0-9a-fA-F]{64}"
ADDRESS = "[A-Za-z0-9]+"


@dataclass
class AddressStats:
    funded_txo_count: int = 0
    funded_txo_sum: int = 0
    spent_txo_count: int = 0
    spent_txo_sum: int = 0
    txids: list[str] = field(default_factory=list)  # oldest first

    def as_json(self) -> dict[str, int]:
        return {
            "funded_txo_count": self.funded_txo_count,
            "funded_txo_sum": self.funded_txo_sum,
            "spent_txo_count": self.spent_txo_count,
            "spent_txo_sum": self.spent_txo_sum,
            "tx_count": len(self.txids),
        }


@dataclass(frozen=True)
class DemoChain:
    tip_height: int
    transactions: dict[str, dict[str, Any]]  # txid: the Esplora JSON, in chain order
    addresses: dict[str, AddressStats]
    bodies: dict[str, bytes] = field(repr=False)  # txid: the JSON as served

    def newest_first(self, address: str) -> list[str]:
        stats = self.addresses.get(address)
        return list(reversed(stats.txids)) if stats else []


def load_demo_chain(path: Path = CHAIN_FILE) -> DemoChain:
    data = json.loads(path.read_text())
    transactions: dict[str, dict[str, Any]] = {}
    addresses: dict[str, AddressStats] = defaultdict(AddressStats)
    for tx in data["transactions"]:
        txid = tx["txid"]
        transactions[txid] = tx
        touched: list[str] = []
        for spent in tx["vin"]:
            address = spent["prevout"].get("scriptpubkey_address")
            if address:
                addresses[address].spent_txo_count += 1
                addresses[address].spent_txo_sum += spent["prevout"]["value"]
                touched.append(address)
        for output in tx["vout"]:
            address = output.get("scriptpubkey_address")
            if address:
                addresses[address].funded_txo_count += 1
                addresses[address].funded_txo_sum += output["value"]
                touched.append(address)
        for address in dict.fromkeys(touched):
            addresses[address].txids.append(txid)
    bodies = {
        txid: json.dumps(tx, separators=(",", ":")).encode() for txid, tx in transactions.items()
    }
    return DemoChain(
        tip_height=int(data["tip_height"]),
        transactions=transactions,
        addresses=dict(addresses),
        bodies=bodies,
    )


def serve_demo_chain(
    server: HTTPServer, *, prefix: str = "", chain: DemoChain | None = None
) -> DemoChain:
    """Register the demo chain's endpoints on `server` under `prefix` (e.g. "/api"); the
    chain served is returned."""
    chain = chain or load_demo_chain()
    base = re.escape(prefix.rstrip("/"))

    def transaction(request: Request) -> Response:
        txid = request.path.rsplit("/", 1)[1].lower()
        body = chain.bodies.get(txid)
        if body is None:
            return Response("Transaction not found", status=404, mimetype="text/plain")
        return Response(body, mimetype="application/json")

    def tip(request: Request) -> Response:
        return Response(str(chain.tip_height), mimetype="text/plain")

    def address_stats(request: Request) -> Response:
        address = request.path.rsplit("/", 1)[1]
        stats = chain.addresses.get(address, AddressStats())
        body = {
            "address": address,
            "chain_stats": stats.as_json(),
            "mempool_stats": AddressStats().as_json(),
        }
        return Response(json.dumps(body), mimetype="application/json")

    def address_txs(request: Request) -> Response:
        match = txs_path.match(request.path)
        assert match is not None
        address, last_seen = match.group(1), match.group(2)
        txids = chain.newest_first(address)
        start = 0
        if last_seen is not None:
            try:
                start = txids.index(last_seen.lower()) + 1
            except ValueError:
                return Response(
                    f"{last_seen} is not a transaction of {address}",
                    status=400,
                    mimetype="text/plain",
                )
        page = txids[start : start + PAGE_SIZE]
        body = b"[" + b",".join(chain.bodies[txid] for txid in page) + b"]"
        return Response(body, mimetype="application/json")

    txs_path = re.compile(rf"^{base}/address/({ADDRESS})/txs/chain(?:/({TXID}))?$")
    server.expect_request(re.compile(rf"^{base}/tx/{TXID}$"), method="GET").respond_with_handler(
        transaction
    )
    server.expect_request(
        f"{prefix.rstrip('/')}/blocks/tip/height", method="GET"
    ).respond_with_handler(tip)
    server.expect_request(
        re.compile(rf"^{base}/address/{ADDRESS}$"), method="GET"
    ).respond_with_handler(address_stats)
    server.expect_request(txs_path, method="GET").respond_with_handler(address_txs)
    return chain
