"""Foundry client against a local stub of the earnings API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from holdings.importers import foundry
from holdings.importers.clients import Credentials, PoolApiError
from holdings.importers.records import ParseContext

SAMPLES = Path(__file__).resolve().parents[3] / "fixtures" / "samples"


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


def client(httpserver) -> foundry.Client:
    return foundry.Client(
        base_url=httpserver.url_for("/"), credentials=Credentials(api_key="fd-key")
    )


def test_fetch_day_returns_the_response_as_received(httpserver):
    body = (SAMPLES / "foundry_btc.json").read_bytes()
    httpserver.expect_request(
        "/v2/earnings/cango01",
        method="GET",
        headers={"x-api-key": "fd-key"},
        query_string={"coin": "BTC", "startDateUnixMs": "1767052800000"},
    ).respond_with_data(body, content_type="application/json")

    content = client(httpserver).fetch_day(
        sub_account="cango01", commodity="BTC", day=date(2025, 12, 30)
    )

    httpserver.check_assertions()
    assert content == body
    parsed = foundry.parse(
        content, ParseContext(file_name="foundry.json", commodity="BTC", scale=8)
    )
    assert [e.day for e in parsed.earnings] == [
        date(2025, 12, 30),
        date(2025, 12, 31),
        date(2026, 1, 1),
    ]
    assert parsed.earnings[2].net == Decimal("0.50421")


def test_http_error_quotes_the_provider(httpserver):
    httpserver.expect_request("/v2/earnings/cango01").respond_with_json(
        {"message": "Invalid API key"}, status=403
    )
    with pytest.raises(
        PoolApiError, match=r"Foundry API /v2/earnings/cango01 \(HTTP 403\): Invalid API key"
    ):
        client(httpserver).fetch_day(sub_account="cango01", commodity="BTC", day=date(2026, 1, 1))


def test_answer_that_is_not_an_array_is_refused(httpserver):
    httpserver.expect_request("/v2/earnings/cango01").respond_with_json(
        {"message": "Subaccount not found"}
    )
    with pytest.raises(PoolApiError, match=r"Subaccount not found"):
        client(httpserver).fetch_day(sub_account="cango01", commodity="BTC", day=date(2026, 1, 1))


def test_non_json_answer_is_refused(httpserver):
    httpserver.expect_request("/v2/earnings/cango01").respond_with_data("oops", status=200)
    with pytest.raises(PoolApiError, match=r"not JSON"):
        client(httpserver).fetch_day(sub_account="cango01", commodity="BTC", day=date(2026, 1, 1))
