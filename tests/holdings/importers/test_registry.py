"""The registry: which parser and client serve each source."""

from __future__ import annotations

from pathlib import Path

import pytest

from holdings.importers import antpool, f2pool, foundry, registry, viabtc
from holdings.importers.clients import Credentials
from holdings.importers.records import ParseContext

SAMPLES = Path(__file__).resolve().parents[3] / "fixtures" / "samples"
CREDENTIALS = Credentials(api_user="u", api_key="k", api_secret="s")


def test_sources():
    assert registry.SOURCES == ("f2pool", "viabtc", "antpool", "foundry", "csv")


@pytest.mark.parametrize(
    ("source", "sample", "earnings", "payouts"),
    [
        ("f2pool", "f2pool_btc_2026-01-01.json", 2, 1),
        ("viabtc", "viabtc_btc_pages.json", 3, 1),
        ("antpool", "antpool_btc_pages.json", 3, 1),
        ("foundry", "foundry_btc.json", 3, 0),
        ("csv", "generic_earnings.csv", 3, 0),
        ("csv", "generic_payouts.csv", 0, 2),
    ],
)
def test_parse_dispatches_by_source(source, sample, earnings, payouts):
    ctx = ParseContext(file_name=sample, commodity="BTC", scale=8)
    parsed = registry.parse(source, (SAMPLES / sample).read_bytes(), ctx)
    assert (len(parsed.earnings), len(parsed.payouts)) == (earnings, payouts)


def test_unknown_source_is_refused():
    with pytest.raises(ValueError, match=r"unknown pool source 'luxor'"):
        registry.parse("luxor", b"", ParseContext(file_name="f", commodity="BTC", scale=8))
    with pytest.raises(ValueError, match=r"unknown pool source"):
        registry.client_for("luxor", base_url="http://127.0.0.1", credentials=CREDENTIALS)


@pytest.mark.parametrize(
    ("source", "client_class"),
    [
        ("f2pool", f2pool.Client),
        ("viabtc", viabtc.Client),
        ("antpool", antpool.Client),
        ("foundry", foundry.Client),
    ],
)
def test_client_for(source, client_class):
    client = registry.client_for(source, base_url="http://127.0.0.1:1", credentials=CREDENTIALS)
    assert isinstance(client, client_class)


def test_csv_has_no_client():
    with pytest.raises(ValueError, match=r"no API client"):
        registry.client_for("csv", base_url="http://127.0.0.1", credentials=CREDENTIALS)


@pytest.mark.parametrize("source", ["f2pool", "viabtc", "antpool", "foundry"])
def test_clients_refuse_missing_credentials(source):
    with pytest.raises(ValueError, match=r"needs credentials"):
        registry.client_for(source, base_url="http://127.0.0.1", credentials=Credentials())
