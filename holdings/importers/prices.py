"""Prices: the CSV `timestamp,base,quote,price,source`, and the Coin Metrics client.

One price per base, quote and timestamp. Which timestamp a day's revenue uses is the price
policy's business (by default 00:00 UTC at the end of the earning day), not the parser's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from holdings.importers.clients import DEFAULT_TIMEOUT, MAX_PAGES, JsonApi, PoolApiError
from holdings.importers.common import Fields, midnight, object_fields, read_csv
from holdings.importers.records import ImportFileError, PriceQuote

PRICE_COLUMNS = ("timestamp", "base", "quote", "price", "source")
PRICE_HEADER = ",".join(PRICE_COLUMNS)

_CODE = re.compile(r"[A-Z0-9]{2,12}")


def parse_prices(content: bytes, *, file_name: str) -> list[PriceQuote]:
    _kind, rows = read_csv(content, file_name=file_name, headers={"prices": (PRICE_COLUMNS, ())})
    quotes = []
    for row in rows:
        item = Fields(row.values, file_name=file_name, row=row.line)
        quotes.append(
            _quote(
                item,
                timestamp=item.iso_utc("timestamp"),
                base_field="base",
                quote_field="quote",
                price_field="price",
                source=item.text("source"),
            )
        )
    return unique_quotes(quotes, file_name=file_name)


def _code(item: Fields, name: str) -> str:
    code = item.text(name)
    if not _CODE.fullmatch(code):
        raise item.error(f"{code!r} must be an upper-case code such as BTC or USD", name)
    return code


def _quote(
    item: Fields,
    *,
    timestamp: datetime,
    base_field: str,
    quote_field: str,
    price_field: str,
    source: str,
) -> PriceQuote:
    base = _code(item, base_field)
    quote = _code(item, quote_field)
    if base == quote:
        raise item.error(
            f"is {quote}, the same as the base: a price needs two commodities", quote_field
        )
    price = item.number(price_field)
    if price <= 0:
        raise item.error(f"must be greater than zero, got {price}", price_field)
    return PriceQuote(
        timestamp=timestamp, base=base, quote=quote, price=price, source=source, row=item.row
    )


def unique_quotes(quotes: Iterable[PriceQuote], *, file_name: str) -> list[PriceQuote]:
    """One quote per (base, quote, timestamp): repeats of the same price collapse, a second
    price for the same moment is an error naming both rows."""
    first_seen: dict[tuple[str, str, datetime], PriceQuote] = {}
    kept: list[PriceQuote] = []
    for quote in quotes:
        key = (quote.base, quote.quote, quote.timestamp)
        first = first_seen.get(key)
        if first is None:
            first_seen[key] = quote
            kept.append(quote)
        elif first.price != quote.price:
            raise ImportFileError(
                f"{quote.base}/{quote.quote} at {quote.timestamp.isoformat()} is {quote.price}, "
                f"but row {first.row} gives {first.price}",
                file_name=file_name,
                row=quote.row,
                field="price",
            )
    return kept


# ---------------------------------------------------------------------------------------
# Coin Metrics API v4

COINMETRICS = "Coin Metrics"
ASSET_METRICS_PATH = "/v4/timeseries/asset-metrics"
METRIC = "PriceUSD"
PAGE_SIZE = 1000
_CM_DAY = re.compile(r"(\d{4}-\d{2}-\d{2})T00:00:00(\.0+)?Z")


class CoinMetricsClient:
    """Daily USD reference prices from Coin Metrics (`PriceUSD`, frequency 1d).

    Coin Metrics stamps a daily `PriceUSD` with the start of its day, but the price is the
    one as of the end of that day (00:00 UTC the next day). Quotes here carry the moment the
    price is as of, so the row stamped 2025-12-31 becomes the quote at 2026-01-01T00:00Z.
    """

    def __init__(
        self, base_url: str, api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self._api = JsonApi(pool=COINMETRICS, base_url=base_url, timeout=timeout)
        self._api_key = api_key
        self._origin = urlsplit(self._api.base_url)[:2]

    def fetch(self, *, bases: list[str], start: date, end: date) -> list[PriceQuote]:
        """USD quotes at 00:00 UTC of each day from `start` to `end` (both included), for
        each base commodity (BTC, KAS...), with source "coinmetrics"."""
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        if not bases:
            return []
        one_day = timedelta(days=1)
        params = {
            "assets": ",".join(base.lower() for base in bases),
            "metrics": METRIC,
            "frequency": "1d",
            # Shifted back a day: Coin Metrics' row for day D is the price at D+1 00:00.
            "start_time": (start - one_day).isoformat(),
            "end_time": (end - one_day).isoformat(),
            "page_size": str(PAGE_SIZE),
        }
        if self._api_key:
            params["api_key"] = self._api_key
        rows: list[Any] = []
        response = self._api.call("GET", ASSET_METRICS_PATH, params=params)
        for _page in range(MAX_PAGES):
            data = response.data
            if not isinstance(data, dict) or not isinstance(data.get("data"), list):
                raise PoolApiError(COINMETRICS, ASSET_METRICS_PATH, "answer has no 'data' list")
            rows += data["data"]
            next_url = data.get("next_page_url")
            if not next_url:
                return self._quotes(rows, wanted={base.upper() for base in bases})
            response = self._api.call("GET", ASSET_METRICS_PATH, **self._next_page(next_url))
        raise PoolApiError(COINMETRICS, ASSET_METRICS_PATH, f"more than {MAX_PAGES} pages")

    def _next_page(self, next_url: Any) -> dict[str, Any]:
        if not isinstance(next_url, str) or urlsplit(next_url)[:2] != self._origin:
            # The API key rides in the query string: never send it to another host.
            raise PoolApiError(
                COINMETRICS,
                ASSET_METRICS_PATH,
                f"next_page_url {next_url!r} leaves {self._api.base_url}",
            )
        needs_key = self._api_key and "api_key" not in parse_qs(urlsplit(next_url).query)
        return {"url": next_url, "params": {"api_key": self._api_key} if needs_key else None}

    def _quotes(self, rows: list[Any], *, wanted: set[str]) -> list[PriceQuote]:
        name = "Coin Metrics answer"
        quotes = []
        try:
            for number, row in enumerate(rows, start=1):
                item = object_fields(row, file_name=name, row=number)
                if not item.present(METRIC):
                    continue  # no price published for that asset and day
                base = item.text("asset").upper()
                if base not in wanted:
                    raise item.error(f"{base} was not asked for", "asset")
                quotes.append(
                    _quote(
                        Fields({**row, "base": base, "quote": "USD"}, file_name=name, row=number),
                        timestamp=_as_of(item),
                        base_field="base",
                        quote_field="quote",
                        price_field=METRIC,
                        source="coinmetrics",
                    )
                )
            return unique_quotes(quotes, file_name=name)
        except ImportFileError as exc:
            raise PoolApiError(COINMETRICS, ASSET_METRICS_PATH, str(exc)) from exc


def _as_of(item: Fields) -> datetime:
    """The moment a daily row's price is as of: the end of the day it is stamped with."""
    text = item.text("time")
    match = _CM_DAY.fullmatch(text)
    if not match:
        raise item.error(f"{text!r} is not the start of a UTC day", "time")
    try:
        day = date.fromisoformat(match.group(1))
    except ValueError as exc:
        raise item.error(f"{text!r} is not a real date", "time") from exc
    return midnight(item.within_books(day, "time")) + timedelta(days=1)
