"""Antpool saved payment-history responses -> earnings and payouts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from holdings.importers import antpool
from holdings.importers.records import ImportFileError, ParseContext

SAMPLES = Path(__file__).resolve().parents[3] / "fixtures" / "samples"
BTC = ParseContext(file_name="antpool.json", commodity="BTC", scale=8)
TXID = "1196b67b85e774ed02d3afb208bb6a409e78341f790122b576c0f4680ec8736a"


def recv(timestamp="2026-01-01 00:00:00", hashrate="1200.00 PH/s", **amounts: str) -> dict:
    row = {
        "timestamp": timestamp,
        "hashrate": hashrate,
        "ppsAmount": "0",
        "pplnsAmount": "0",
        "soloAmount": "0",
        "ppappsAmount": "0",
        "ppapplnsAmount": "0",
        "fppsBlockAmount": "0.50400000",
        "fppsFeeAmount": "0.01314000",
    }
    row.update(amounts)
    return row


def paid(id_="88123", amount="0.51714000", tx=TXID, timestamp="2026-01-02 03:14:07") -> dict:
    return {
        "id": id_,
        "timestamp": timestamp,
        "walletAddress": "bc1qexample",
        "txId": tx,
        "amount": amount,
    }


def response(*rows: dict, code: int = 0, message: str = "ok") -> dict:
    return {
        "code": code,
        "message": message,
        "data": {
            "page": 1,
            "totalPage": 1,
            "pageSize": 50,
            "totalRecord": len(rows),
            "rows": list(rows),
        },
    }


def parse(document, ctx: ParseContext = BTC):
    return antpool.parse(json.dumps(document).encode(), ctx)


def test_sample_pages():
    parsed = antpool.parse((SAMPLES / "antpool_btc_pages.json").read_bytes(), BTC)
    assert [(e.day, e.net, e.hashrate_hs, e.row) for e in parsed.earnings] == [
        (date(2026, 1, 1), Decimal("0.51714"), Decimal("1200000000000000000"), 1),
        (date(2025, 12, 31), Decimal("0.50988"), Decimal("1185500000000000000"), 2),
        (date(2025, 12, 30), Decimal("0.51205"), Decimal("1190000000000000000"), 3),
    ]
    assert parsed.earnings[0].raw["hashrate"] == "1200.00 PH/s"
    assert parsed.earnings[0].external_id is None
    [payout] = parsed.payouts
    assert (payout.external_id, payout.txid, payout.amount, payout.row) == (
        "88123",
        TXID,
        Decimal("0.51714000"),
        4,
    )
    assert payout.address == "bc1q9h5yjqka3mz7f3z8v5lgcs7cd6mhdm2zpq5yle"


def test_zoneless_timestamp_is_read_as_utc():
    [payout] = parse(response(paid())).payouts
    assert payout.paid_at == datetime(2026, 1, 2, 3, 14, 7, tzinfo=UTC)
    assert payout.paid_at.tzinfo is UTC


def test_timestamp_in_another_shape_is_refused():
    with pytest.raises(ImportFileError, match=r"row 1, field timestamp"):
        parse(response(paid(timestamp="2026-01-02T03:14:07+08:00")))


def test_net_is_the_sum_of_every_scheme_and_missing_ones_count_as_zero():
    row = recv(ppsAmount="0.1", pplnsAmount="0.02", soloAmount="0.003", ppappsAmount="0.0004")
    row["ppapplnsAmount"] = "0.00005"
    del row["fppsFeeAmount"]
    [earning] = parse(response(row)).earnings
    assert earning.net == Decimal("0.62745")
    assert earning.gross is None and earning.fee is None


def test_zero_day_is_allowed():
    [earning] = parse(
        response(recv(fppsBlockAmount="0", fppsFeeAmount="0", hashrate="0.00 PH/s"))
    ).earnings
    assert earning.net == 0 and earning.hashrate_hs == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1200.00 PH/s", "1200000000000000000"),
        ("950 TH/s", "950000000000000"),
        ("1.5 EH/s", "1500000000000000000"),
        ("12.345 GH/s", "12345000000"),
        ("7.25 MH/s", "7250000"),
        ("3 KH/s", "3000"),
        ("42 H/s", "42"),
        ("0.5 H/s", "0.5"),
    ],
)
def test_hashrate_units_convert_exactly(text, expected):
    [earning] = parse(response(recv(hashrate=text))).earnings
    assert earning.hashrate_hs == Decimal(expected)
    assert str(earning.hashrate_hs) == expected


@pytest.mark.parametrize(
    "text", ["1200 ZH/s", "1200 Ph/s", "1200 PH", "fast", "-5 TH/s", "1e3 TH/s"]
)
def test_unknown_hashrate_units_are_refused(text):
    with pytest.raises(ImportFileError, match=r"row 1, field hashrate"):
        parse(response(recv(hashrate=text)))


def test_scale_overflow_in_any_scheme_is_refused():
    with pytest.raises(ImportFileError, match=r"field fppsFeeAmount: 0.013140001 has more decimal"):
        parse(response(recv(fppsFeeAmount="0.013140001")))


def test_negative_amounts_are_refused():
    with pytest.raises(ImportFileError, match=r"field ppsAmount: must not be negative"):
        parse(response(recv(ppsAmount="-0.1")))
    with pytest.raises(ImportFileError, match=r"field amount: must not be negative"):
        parse(response(paid(amount="-1")))


def test_bad_txid_is_refused():
    with pytest.raises(ImportFileError, match=r"row 1, field txId"):
        parse(response(paid(tx="12345")))


def test_error_answer_quotes_the_provider():
    with pytest.raises(ImportFileError, match=r"code 1.*signature error"):
        parse({"code": 1, "message": "signature error", "data": None})


def test_duplicates_collapse_and_conflicts_are_refused():
    parsed = parse([response(recv(), paid()), response(recv(), paid())])
    assert len(parsed.earnings) == 1 and len(parsed.payouts) == 1
    with pytest.raises(ImportFileError) as caught:
        parse([response(recv()), response(recv(fppsFeeAmount="0.01"))])
    assert caught.value.row == 2 and "row 1" in caught.value.message
    with pytest.raises(
        ImportFileError, match=r"row 2, field id: payout id 88123 also appears at row 1"
    ):
        parse(response(paid(), paid(amount="0.5")))


def test_a_row_that_is_neither_is_refused():
    with pytest.raises(ImportFileError, match=r"row 1: is neither"):
        parse(response({"timestamp": "2026-01-01 00:00:00"}))


def test_malformed_json_is_refused():
    with pytest.raises(ImportFileError, match=r"not valid JSON"):
        antpool.parse(b"<html>502 Bad Gateway</html>", BTC)
