"""F2Pool saved transaction lists -> earnings and payouts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from holdings.importers import f2pool
from holdings.importers.records import ImportFileError, ParseContext

SAMPLES = Path(__file__).resolve().parents[3] / "fixtures" / "samples"
BTC = ParseContext(file_name="f2pool.json", commodity="BTC", scale=8)
TXID = "cad06fdf886b792c588568ce9b84a7302dcc833347710ac5fc419b395cffa4ab"


def revenue(id_=1, day=1767225600, changed="0.51714", hash_rate="1.2e18", type_="revenue"):
    return (
        f'{{"id":{id_},"type":"{type_}","changed_balance":{changed},"created_at":1767312000,'
        f'"mining_extra":{{"mining_date":{day},"settle_date":1767312000,"pps":0.5040,'
        f'"pps_fee_rate":0.025,"tx_fee":0.0131,"tx_fee_rate":0.025,"hash_rate":{hash_rate}}}}}'
    )


def payout(id_=9, value="2.0493", changed="-2.0493", tx_id=TXID, address="bc1qexample"):
    return (
        f'{{"id":{id_},"type":"payout","changed_balance":{changed},"created_at":1767340800,'
        f'"payout_extra":{{"value":{value},"address":"{address}","tx_id":"{tx_id}",'
        f'"paid_time":1767340800,"wallet_type":"mainnet","tip":0.00001}}}}'
    )


def doc(*items: str) -> bytes:
    return ('{"transactions":[' + ",".join(items) + "]}").encode()


def parse(content: bytes, ctx: ParseContext = BTC):
    return f2pool.parse(content, ctx)


def test_sample_btc_file():
    parsed = parse((SAMPLES / "f2pool_btc_2026-01-01.json").read_bytes())
    assert [(e.day, e.net, e.row) for e in parsed.earnings] == [
        (date(2025, 12, 31), Decimal("0.50988"), 1),
        (date(2026, 1, 1), Decimal("0.51714"), 2),
    ]
    earning = parsed.earnings[1]
    assert earning.gross is None and earning.fee is None
    assert earning.hashrate_hs == Decimal("1200000000000000000")
    assert earning.external_id == "9876543210"
    assert earning.raw["changed_balance"] == "0.51714"
    assert earning.raw["mining_extra"]["mining_date"] == 1767225600
    [paid] = parsed.payouts
    assert paid.external_id == "9876543299"
    assert paid.txid == TXID
    assert paid.address == "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"
    assert paid.amount == Decimal("2.0493")
    assert paid.paid_at == datetime(2026, 1, 2, 8, 0, tzinfo=UTC)
    assert paid.row == 3
    json.dumps([e.raw for e in parsed.earnings] + [p.raw for p in parsed.payouts])


def test_sample_kas_file_is_an_array_of_responses_with_rows_across_the_document():
    kas = ParseContext(file_name="kas.json", commodity="KAS", scale=8)
    parsed = parse((SAMPLES / "f2pool_kas_2026-01-01.json").read_bytes(), kas)
    [earning] = parsed.earnings
    assert earning.net == Decimal("1523.40817325") and earning.row == 1
    assert earning.hashrate_hs == Decimal("2350000000000000")
    [paid] = parsed.payouts
    assert paid.amount == Decimal("4571.22451975") and paid.row == 2
    assert paid.address.startswith("kaspa:")


def test_doubles_become_their_exact_shortest_decimal():
    [earning] = parse(doc(revenue(changed="0.51714"))).earnings
    assert earning.net == Decimal("0.51714")
    assert earning.net != Decimal.from_float(0.51714)
    assert str(earning.net) == "0.51714"


def test_zero_day_is_allowed():
    [earning] = parse(doc(revenue(changed="0.0", hash_rate="0"))).earnings
    assert earning.net == 0 and earning.hashrate_hs == 0


def test_amount_beyond_the_scale_is_refused_not_rounded():
    with pytest.raises(ImportFileError) as caught:
        parse(doc(revenue(), revenue(id_=2, day=1767312000, changed="0.123456789")))
    assert caught.value.row == 2 and caught.value.field == "changed_balance"
    assert "0.123456789" in str(caught.value)
    # ETC allows 18 decimals: the same number fits there.
    etc = ParseContext(file_name="etc.json", commodity="ETC", scale=18)
    assert parse(doc(revenue(changed="0.123456789")), etc).earnings[0].net == Decimal("0.123456789")


def test_negative_income_is_refused():
    with pytest.raises(
        ImportFileError, match=r"row 1, field changed_balance: must not be negative"
    ):
        parse(doc(revenue(changed="-0.1")))


def test_non_finite_numbers_are_refused():
    with pytest.raises(ImportFileError, match=r"field changed_balance: must be a finite number"):
        parse(doc(revenue(changed="NaN")))
    with pytest.raises(ImportFileError, match=r"field changed_balance: must be a finite number"):
        parse(doc(revenue(changed="1e400")))


def test_unknown_transaction_type_is_refused_naming_row_and_type():
    item = '{"id":5,"type":"flash_exchange","changed_balance":-0.1,"created_at":1767312000}'
    with pytest.raises(ImportFileError) as caught:
        parse(doc(revenue(), item))
    assert caught.value.row == 2 and caught.value.field == "type"
    assert "'flash_exchange'" in str(caught.value)


def test_payout_without_payout_extra_is_refused():
    item = '{"id":5,"type":"payout","changed_balance":-0.1,"created_at":1767312000}'
    with pytest.raises(ImportFileError, match=r"row 1, field type"):
        parse(doc(item))


def test_payout_value_must_equal_minus_changed_balance():
    with pytest.raises(ImportFileError, match=r"row 1, field changed_balance: is -2.0492"):
        parse(doc(payout(changed="-2.0492")))


def test_payout_must_be_positive():
    with pytest.raises(
        ImportFileError, match=r"field payout_extra.value: must be greater than zero"
    ):
        parse(doc(payout(value="0", changed="0")))


def test_bad_txid_is_refused():
    with pytest.raises(ImportFileError, match=r"row 1, field payout_extra\.tx_id: 'abc'"):
        parse(doc(payout(tx_id="abc")))


def test_empty_address_is_refused():
    with pytest.raises(ImportFileError, match=r"field payout_extra\.address: is missing"):
        parse(doc(payout(address="")))


def test_missing_mining_date_is_named():
    item = '{"id":1,"type":"revenue","changed_balance":0.5,"created_at":1,"mining_extra":{}}'
    with pytest.raises(ImportFileError, match=r"field mining_extra\.mining_date: is missing"):
        parse(doc(item))


def test_malformed_json_is_refused():
    with pytest.raises(ImportFileError, match=r"f2pool.json: not valid JSON"):
        parse(b'{"transactions": [{"id": 1,')


def test_a_document_that_is_not_a_transactions_response_is_refused():
    with pytest.raises(ImportFileError, match=r"not an F2Pool transactions response"):
        parse(b'{"code": 401, "msg": "unauthorized"}')
    with pytest.raises(ImportFileError, match=r"element 2 of the array"):
        parse(b'[{"transactions": []}, {"data": []}]')


def test_overlapping_saves_collapse_exact_repeats():
    page = doc(revenue(), payout()).decode()
    parsed = parse(f"[{page},{page}]".encode())
    assert len(parsed.earnings) == 1 and len(parsed.payouts) == 1
    assert parsed.earnings[0].row == 1 and parsed.payouts[0].row == 2


def test_two_different_earnings_for_one_day_are_refused_naming_both_rows():
    with pytest.raises(ImportFileError) as caught:
        parse(doc(revenue(id_=1), payout(), revenue(id_=2, changed="0.6")))
    assert caught.value.row == 3 and caught.value.field == "mining_extra.mining_date"
    assert "row 1" in caught.value.message and "2026-01-01" in caught.value.message


def test_one_id_on_two_days_is_refused_naming_both_rows():
    with pytest.raises(ImportFileError) as caught:
        parse(doc(revenue(id_=1), revenue(id_=1, day=1767225600 + 86400)))
    assert (caught.value.row, caught.value.field) == (2, "id")
    assert "also the id of 2026-01-01 (row 1)" in caught.value.message


def test_two_different_payouts_with_one_id_are_refused():
    with pytest.raises(
        ImportFileError, match=r"row 2, field id: payout id 9 also appears at row 1"
    ):
        parse(doc(payout(), payout(value="1", changed="-1")))


def test_currency_names():
    assert f2pool.currency_for("BTC") == "bitcoin"
    assert f2pool.currency_for("ETC") == "ethereum-classic"
    assert f2pool.currency_for("KAS") == "kaspa"
    with pytest.raises(ValueError, match=r"DOGE"):
        f2pool.currency_for("DOGE")
