"""Amounts near each commodity's scale, through every parser: an amount that fits is read
exactly, one with more decimals than the commodity allows is refused naming the file, the
row and the field, whatever the source's number format (decimal strings, CSV cells, JSON
doubles). Nothing is ever rounded to fit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdings.importers import antpool, f2pool, foundry, generic_csv, viabtc
from holdings.importers.common import significant_digits
from holdings.importers.records import ImportFileError, ParseContext
from holdings.importers.statements import parse_balance_statement
from ledger.money import fits_scale

SCALES = {"BTC": 8, "KAS": 8, "ETC": 18, "USDT": 6}
TXID = "ab" * 32


def meant(text: str, *, double: bool) -> Decimal:
    """The number a field means (SOURCES.md): a decimal string or CSV cell as written; a
    JSON double through its shortest text where the text is only a longer spelling of that
    double (a serializer's 17 digits), else as written."""
    written = Decimal(text)
    digits = significant_digits(written)
    if not double or not 15 < digits <= 17:
        return written
    shortest = Decimal(repr(float(text)))
    return shortest if significant_digits(shortest) < digits else written


@dataclass(frozen=True)
class Door:
    """A parser and where an amount goes in the document it reads."""

    name: str
    double: bool  # the amount is written as a JSON number
    field: str
    read: Callable[[str, str, int], Decimal]  # (amount text, commodity, scale) -> amount


def _ctx(commodity: str, scale: int) -> ParseContext:
    return ParseContext(file_name="f", commodity=commodity, scale=scale)


def _f2pool_earning(text: str, commodity: str, scale: int) -> Decimal:
    content = (
        '{"transactions":[{"id":1,"type":"revenue","changed_balance":' + text + ","
        '"created_at":1767312000,"mining_extra":{"mining_date":1767225600}}]}'
    ).encode()
    return f2pool.parse(content, _ctx(commodity, scale)).earnings[0].net


def _f2pool_payout(text: str, commodity: str, scale: int) -> Decimal:
    content = (
        '{"transactions":[{"id":9,"type":"payout","changed_balance":-' + text + ","
        '"created_at":1767340800,"payout_extra":{"value":' + text + ',"address":"addr1",'
        '"tx_id":"' + TXID + '","paid_time":1767340800}}]}'
    ).encode()
    return f2pool.parse(content, _ctx(commodity, scale)).payouts[0].amount


def _f2pool_balance(text: str, commodity: str, scale: int) -> Decimal:
    content = ('{"balance_info":{"balance":' + text + ',"paid":0}}').encode()
    return f2pool.parse_balance(content, file_name="f", scale=scale)


def _foundry(text: str, commodity: str, scale: int) -> Decimal:
    content = (
        '[{"startTime":"2026-01-01T00:00:00.000+00:00","endTime":"2026-01-02T00:00:00.000+00:00",'
        '"totalAmount":' + text + ',"grossEarnings":' + text + ',"poolFeeAmount":0}]'
    ).encode()
    return foundry.parse(content, _ctx(commodity, scale)).earnings[0].net


def _viabtc_earning(text: str, commodity: str, scale: int) -> Decimal:
    content = (
        '{"code":0,"data":{"data":[{"coin":"' + commodity + '","date":"2026-01-01",'
        '"total_profit":"' + text + '"}]}}'
    ).encode()
    return viabtc.parse(content, _ctx(commodity, scale)).earnings[0].net


def _viabtc_payout(text: str, commodity: str, scale: int) -> Decimal:
    content = (
        '{"code":0,"data":{"data":[{"id":157,"coin":"' + commodity + '","amount":"' + text + '",'
        '"address":"addr1","tx":"' + TXID + '","create_time":1767340800}]}}'
    ).encode()
    return viabtc.parse(content, _ctx(commodity, scale)).payouts[0].amount


def _antpool(text: str, commodity: str, scale: int) -> Decimal:
    content = (
        '{"code":0,"data":{"rows":[{"timestamp":"2026-01-01 00:00:00",'
        '"fppsBlockAmount":"' + text + '","fppsFeeAmount":"0"}]}}'
    ).encode()
    return antpool.parse(content, _ctx(commodity, scale)).earnings[0].net


def _csv_earning(text: str, commodity: str, scale: int) -> Decimal:
    content = f"date,pool_account,gross,fee,net\n2026-01-01,P1,{text},0,{text}\n".encode()
    return generic_csv.parse(content, _ctx(commodity, scale)).earnings[0].net


def _csv_payout(text: str, commodity: str, scale: int) -> Decimal:
    content = (
        f"paid_at,pool_account,txid,address,amount\n2026-01-02T00:00:00Z,P1,{TXID},addr1,{text}\n"
    ).encode()
    return generic_csv.parse(content, _ctx(commodity, scale)).payouts[0].amount


def _statement(text: str, commodity: str, scale: int) -> Decimal:
    content = f"date,account,commodity,balance\n2026-01-01,W1,{commodity},{text}\n".encode()
    return parse_balance_statement(content, file_name="f", scales=SCALES)[0].balance


DOORS = [
    Door("f2pool earning", True, "changed_balance", _f2pool_earning),
    Door("f2pool payout", True, "payout_extra.value", _f2pool_payout),
    Door("f2pool balance", True, "balance_info.balance", _f2pool_balance),
    Door("foundry", True, "totalAmount", _foundry),
    Door("viabtc earning", False, "total_profit", _viabtc_earning),
    Door("viabtc payout", False, "amount", _viabtc_payout),
    Door("antpool", False, "fppsBlockAmount", _antpool),
    Door("csv earning", False, "gross", _csv_earning),
    Door("csv payout", False, "amount", _csv_payout),
    Door("statement", False, "balance", _statement),
]


@st.composite
def amounts(draw, scale: int) -> str:
    """A positive amount written with one to three decimals fewer or more than the scale,
    its last decimal not zero (so it carries every decimal written)."""
    places = draw(st.integers(max(1, scale - 2), scale + 3))
    whole = draw(st.sampled_from([0, 0, 1, 7, 42, 1234, 250000, 21_000_000]))
    fraction = draw(st.integers(1, 10**places - 1).filter(lambda n: n % 10 != 0))
    return f"{whole}.{fraction:0{places}d}"


@pytest.mark.parametrize("door", DOORS, ids=lambda door: door.name)
@pytest.mark.parametrize("commodity", sorted(SCALES))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_an_amount_near_the_scale_is_read_exactly_or_refused(door, commodity, data):
    scale = SCALES[commodity]
    text = data.draw(amounts(scale), label="amount")
    value = meant(text, double=door.double)
    if fits_scale(value, scale):
        assert door.read(text, commodity, scale) == value
    else:
        with pytest.raises(ImportFileError) as caught:
            door.read(text, commodity, scale)
        assert caught.value.file_name == "f" and caught.value.row is not None
        assert caught.value.field == door.field
        assert "decimal" in caught.value.message


@pytest.mark.parametrize("door", [d for d in DOORS if d.double], ids=lambda door: door.name)
def test_a_json_number_with_more_digits_than_a_double_is_never_rounded_through_it(door):
    # 18 decimals fit ETC: read as written, not as the double 1.2345678901234567.
    assert door.read("1.234567890123456789", "ETC", 18) == Decimal("1.234567890123456789")
    # 19 decimals do not: refused, not taken as the double 0.12345678901234568.
    with pytest.raises(ImportFileError) as caught:
        door.read("0.1234567890123456789", "ETC", 18)
    assert caught.value.field == door.field
    assert "0.1234567890123456789 has more decimal places than the commodity allows (18)" in (
        caught.value.message
    )
    # A serializer's 17 digits for a double are that double's shortest text.
    assert door.read("0.51714000000000002", "BTC", 8) == Decimal("0.51714")
