"""Coin Metrics client against a local stub of the API v4."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from holdings.importers.clients import PoolApiError
from holdings.importers.prices import CoinMetricsClient

PATH = "/v4/timeseries/asset-metrics"


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


def row(asset: str, day: str, price: str | None) -> dict:
    data = {"asset": asset, "time": f"{day}T00:00:00.000000000Z"}
    if price is not None:
        data["PriceUSD"] = price
    return data


def query(**extra: str) -> dict:
    return {
        "assets": "btc,kas",
        "metrics": "PriceUSD",
        "frequency": "1d",
        "start_time": "2025-12-31",  # a day before `start`: see test_fetch_follows_pages
        "end_time": "2026-01-01",
        "page_size": "1000",
        **extra,
    }


def test_fetch_follows_pages_and_stamps_each_price_at_the_end_of_its_day(httpserver):
    next_url = httpserver.url_for(PATH) + "?assets=btc,kas&metrics=PriceUSD&next_page_token=abc"
    httpserver.expect_ordered_request(
        PATH, method="GET", query_string=query(api_key="cm-key")
    ).respond_with_json(
        {
            "data": [row("btc", "2025-12-31", "87512.34"), row("btc", "2026-01-01", "88130.07")],
            "next_page_url": next_url,
        }
    )
    httpserver.expect_ordered_request(
        PATH,
        method="GET",
        query_string={
            "assets": "btc,kas",
            "metrics": "PriceUSD",
            "next_page_token": "abc",
            "api_key": "cm-key",
        },
    ).respond_with_json(
        {"data": [row("kas", "2025-12-31", "0.04612"), row("kas", "2026-01-01", None)]}
    )

    client = CoinMetricsClient(httpserver.url_for("/"), api_key="cm-key")
    quotes = client.fetch(bases=["BTC", "KAS"], start=date(2026, 1, 1), end=date(2026, 1, 2))

    httpserver.check_assertions()
    # PriceUSD stamped 2025-12-31 is the price as of 2026-01-01 00:00 UTC.
    assert [(q.timestamp, q.base, q.quote, q.price, q.source) for q in quotes] == [
        (datetime(2026, 1, 1, tzinfo=UTC), "BTC", "USD", Decimal("87512.34"), "coinmetrics"),
        (datetime(2026, 1, 2, tzinfo=UTC), "BTC", "USD", Decimal("88130.07"), "coinmetrics"),
        (datetime(2026, 1, 1, tzinfo=UTC), "KAS", "USD", Decimal("0.04612"), "coinmetrics"),
    ]


def test_without_a_key_no_key_is_sent(httpserver):
    httpserver.expect_request(
        PATH, query_string=query(assets="btc", start_time="2025-12-31", end_time="2025-12-31")
    ).respond_with_json({"data": [row("btc", "2025-12-31", "87512.34")]})
    quotes = CoinMetricsClient(httpserver.url_for("/")).fetch(
        bases=["BTC"], start=date(2026, 1, 1), end=date(2026, 1, 1)
    )
    assert [q.price for q in quotes] == [Decimal("87512.34")]


def test_next_page_on_another_host_is_refused(httpserver):
    httpserver.expect_request(PATH).respond_with_json(
        {
            "data": [],
            "next_page_url": "https://elsewhere.example/v4/timeseries/asset-metrics?next_page_token=x",
        }
    )
    with pytest.raises(PoolApiError, match=r"leaves"):
        CoinMetricsClient(httpserver.url_for("/"), api_key="k").fetch(
            bases=["BTC"], start=date(2026, 1, 1), end=date(2026, 1, 1)
        )
    assert len(httpserver.log) == 1


def test_bad_price_is_refused(httpserver):
    httpserver.expect_request(PATH).respond_with_json({"data": [row("btc", "2025-12-31", "0")]})
    with pytest.raises(PoolApiError, match=r"row 1, field PriceUSD: must be greater than zero"):
        CoinMetricsClient(httpserver.url_for("/")).fetch(
            bases=["BTC"], start=date(2026, 1, 1), end=date(2026, 1, 1)
        )


def test_conflicting_prices_are_refused(httpserver):
    httpserver.expect_request(PATH).respond_with_json(
        {"data": [row("btc", "2025-12-31", "87512.34"), row("btc", "2025-12-31", "87000")]}
    )
    with pytest.raises(PoolApiError, match=r"row 2, field price: BTC/USD"):
        CoinMetricsClient(httpserver.url_for("/")).fetch(
            bases=["BTC"], start=date(2026, 1, 1), end=date(2026, 1, 1)
        )


def test_http_error_quotes_the_provider(httpserver):
    httpserver.expect_request(PATH).respond_with_json(
        {
            "error": {
                "type": "unauthorized",
                "message": "Requested resource requires authorization.",
            }
        },
        status=401,
    )
    with pytest.raises(
        PoolApiError, match=rf"Coin Metrics API {PATH} \(HTTP 401\): Requested resource requires"
    ):
        CoinMetricsClient(httpserver.url_for("/"), api_key="bad").fetch(
            bases=["BTC"], start=date(2026, 1, 1), end=date(2026, 1, 1)
        )


def test_api_key_never_appears_in_connection_errors():
    client = CoinMetricsClient("http://127.0.0.1:9", api_key="very-secret")
    with pytest.raises(PoolApiError) as caught:
        client.fetch(bases=["BTC"], start=date(2026, 1, 1), end=date(2026, 1, 1))
    assert "very-secret" not in str(caught.value)


def test_end_before_start_is_refused():
    with pytest.raises(ValueError, match=r"before start"):
        CoinMetricsClient("http://127.0.0.1:9").fetch(
            bases=["BTC"], start=date(2026, 1, 2), end=date(2026, 1, 1)
        )
