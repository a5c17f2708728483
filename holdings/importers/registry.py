"""Which parser and which client serve each pool source."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Protocol

from holdings.importers import antpool, f2pool, foundry, generic_csv, viabtc
from holdings.importers.clients import DEFAULT_TIMEOUT, Credentials
from holdings.importers.records import ParseContext, ParsedFile

SOURCES = ("f2pool", "viabtc", "antpool", "foundry", "csv")

_PARSERS: dict[str, Callable[[bytes, ParseContext], ParsedFile]] = {
    "f2pool": f2pool.parse,
    "viabtc": viabtc.parse,
    "antpool": antpool.parse,
    "foundry": foundry.parse,
    "csv": generic_csv.parse,
}


class PoolClient(Protocol):
    def fetch_day(self, *, sub_account: str, commodity: str, day: date) -> bytes:
        """One UTC day's earnings and payouts, as a document the source's `parse` reads."""
        ...


class _ClientFactory(Protocol):
    def __call__(
        self, *, base_url: str, credentials: Credentials, timeout: float = ...
    ) -> PoolClient: ...


_CLIENTS: dict[str, _ClientFactory] = {
    "f2pool": f2pool.Client,
    "viabtc": viabtc.Client,
    "antpool": antpool.Client,
    "foundry": foundry.Client,
}


def _known(source: str) -> None:
    if source not in SOURCES:
        raise ValueError(f"unknown pool source {source!r}; expected one of {', '.join(SOURCES)}")


def parse(source: str, content: bytes, ctx: ParseContext) -> ParsedFile:
    _known(source)
    return _PARSERS[source](content, ctx)


def client_for(
    source: str, *, base_url: str, credentials: Credentials, timeout: float = DEFAULT_TIMEOUT
) -> PoolClient:
    _known(source)
    factory = _CLIENTS.get(source)
    if factory is None:
        raise ValueError(f"source {source!r} has no API client; its files are uploaded")
    return factory(base_url=base_url, credentials=credentials, timeout=timeout)
