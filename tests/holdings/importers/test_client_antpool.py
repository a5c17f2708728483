"""Antpool client against a local stub: signed form posts, paging, recv then payout."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date
from decimal import Decimal

import pytest
from werkzeug import Request, Response

from holdings.importers import antpool
from holdings.importers.clients import Credentials, PoolApiError
from holdings.importers.records import ParseContext

PATH = "/api/paymentHistoryV2.htm"
TXID = "1196b67b85e774ed02d3afb208bb6a409e78341f790122b576c0f4680ec8736a"
CREDENTIALS = Credentials(api_user="cango01", api_key="ak-123", api_secret="s3cret")


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


def recv(day: str, block: str) -> dict:
    return {
        "timestamp": f"{day} 00:00:00",
        "hashrate": "1200.00 PH/s",
        "ppsAmount": "0",
        "pplnsAmount": "0",
        "soloAmount": "0",
        "ppappsAmount": "0",
        "ppapplnsAmount": "0",
        "fppsBlockAmount": block,
        "fppsFeeAmount": "0.01314000",
    }


PAGES = {
    ("recv", "1"): [recv("2026-01-01", "0.50400000"), recv("2025-12-31", "0.49000000")],
    ("recv", "2"): [recv("2025-12-30", "0.48000000")],
    ("payout", "1"): [
        {
            "id": "88123",
            "timestamp": "2026-01-02 03:14:07",
            "walletAddress": "bc1qexample",
            "txId": TXID,
            "amount": "0.51714000",
        }
    ],
}
TOTAL_PAGES = {"recv": 2, "payout": 1}


def client(httpserver) -> antpool.Client:
    return antpool.Client(base_url=httpserver.url_for("/"), credentials=CREDENTIALS)


def test_signature_is_upper_case_hex_hmac_sha256_of_user_key_nonce():
    expected = (
        hmac.new(b"s3cret", b"cango01ak-1231767225600000", hashlib.sha256).hexdigest().upper()
    )
    assert (
        antpool.signature(
            api_user="cango01", api_key="ak-123", api_secret="s3cret", nonce="1767225600000"
        )
        == expected
    )
    assert expected == expected.upper() and len(expected) == 64


def test_fetch_day_signs_every_request_and_pages_recv_then_payout(httpserver):
    forms: list[dict[str, str]] = []

    def serve(request: Request) -> Response:
        form = request.form.to_dict()
        forms.append(form)
        kind, page = form["type"], form["page"]
        body = {
            "code": 0,
            "message": "ok",
            "data": {
                "page": int(page),
                "totalPage": TOTAL_PAGES[kind],
                "pageSize": int(form["pageSize"]),
                "totalRecord": 3,
                "rows": PAGES[(kind, page)],
            },
        }
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request(PATH, method="POST").respond_with_handler(serve)

    content = client(httpserver).fetch_day(
        sub_account="ignored-when-api-user-set", commodity="BTC", day=date(2026, 1, 1)
    )

    assert [(f["type"], f["page"]) for f in forms] == [
        ("recv", "1"),
        ("recv", "2"),
        ("payout", "1"),
    ]
    for form in forms:
        assert form["key"] == "ak-123"
        assert form["coin"] == "BTC" and form["pageEnable"] == "1"
        message = ("cango01" + "ak-123" + form["nonce"]).encode()
        assert form["signature"] == hmac.new(b"s3cret", message, hashlib.sha256).hexdigest().upper()
        assert len(form["nonce"]) == 13  # milliseconds
    nonces = [int(f["nonce"]) for f in forms]
    assert nonces == sorted(set(nonces))  # strictly increasing
    assert all(
        r.headers["Content-Type"] == "application/x-www-form-urlencoded" for r, _ in httpserver.log
    )

    parsed = antpool.parse(
        content, ParseContext(file_name="antpool.json", commodity="BTC", scale=8)
    )
    assert [(e.day, e.net, e.row) for e in parsed.earnings] == [
        (date(2026, 1, 1), Decimal("0.51714000"), 1),
        (date(2025, 12, 31), Decimal("0.50314000"), 2),
        (date(2025, 12, 30), Decimal("0.49314000"), 3),
    ]
    [paid] = parsed.payouts
    assert (paid.external_id, paid.txid, paid.row) == ("88123", TXID, 4)


def test_sub_account_signs_when_no_api_user_is_set(httpserver):
    forms: list[dict[str, str]] = []

    def serve(request: Request) -> Response:
        forms.append(request.form.to_dict())
        body = {
            "code": 0,
            "message": "ok",
            "data": {"page": 1, "totalPage": 0, "pageSize": 50, "totalRecord": 0, "rows": []},
        }
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request(PATH, method="POST").respond_with_handler(serve)
    keys = Credentials(api_key="ak-123", api_secret="s3cret")
    antpool.Client(base_url=httpserver.url_for("/"), credentials=keys).fetch_day(
        sub_account="site-b", commodity="btc", day=date(2026, 1, 1)
    )
    assert [f["type"] for f in forms] == ["recv", "payout"]  # an empty history is one page
    for form in forms:
        assert form["coin"] == "BTC"
        message = ("site-b" + "ak-123" + form["nonce"]).encode()
        assert form["signature"] == hmac.new(b"s3cret", message, hashlib.sha256).hexdigest().upper()


def test_error_code_is_refused_with_the_providers_message(httpserver):
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        {"code": 1, "message": "Signature error"}
    )
    with pytest.raises(
        PoolApiError, match=rf"Antpool API {PATH}: error answer \(code 1\): Signature error"
    ):
        client(httpserver).fetch_day(sub_account="a", commodity="BTC", day=date(2026, 1, 1))


def test_http_error_is_refused(httpserver):
    httpserver.expect_request(PATH, method="POST").respond_with_data("Forbidden", status=403)
    with pytest.raises(PoolApiError, match=rf"Antpool API {PATH} \(HTTP 403\): Forbidden"):
        client(httpserver).fetch_day(sub_account="a", commodity="BTC", day=date(2026, 1, 1))


def test_non_json_answer_is_refused(httpserver):
    httpserver.expect_request(PATH, method="POST").respond_with_data(
        "<html>login</html>", content_type="text/html"
    )
    with pytest.raises(PoolApiError, match=r"not JSON \(text/html"):
        client(httpserver).fetch_day(sub_account="a", commodity="BTC", day=date(2026, 1, 1))
