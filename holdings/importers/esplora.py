"""On-chain evidence from an Esplora server (the HTTP API of Blockstream and mempool.space).

Read-only and pure: typed results, no database. Amounts arrive as integer satoshis and are
returned as exact Decimal BTC (satoshis / 10**8, never through a float); a value that is
not a whole, non-negative number of satoshis makes the answer unusable. The same client
reads another chain's Esplora-shaped explorer given that chain's `ChainUnit` (KAS in sompi,
10**-8; ETC in wei, 10**-18).

Endpoints read (the base URL is the `ESPLORA_URL` setting, e.g. https://blockstream.info/api):
- `GET /tx/:txid`: one transaction (404: the chain does not know it);
- `GET /blocks/tip/height`: the height of the best block, as plain text;
- `GET /address/:address/txs/chain[/:last_seen_txid]`: an address's confirmed
  transactions, newest first, 25 a page;
- `GET /address/:address`: `chain_stats` and `mempool_stats`, whose `funded_txo_sum` less
  `spent_txo_sum` is the balance.

Every failure to get a usable answer (no connection, a timeout, an HTTP error, a body that
is not the documented shape) is ChainSourceUnavailable, naming the URL and what went wrong,
so that a reconciliation reports the source as unreachable instead of passing silently.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests

from holdings.importers.clients import DEFAULT_TIMEOUT, MAX_PAGES, PoolApiError
from holdings.importers.common import decode_json
from ledger.money import EXACT

SOURCE = "Esplora"
PAGE_SIZE = 25  # Esplora's fixed page of /address/:address/txs/chain
SATOSHIS_PER_BTC = 10**8
MAX_SATOSHIS = 21_000_000 * SATOSHIS_PER_BTC  # no output or balance can hold more
BTC_PLACES = 8

# Answers worth asking again: the server or a proxy in front of it is briefly unwell.
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
DEFAULT_RETRIES = 2
DEFAULT_BACKOFF = 0.5  # seconds before the first retry, doubled each time

_TXID = re.compile(r"[0-9a-fA-F]{64}")
# Bitcoin addresses (base58 and bech32) are letters and digits only; anything else could
# change the URL the address is put into.
# Kaspa writes its addresses with the network's name in front (`kaspa:qr...`).
_ADDRESS = re.compile(r"([a-z]{1,16}:)?[A-Za-z0-9]{1,128}")
_HEIGHT_TEXT = re.compile(r"\d{1,10}")

# A block's time may run up to two hours ahead of the network's clock (a consensus rule), so
# a later block can carry an earlier time than the one before it: paging back to `since`
# goes this much further before it stops.
BLOCK_TIME_SLACK = timedelta(hours=2)

T = TypeVar("T")


class ChainSourceUnavailable(PoolApiError):
    """The chain source could not be asked, or answered something unusable.

    A PoolApiError, so the tasks that retry pool and price fetches retry this one too. The
    message is `Esplora API <url>[ (HTTP <status>)]: <what went wrong>`.
    """

    def __init__(self, url: str, message: str, *, status: int | None = None):
        super().__init__(SOURCE, url, message, status=status)
        self.url = url


class MalformedAnswer(ValueError):
    """Raised while reading an answer; the client turns it into ChainSourceUnavailable."""


# ---------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class ChainOutput:
    index: int  # position in the transaction's vout
    address: str | None  # None for outputs without one (OP_RETURN, bare scripts)
    amount: Decimal  # BTC, exact


@dataclass(frozen=True)
class ChainInput:
    index: int  # position in the transaction's vin
    address: str | None  # of the output it spends; None for a coinbase or a bare script
    amount: Decimal  # BTC, exact (zero for a coinbase)


@dataclass(frozen=True)
class ChainTransaction:
    txid: str  # 64 lower-case hex characters
    outputs: tuple[ChainOutput, ...]
    confirmed: bool
    block_height: int | None  # None while unconfirmed
    block_time: datetime | None  # aware UTC; None while unconfirmed
    fee: Decimal | None = None  # BTC, where the server reports it
    inputs: tuple[ChainInput, ...] = ()  # what it spends, from each vin's prevout

    def spent_from(self, address: str) -> Decimal:
        """What the transaction spends from `address`: the sum of its inputs' prevouts."""
        with localcontext(EXACT):
            return sum(
                (spent.amount for spent in self.inputs if spent.address == address), Decimal(0)
            )

    def paid_to(self, address: str) -> Decimal:
        """What the transaction pays to `address`: the sum of its outputs to it (zero if
        none). One transaction may pay the same address in several outputs."""
        with localcontext(EXACT):
            return sum(
                (output.amount for output in self.outputs if output.address == address),
                Decimal(0),
            )


@dataclass(frozen=True)
class AddressBalance:
    address: str
    chain_funded: Decimal  # BTC received in confirmed transactions
    chain_spent: Decimal  # BTC spent by confirmed transactions
    chain_tx_count: int
    mempool_funded: Decimal  # BTC received by unconfirmed transactions
    mempool_spent: Decimal  # BTC spent by unconfirmed transactions
    mempool_tx_count: int

    @property
    def confirmed(self) -> Decimal:
        """The confirmed balance: what the chain itself holds for the address."""
        with localcontext(EXACT):
            return self.chain_funded - self.chain_spent

    @property
    def mempool_change(self) -> Decimal:
        """What unconfirmed transactions would add (negative: take away) once mined."""
        with localcontext(EXACT):
            return self.mempool_funded - self.mempool_spent


@dataclass(frozen=True)
class ChainUnit:
    """What a chain's explorer counts in: whole smallest units (satoshis for BTC, sompi for
    KAS, wei for ETC), `places` decimals of the commodity, at most `max_units` of them."""

    commodity: str
    places: int
    max_units: int | None = None
    name: str = "units"


BTC_UNIT = ChainUnit("BTC", BTC_PLACES, MAX_SATOSHIS, "satoshis")


def satoshis_to_btc(value: Any) -> Decimal:
    """Whole satoshis (a JSON integer) as exact BTC with 8 decimals. ValueError otherwise."""
    return smallest_units(value, BTC_UNIT)


def smallest_units(value: Any, unit: ChainUnit) -> Decimal:
    """Whole smallest units (a JSON integer) as the exact amount of the commodity."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be whole {unit.name} (an integer), got {_show(value)}")
    if value < 0:
        raise ValueError(f"must not be negative, got {value} {unit.name}")
    if unit.max_units is not None and value > unit.max_units:
        whole = unit.max_units // 10**unit.places
        raise ValueError(
            f"{value} {unit.name} is more than {whole // 10**6} million {unit.commodity}"
        )
    with localcontext(EXACT):
        return Decimal(value).scaleb(-unit.places)


def confirmations(tx: ChainTransaction, tip_height: int) -> int:
    """Blocks that confirm `tx` with the best block at `tip_height`: 0 while unconfirmed,
    1 in the tip itself."""
    if not tx.confirmed or tx.block_height is None:
        return 0
    if tip_height < tx.block_height:
        # The tip was read before the block holding the transaction: read it again.
        raise ValueError(
            f"tip height {tip_height} is below block {tx.block_height} of transaction "
            f"{tx.txid}; read the tip after the transaction"
        )
    return tip_height - tx.block_height + 1


def checked_txid(txid: str) -> str:
    if not isinstance(txid, str) or not _TXID.fullmatch(txid):
        raise ValueError(f"{txid!r} is not a transaction id (64 hex characters)")
    return txid.lower()


def checked_address(address: str) -> str:
    if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
        raise ValueError(f"{address!r} is not an address (letters and digits, non-empty)")
    return address


# ---------------------------------------------------------------------------------------
# Reading answers (each raises MalformedAnswer naming the field)


def _show(value: Any) -> str:
    # A JSON number (read as Decimal) shows as written; text shows quoted.
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= 80 else text[:80] + "..."


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise MalformedAnswer(f"{where} must be a JSON object, got {_show(value)}")
    return value


def _integer(data: Mapping[str, Any], name: str, where: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedAnswer(f"{where}{name} must be a non-negative integer, got {_show(value)}")
    return value


def _btc(data: Mapping[str, Any], name: str, where: str, unit: ChainUnit = BTC_UNIT) -> Decimal:
    if name not in data:
        raise MalformedAnswer(f"{where}{name} is missing")
    try:
        return smallest_units(data[name], unit)
    except ValueError as exc:
        raise MalformedAnswer(f"{where}{name} {exc}") from exc


def _transaction(value: Any, where: str = "", unit: ChainUnit = BTC_UNIT) -> ChainTransaction:
    data = _object(value, where.rstrip(".") or "the answer")
    txid = data.get("txid")
    if not isinstance(txid, str) or not _TXID.fullmatch(txid):
        raise MalformedAnswer(f"{where}txid must be 64 hex characters, got {_show(txid)}")
    vout = data.get("vout")
    if not isinstance(vout, list):
        raise MalformedAnswer(f"{where}vout must be a list, got {_show(vout)}")
    outputs = []
    for index, item in enumerate(vout):
        at = f"{where}vout[{index}]."
        output = _object(item, at.rstrip("."))
        address = output.get("scriptpubkey_address")
        if address is not None and (not isinstance(address, str) or not address):
            raise MalformedAnswer(f"{at}scriptpubkey_address must be text, got {_show(address)}")
        outputs.append(
            ChainOutput(index=index, address=address, amount=_btc(output, "value", at, unit))
        )
    inputs = []
    vin = data.get("vin", [])  # a server may leave it out; then nothing is known spent
    if not isinstance(vin, list):
        raise MalformedAnswer(f"{where}vin must be a list, got {_show(vin)}")
    for index, item in enumerate(vin):
        at = f"{where}vin[{index}]."
        spent = _object(item, at.rstrip("."))
        prevout = spent.get("prevout")
        if prevout is None:  # a coinbase input spends nothing
            inputs.append(ChainInput(index=index, address=None, amount=Decimal(0)))
            continue
        prevout = _object(prevout, f"{at}prevout")
        address = prevout.get("scriptpubkey_address")
        if address is not None and (not isinstance(address, str) or not address):
            raise MalformedAnswer(
                f"{at}prevout.scriptpubkey_address must be text, got {_show(address)}"
            )
        inputs.append(
            ChainInput(
                index=index, address=address, amount=_btc(prevout, "value", f"{at}prevout.", unit)
            )
        )
    status = _object(data.get("status"), f"{where}status")
    confirmed = status.get("confirmed")
    if not isinstance(confirmed, bool):
        raise MalformedAnswer(
            f"{where}status.confirmed must be true or false, got {_show(confirmed)}"
        )
    height: int | None = None
    block_time: datetime | None = None
    if confirmed:
        height = _integer(status, "block_height", f"{where}status.")
        seconds = _integer(status, "block_time", f"{where}status.")
        try:
            block_time = datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise MalformedAnswer(
                f"{where}status.block_time {seconds} is not a usable time"
            ) from exc
    fee = _btc(data, "fee", where, unit) if "fee" in data else None
    return ChainTransaction(
        txid=txid.lower(),
        outputs=tuple(outputs),
        confirmed=confirmed,
        block_height=height,
        block_time=block_time,
        fee=fee,
        inputs=tuple(inputs),
    )


def _stats(
    data: Mapping[str, Any], name: str, unit: ChainUnit = BTC_UNIT
) -> tuple[Decimal, Decimal, int]:
    stats = _object(data.get(name), name)
    funded = _btc(stats, "funded_txo_sum", f"{name}.", unit)
    spent = _btc(stats, "spent_txo_sum", f"{name}.", unit)
    return funded, spent, _integer(stats, "tx_count", f"{name}.")


# ---------------------------------------------------------------------------------------
# The client


class EsploraClient:
    """An Esplora server's HTTP API. Only GETs, so every transient failure (no connection,
    a timeout, HTTP 500/502/503/504) is asked again, `retries` times, waiting `backoff`
    seconds and twice as long each time after."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        max_pages: int = MAX_PAGES,
        unit: ChainUnit = BTC_UNIT,
    ) -> None:
        if not base_url.strip():
            raise ValueError("the Esplora base URL is empty (set ESPLORA_URL)")
        if retries < 0 or max_pages < 1:
            raise ValueError("retries must be 0 or more and max_pages 1 or more")
        self.base_url = base_url.strip().rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_pages = max_pages
        self.unit = unit
        self.session = requests.Session()
        self.session.headers["Accept"] = "application/json"

    # -- endpoints

    def transaction(self, txid: str) -> ChainTransaction | None:
        """The transaction, or None if the chain (and the mempool) does not know it."""
        wanted = checked_txid(txid)
        path = f"/tx/{wanted}"
        response = self._fetch(path, missing_ok=True)
        if response is None:
            return None
        tx = self._read(path, response, lambda data: _transaction(data, unit=self.unit))
        if tx.txid != wanted:
            raise self._error(path, f"answered for transaction {tx.txid}, not {wanted}")
        return tx

    def tip_height(self) -> int:
        """The height of the best block."""
        path = "/blocks/tip/height"
        response = self._get(path)
        text = response.text.strip()
        if not _HEIGHT_TEXT.fullmatch(text):
            raise self._error(path, f"the tip height is not a whole number: {_show(text)}")
        return int(text)

    def address_transactions(
        self, address: str, *, since: datetime | None = None
    ) -> list[ChainTransaction]:
        """The address's confirmed transactions, newest first; with `since` (aware), only
        those in blocks at or after it, and no page further back than needed."""
        checked_address(address)
        if since is not None and since.utcoffset() is None:
            raise ValueError("since must be an aware datetime (UTC)")
        base = f"/address/{address}/txs/chain"
        found: list[ChainTransaction] = []
        seen: set[str] = set()
        path = base
        for _page in range(self.max_pages):
            page = self._read(
                path, self._get(path), lambda data: _transaction_page(data, self.unit)
            )
            past = False  # a transaction well before `since`: older pages cannot matter
            for tx in page:
                when = tx.block_time
                if since is not None and when is not None and when < since:
                    past = past or when < since - BLOCK_TIME_SLACK
                elif tx.txid not in seen:
                    seen.add(tx.txid)
                    found.append(tx)
            if past or len(page) < PAGE_SIZE:
                return found
            last = page[-1].txid
            if path.endswith(f"/{last}"):
                raise self._error(path, f"the next page after {last} starts over at {last}")
            path = f"{base}/{last}"
        raise self._error(
            base,
            f"more than {self.max_pages} pages of {PAGE_SIZE} transactions; "
            "give `since` to stop earlier",
        )

    def address_balance(self, address: str) -> AddressBalance:
        """Confirmed and unconfirmed figures of the address, in BTC."""
        checked_address(address)
        path = f"/address/{address}"
        return self._read(path, self._get(path), lambda data: _balance(address, data, self.unit))

    # -- transport

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _shown_url(self, path: str) -> str:
        # A self-hosted server may carry user:password in its URL: keep it out of messages.
        parts = urlsplit(self._url(path))
        host = parts.hostname or ""
        if parts.port is not None:
            host += f":{parts.port}"
        return urlunsplit(parts._replace(netloc=host))

    def _error(
        self, path: str, message: str, *, status: int | None = None
    ) -> ChainSourceUnavailable:
        return ChainSourceUnavailable(self._shown_url(path), message, status=status)

    def _get(self, path: str) -> requests.Response:
        response = self._fetch(path, missing_ok=False)
        assert response is not None
        return response

    def _fetch(self, path: str, *, missing_ok: bool) -> requests.Response | None:
        """The response to GET `path` (None for a 404 where `missing_ok`), asked again on
        transient failures; anything else than a 2xx is ChainSourceUnavailable."""
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                response = self.session.get(self._url(path), timeout=self.timeout)
            except requests.Timeout as exc:
                failure = self._error(
                    path,
                    f"no answer within {self.timeout:g} s ({type(exc).__name__}){_tries(attempt)}",
                )
            except requests.ConnectionError as exc:
                failure = self._error(
                    path, f"could not be reached ({type(exc).__name__}){_tries(attempt)}"
                )
            except requests.RequestException as exc:
                raise self._error(path, f"the request failed ({type(exc).__name__})") from exc
            else:
                if response.status_code == 404 and missing_ok:
                    return None
                if response.ok:
                    return response
                failure = self._error(
                    path,
                    (_snippet(response.text) or response.reason or "no detail") + _tries(attempt),
                    status=response.status_code,
                )
                if response.status_code not in TRANSIENT_STATUSES:
                    raise failure
            if attempt < attempts:
                time.sleep(self.backoff * 2 ** (attempt - 1))
        raise failure

    def _read(self, path: str, response: requests.Response, reader: Callable[[Any], T]) -> T:
        try:
            data = decode_json(response.content)
        except (ValueError, RecursionError):
            raise self._error(
                path,
                "answered with something that is not JSON "
                f"({response.headers.get('Content-Type', 'no content type')}): "
                f"{_snippet(response.text)!r}",
                status=response.status_code,
            ) from None
        try:
            return reader(data)
        except MalformedAnswer as exc:
            raise self._error(
                path, f"malformed answer: {exc}", status=response.status_code
            ) from exc


def _transaction_page(data: Any, unit: ChainUnit = BTC_UNIT) -> list[ChainTransaction]:
    if not isinstance(data, list):
        raise MalformedAnswer(f"a page of transactions must be a JSON array, got {_show(data)}")
    if len(data) > PAGE_SIZE:
        raise MalformedAnswer(f"a page holds {len(data)} transactions, more than {PAGE_SIZE}")
    return [_transaction(item, f"[{number}].", unit) for number, item in enumerate(data)]


def _balance(address: str, value: Any, unit: ChainUnit = BTC_UNIT) -> AddressBalance:
    data = _object(value, "the answer")
    if data.get("address") not in (None, address):
        raise MalformedAnswer(f"address is {_show(data.get('address'))}, not {address!r}")
    chain_funded, chain_spent, chain_count = _stats(data, "chain_stats", unit)
    if chain_spent > chain_funded:
        raise MalformedAnswer(
            f"chain_stats spends {chain_spent:f} {unit.commodity}, more than the "
            f"{chain_funded:f} {unit.commodity} funded"
        )
    mempool_funded, mempool_spent, mempool_count = _stats(data, "mempool_stats", unit)
    return AddressBalance(
        address=address,
        chain_funded=chain_funded,
        chain_spent=chain_spent,
        chain_tx_count=chain_count,
        mempool_funded=mempool_funded,
        mempool_spent=mempool_spent,
        mempool_tx_count=mempool_count,
    )


def _tries(attempt: int) -> str:
    return f" after {attempt} attempts" if attempt > 1 else ""


def _snippet(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
