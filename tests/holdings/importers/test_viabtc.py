"""ViaBTC saved profit and payment pages -> earnings and payouts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from holdings.importers import viabtc
from holdings.importers.records import ImportFileError, ParseContext

SAMPLES = Path(__file__).resolve().parents[3] / "fixtures" / "samples"
BTC = ParseContext(file_name="viabtc.json", commodity="BTC", scale=8)
TXID = "407cac573110c5d76f53aa4b88b299ac18873097cec813c4f7df4e17c06f498e"


def profit(day="2026-01-01", total="0.51714000", coin="BTC") -> dict:
    return {
        "coin": coin,
        "date": day,
        "pplns_profit": "0",
        "pps_profit": total,
        "solo_profit": "0",
        "total_profit": total,
    }


def payment(id_=157, amount="2.04930000", tx=TXID, create_time=1767340800) -> dict:
    return {
        "id": id_,
        "coin": "BTC",
        "amount": amount,
        "address": "bc1qexample",
        "tx": tx,
        "create_time": create_time,
    }


def page(*rows: dict, has_next: bool = False, code: int = 0, message: str = "OK") -> dict:
    return {
        "code": code,
        "data": {
            "count": len(rows),
            "curr_page": 1,
            "has_next": has_next,
            "total": len(rows),
            "total_page": 1,
            "data": list(rows),
        },
        "message": message,
    }


def parse(document, ctx: ParseContext = BTC):
    return viabtc.parse(json.dumps(document).encode(), ctx)


def test_sample_pages():
    parsed = viabtc.parse((SAMPLES / "viabtc_btc_pages.json").read_bytes(), BTC)
    assert [(e.day, e.net, e.row) for e in parsed.earnings] == [
        (date(2026, 1, 1), Decimal("0.51714000"), 1),
        (date(2025, 12, 31), Decimal("0.50988000"), 2),
        (date(2025, 12, 30), Decimal("0"), 3),
    ]
    first = parsed.earnings[0]
    assert (first.gross, first.fee, first.hashrate_hs, first.external_id) == (
        None,
        None,
        None,
        None,
    )
    assert first.raw == profit()
    [paid] = parsed.payouts
    assert (paid.external_id, paid.txid, paid.amount, paid.row) == (
        "157",
        TXID,
        Decimal("2.04930000"),
        4,
    )
    assert paid.paid_at == datetime(2026, 1, 2, 8, 0, tzinfo=UTC)
    assert paid.address == "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


def test_sample_etc_page():
    etc = ParseContext(file_name="etc.json", commodity="ETC", scale=18)
    parsed = viabtc.parse((SAMPLES / "viabtc_etc_2026-01-01.json").read_bytes(), etc)
    assert [(e.day, e.net) for e in parsed.earnings] == [(date(2026, 1, 1), Decimal("3.52814972"))]


def test_coin_must_be_the_pool_accounts_commodity():
    with pytest.raises(
        ImportFileError, match=r"row 1, field coin: is 'ETC', but the pool account holds BTC"
    ):
        parse(page(profit(coin="ETC")))


def test_error_answer_quotes_the_provider():
    with pytest.raises(ImportFileError, match=r"code 401.*invalid api key"):
        parse({"code": 401, "data": {}, "message": "invalid api key"})


def test_scale_overflow_is_refused():
    with pytest.raises(ImportFileError, match=r"row 2, field total_profit: 0.123456789"):
        parse(page(profit(), profit(day="2026-01-02", total="0.123456789")))


def test_negative_profit_is_refused():
    with pytest.raises(ImportFileError, match=r"field total_profit: must not be negative"):
        parse(page(profit(total="-0.1")))


def test_bad_date_is_refused():
    with pytest.raises(ImportFileError, match=r"field date"):
        parse(page(profit(day="2026/01/01")))


def test_bad_txid_is_refused():
    with pytest.raises(ImportFileError, match=r"row 1, field tx"):
        parse(page(payment(tx="not-a-txid")))


def test_payment_time_must_be_unix_seconds():
    with pytest.raises(ImportFileError, match=r"field create_time: must be whole Unix seconds"):
        parse(page(payment(create_time="2026-01-02 08:00:00")))


def test_rows_count_across_pages_and_overlapping_pages_collapse():
    first = page(profit(), profit(day="2025-12-31"), has_next=True)
    second = page(profit(day="2025-12-31"), profit(day="2025-12-30"))  # overlaps by one row
    parsed = parse([first, second, page(payment())])
    assert [(e.day, e.row) for e in parsed.earnings] == [
        (date(2026, 1, 1), 1),
        (date(2025, 12, 31), 2),
        (date(2025, 12, 30), 4),
    ]
    assert parsed.payouts[0].row == 5


def test_conflicting_days_are_refused_naming_both_rows():
    with pytest.raises(ImportFileError) as caught:
        parse([page(profit()), page(profit(total="0.6"))])
    assert caught.value.row == 2 and caught.value.field == "date"
    assert "row 1" in caught.value.message


def test_conflicting_payments_are_refused():
    with pytest.raises(
        ImportFileError, match=r"row 2, field id: payment id 157 also appears at row 1"
    ):
        parse(page(payment(), payment(amount="1.0")))


def test_a_row_that_is_neither_is_refused():
    with pytest.raises(ImportFileError, match=r"row 1: is neither a profit row"):
        parse(page({"coin": "BTC", "date": "2026-01-01"}))


def test_malformed_json_is_refused():
    with pytest.raises(ImportFileError, match=r"not valid JSON"):
        viabtc.parse(b'{"code": 0, "data": ', BTC)
