"""Foundry USA saved earnings -> earnings with gross, fee and net."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from holdings.importers import foundry
from holdings.importers.records import ImportFileError, ParseContext

SAMPLES = Path(__file__).resolve().parents[3] / "fixtures" / "samples"
BTC = ParseContext(file_name="foundry.json", commodity="BTC", scale=8)


def day(
    start="2026-01-01T00:00:00.000+00:00",
    end="2026-01-02T00:00:00.000+00:00",
    total="0.50421",
    gross="0.51714",
    fee="0.01293",
    hashrate="1.2e18",
) -> str:
    return (
        f'{{"startTime":"{start}","endTime":"{end}","totalAmount":{total},'
        f'"grossEarnings":{gross},"poolFeeAmount":{fee},"feeRatePercent":2.5,'
        f'"ppsBaseAmount":0.5040,"txFeeRewardAmount":0.01314,"fppsRatePercent":100.0,'
        f'"hashrate":{hashrate}}}'
    )


def parse(*days: str):
    return foundry.parse(("[" + ",".join(days) + "]").encode(), BTC)


def test_sample_file():
    parsed = foundry.parse((SAMPLES / "foundry_btc.json").read_bytes(), BTC)
    assert [(e.day, e.gross, e.fee, e.net, e.row) for e in parsed.earnings] == [
        (date(2025, 12, 30), Decimal("0.52"), Decimal("0.013"), Decimal("0.507"), 1),
        (date(2025, 12, 31), Decimal("0.50988"), Decimal("0.012747"), Decimal("0.497133"), 2),
        (date(2026, 1, 1), Decimal("0.51714"), Decimal("0.01293"), Decimal("0.50421"), 3),
    ]
    assert parsed.earnings[2].hashrate_hs == Decimal("1200000000000000000")
    assert parsed.earnings[2].raw["grossEarnings"] == "0.51714"
    assert parsed.payouts == []


def test_doubles_are_exact_so_gross_minus_fee_equals_net():
    [earning] = parse(day()).earnings
    assert earning.gross - earning.fee == earning.net
    assert str(earning.net) == "0.50421" and earning.net != Decimal.from_float(0.50421)


def test_gross_minus_fee_must_equal_net():
    with pytest.raises(ImportFileError, match=r"row 1, field totalAmount: is 0.5042, but"):
        parse(day(total="0.5042"))


def test_start_must_be_midnight_utc():
    with pytest.raises(ImportFileError, match=r"field startTime: .* is not 00:00 UTC"):
        parse(day(start="2026-01-01T04:00:00.000+00:00", end="2026-01-02T04:00:00.000+00:00"))
    with pytest.raises(ImportFileError, match=r"field startTime: .* UTC"):
        parse(day(start="2026-01-01T00:00:00.000-05:00"))


def test_end_must_be_one_day_later():
    with pytest.raises(ImportFileError, match=r"field endTime: .* is not exactly one day"):
        parse(day(end="2026-01-03T00:00:00.000+00:00"))


def test_scale_overflow_is_refused():
    with pytest.raises(ImportFileError, match=r"field totalAmount: 0.123456789"):
        parse(day(total="0.123456789", gross="0.136456789", fee="0.013"))


def test_negative_amounts_are_refused():
    with pytest.raises(ImportFileError, match=r"field poolFeeAmount: must not be negative"):
        parse(day(total="0.53007", fee="-0.01293"))


def test_conflicting_days_are_refused_and_repeats_collapse():
    assert len(parse(day(), day()).earnings) == 1
    with pytest.raises(ImportFileError) as caught:
        parse(day(), day(total="0.50422", fee="0.01292"))
    assert caught.value.row == 2 and caught.value.field == "startTime"
    assert "row 1" in caught.value.message


def test_a_non_array_is_refused():
    with pytest.raises(ImportFileError, match=r"expected a JSON array"):
        foundry.parse(b'{"message": "Unauthorized"}', BTC)


def test_malformed_json_is_refused():
    with pytest.raises(ImportFileError, match=r"not valid JSON"):
        foundry.parse(b"[{]", BTC)
