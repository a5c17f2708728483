"""ViaBTC client against a local stub of the open API."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from holdings.importers import viabtc
from holdings.importers.clients import Credentials, PoolApiError
from holdings.importers.records import ParseContext

PROFIT = "/res/openapi/v1/profit/history"
PAYMENT = "/res/openapi/v1/wallet/payment/history"
TXID = "407cac573110c5d76f53aa4b88b299ac18873097cec813c4f7df4e17c06f498e"
DAY = {"coin": "BTC", "start_date": "2026-01-01", "end_date": "2026-01-01", "utc": "true"}


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


def page(rows: list[dict], *, number: int, has_next: bool) -> dict:
    return {
        "code": 0,
        "data": {
            "count": len(rows),
            "curr_page": number,
            "has_next": has_next,
            "total": 3,
            "total_page": 2,
            "data": rows,
        },
        "message": "OK",
    }


def profit(pps: str) -> dict:
    return {
        "coin": "BTC",
        "date": "2026-01-01",
        "pplns_profit": "0",
        "pps_profit": pps,
        "solo_profit": "0",
        "total_profit": pps,
    }


def client(httpserver) -> viabtc.Client:
    return viabtc.Client(
        base_url=httpserver.url_for("/"), credentials=Credentials(api_key="v1a-key")
    )


def expect(httpserver, path: str, number: int, body: dict) -> None:
    httpserver.expect_ordered_request(
        path,
        method="GET",
        headers={"X-API-KEY": "v1a-key"},
        query_string={**DAY, "page": str(number), "limit": str(viabtc.PAGE_SIZE)},
    ).respond_with_json(body)


def test_fetch_day_pages_through_profits_and_payments_in_utc(httpserver):
    # The same day appears on both pages (a page boundary moved): it must collapse.
    expect(httpserver, PROFIT, 1, page([profit("0.51714000")], number=1, has_next=True))
    expect(httpserver, PROFIT, 2, page([profit("0.51714000")], number=2, has_next=False))
    payment = {
        "id": 157,
        "coin": "BTC",
        "amount": "2.04930000",
        "address": "bc1qexample",
        "tx": TXID,
        "create_time": 1767268800,
    }
    expect(httpserver, PAYMENT, 1, page([payment], number=1, has_next=False))

    content = client(httpserver).fetch_day(
        sub_account="cango01", commodity="BTC", day=date(2026, 1, 1)
    )

    httpserver.check_assertions()
    assert len(json.loads(content)) == 3
    parsed = viabtc.parse(content, ParseContext(file_name="viabtc.json", commodity="BTC", scale=8))
    [earning] = parsed.earnings
    assert (earning.day, earning.net, earning.row) == (date(2026, 1, 1), Decimal("0.51714000"), 1)
    [paid] = parsed.payouts
    assert (paid.external_id, paid.amount, paid.paid_at, paid.row) == (
        "157",
        Decimal("2.04930000"),
        datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        3,
    )


def test_error_code_in_a_200_answer_is_refused(httpserver):
    httpserver.expect_request(PROFIT).respond_with_json(
        {"code": 227, "data": {}, "message": "Invalid API key"}
    )
    with pytest.raises(
        PoolApiError, match=rf"ViaBTC API {PROFIT}: error answer \(code 227\): Invalid API key"
    ):
        client(httpserver).fetch_day(sub_account="a", commodity="BTC", day=date(2026, 1, 1))


def test_http_error_is_refused(httpserver):
    httpserver.expect_request(PROFIT).respond_with_data("Bad Gateway", status=502)
    with pytest.raises(PoolApiError, match=rf"ViaBTC API {PROFIT} \(HTTP 502\): Bad Gateway"):
        client(httpserver).fetch_day(sub_account="a", commodity="BTC", day=date(2026, 1, 1))


def test_answer_without_rows_is_refused(httpserver):
    httpserver.expect_request(PROFIT).respond_with_json({"code": 0, "data": None, "message": "OK"})
    with pytest.raises(PoolApiError, match=r"no data.data list"):
        client(httpserver).fetch_day(sub_account="a", commodity="BTC", day=date(2026, 1, 1))
