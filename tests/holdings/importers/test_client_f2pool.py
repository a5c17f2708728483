"""F2Pool client against a local stub of the API v2."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from holdings.importers import f2pool
from holdings.importers.clients import Credentials, PoolApiError
from holdings.importers.records import ParseContext
from tests.conftest import LateAnswer

PATH = "/v2/assets/transactions/list"
TXID = "cad06fdf886b792c588568ce9b84a7302dcc833347710ac5fc419b395cffa4ab"
REVENUE = (
    b'{"transactions":[{"id":9876543210,"type":"revenue","changed_balance":0.51714,'
    b'"created_at":1767312000,"mining_extra":{"mining_date":1767225600,"settle_date":1767312000,'
    b'"pps":0.5040,"pps_fee_rate":0.025,"tx_fee":0.0131,"tx_fee_rate":0.025,"hash_rate":1.2e18}}]}'
)
PAYOUT = (
    b'{"transactions":[{"id":9876543299,"type":"payout","changed_balance":-2.0493,'
    b'"created_at":1767268800,"payout_extra":{"value":2.0493,"address":"bc1qexample",'
    b'"tx_id":"'
    + TXID.encode()
    + b'","paid_time":1767268800,"wallet_type":"mainnet","tip":0.00001}}]}'
)


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


def client(httpserver, secret: str = "t0ken", timeout: float = 5.0) -> f2pool.Client:
    return f2pool.Client(
        base_url=httpserver.url_for("/"),
        credentials=Credentials(api_secret=secret),
        timeout=timeout,
    )


def test_fetch_day_asks_for_the_days_income_and_payouts_and_parses(httpserver):
    auth = {"F2P-API-SECRET": "t0ken"}
    income = {
        "currency": "bitcoin",
        "mining_user_name": "cango01",
        "type": "revenue",
        "start_time": 1767312000,  # credited over the following UTC day
        "end_time": 1767398400,
    }
    payouts = {**income, "type": "payout", "start_time": 1767225600, "end_time": 1767312000}
    httpserver.expect_ordered_request(
        PATH, method="POST", headers=auth, json=income
    ).respond_with_data(REVENUE, content_type="application/json")
    httpserver.expect_ordered_request(
        PATH, method="POST", headers=auth, json=payouts
    ).respond_with_data(PAYOUT, content_type="application/json")

    content = client(httpserver).fetch_day(
        sub_account="cango01", commodity="BTC", day=date(2026, 1, 1)
    )

    httpserver.check_assertions()
    assert content == b"[" + REVENUE + b",\n" + PAYOUT + b"]"  # responses kept byte for byte
    parsed = f2pool.parse(content, ParseContext(file_name="f2pool.json", commodity="BTC", scale=8))
    [earning] = parsed.earnings
    assert (earning.day, earning.net, earning.external_id) == (
        date(2026, 1, 1),
        Decimal("0.51714"),
        "9876543210",
    )
    [paid] = parsed.payouts
    assert (paid.txid, paid.amount, paid.paid_at) == (
        TXID,
        Decimal("2.0493"),
        datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
    )


def test_commodity_maps_to_f2pool_currency(httpserver):
    body = b'{"transactions": []}'
    for kind in ("revenue", "payout"):
        httpserver.expect_ordered_request(
            PATH,
            method="POST",
            json={
                "currency": "kaspa",
                "mining_user_name": "kas01",
                "type": kind,
                "start_time": 1767312000 if kind == "revenue" else 1767225600,
                "end_time": 1767398400 if kind == "revenue" else 1767312000,
            },
        ).respond_with_data(body, content_type="application/json")
    content = client(httpserver).fetch_day(
        sub_account="kas01", commodity="KAS", day=date(2026, 1, 1)
    )
    httpserver.check_assertions()
    parsed = f2pool.parse(content, ParseContext(file_name="kas.json", commodity="KAS", scale=8))
    assert parsed.earnings == [] and parsed.payouts == []


def test_unknown_commodity_is_refused_before_any_request(httpserver):
    with pytest.raises(ValueError, match=r"DOGE"):
        client(httpserver).fetch_day(sub_account="a", commodity="DOGE", day=date(2026, 1, 1))
    assert httpserver.log == []


def test_balance(httpserver):
    httpserver.expect_request(
        "/v2/assets/balance",
        method="POST",
        headers={"F2P-API-SECRET": "t0ken"},
        json={"currency": "bitcoin", "mining_user_name": "cango01"},
    ).respond_with_data(
        b'{"balance_info":{"balance":0.51714,"paid":2.0493,"total_income":2.56644,'
        b'"yesterday_income":0.51714,"estimated_today_income":0.5201}}',
        content_type="application/json",
    )
    balance = client(httpserver).balance(sub_account="cango01", commodity="BTC")
    assert balance == {
        "balance": Decimal("0.51714"),
        "paid": Decimal("2.0493"),
        "total_income": Decimal("2.56644"),
        "yesterday_income": Decimal("0.51714"),
        "estimated_today_income": Decimal("0.5201"),
    }
    assert str(balance["balance"]) == "0.51714"


def test_http_error_names_pool_path_status_and_message(httpserver):
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        {"code": 401, "msg": "invalid api secret"}, status=401
    )
    with pytest.raises(PoolApiError) as caught:
        client(httpserver).fetch_day(sub_account="a", commodity="BTC", day=date(2026, 1, 1))
    assert str(caught.value) == f"F2Pool API {PATH} (HTTP 401): invalid api secret"
    assert caught.value.status == 401


def test_answer_that_is_not_json_is_refused(httpserver):
    httpserver.expect_request(PATH, method="POST").respond_with_data("<html>maintenance</html>")
    with pytest.raises(
        PoolApiError, match=r"F2Pool API .* \(HTTP 200\): answered with something that is not JSON"
    ):
        client(httpserver).fetch_day(sub_account="a", commodity="BTC", day=date(2026, 1, 1))


def test_json_without_transactions_is_refused(httpserver):
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        {"code": 1001, "msg": "user not found"}
    )
    with pytest.raises(PoolApiError, match=r"user not found"):
        client(httpserver).fetch_day(sub_account="a", commodity="BTC", day=date(2026, 1, 1))


def test_balance_with_a_non_number_is_refused(httpserver):
    httpserver.expect_request("/v2/assets/balance", method="POST").respond_with_json(
        {"balance_info": {"balance": "lots"}}
    )
    with pytest.raises(PoolApiError, match=r"balance_info.balance is not a number"):
        client(httpserver).balance(sub_account="a", commodity="BTC")


def test_timeout_becomes_a_pool_api_error(httpserver):
    late = LateAnswer(httpserver)
    httpserver.expect_request(PATH, method="POST").respond_with_handler(late)
    with pytest.raises(PoolApiError, match=r"no answer from 127\.0\.0\.1:\d+ \(ReadTimeout\)"):
        client(httpserver, timeout=0.1).fetch_day(
            sub_account="a", commodity="BTC", day=date(2026, 1, 1)
        )
    late.finish()


def test_unreachable_server_becomes_a_pool_api_error():
    unreachable = f2pool.Client(
        base_url="http://127.0.0.1:9", credentials=Credentials(api_secret="t")
    )
    with pytest.raises(PoolApiError, match=r"no answer from 127.0.0.1:9"):
        unreachable.fetch_day(sub_account="a", commodity="BTC", day=date(2026, 1, 1))
