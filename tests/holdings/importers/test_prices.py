"""Price CSV -> price quotes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from holdings.importers.prices import parse_prices
from holdings.importers.records import ImportFileError

SAMPLES = Path(__file__).resolve().parents[3] / "fixtures" / "samples"
HEADER = "timestamp,base,quote,price,source\n"


def parse(text: str):
    return parse_prices(text.encode(), file_name="prices.csv")


def test_sample_file():
    quotes = parse_prices((SAMPLES / "prices_btc_usd.csv").read_bytes(), file_name="p.csv")
    assert [(q.timestamp, q.base, q.quote, q.price, q.source, q.row) for q in quotes] == [
        (
            datetime(2025, 12, 31, tzinfo=UTC),
            "BTC",
            "USD",
            Decimal("87512.34"),
            "coinmetrics-close",
            2,
        ),
        (
            datetime(2026, 1, 1, tzinfo=UTC),
            "BTC",
            "USD",
            Decimal("88130.07"),
            "coinmetrics-close",
            3,
        ),
        (
            datetime(2026, 1, 2, tzinfo=UTC),
            "BTC",
            "USD",
            Decimal("89021.55"),
            "coinmetrics-close",
            4,
        ),
        (
            datetime(2026, 1, 1, tzinfo=UTC),
            "KAS",
            "USD",
            Decimal("0.04612"),
            "coinmetrics-close",
            5,
        ),
    ]
    assert all(q.timestamp.tzinfo is UTC for q in quotes)


@pytest.mark.parametrize(
    "timestamp", ["2025-12-31T00:00:00", "2025-12-31T08:00:00+08:00", "2025-12-31"]
)
def test_timestamp_must_be_utc(timestamp):
    with pytest.raises(ImportFileError, match=r"prices.csv, row 2, field timestamp"):
        parse(HEADER + f"{timestamp},BTC,USD,87512.34,manual\n")


@pytest.mark.parametrize("price", ["0", "-1", "abc", ""])
def test_price_must_be_a_positive_number(price):
    with pytest.raises(ImportFileError, match=r"row 2, field price"):
        parse(HEADER + f"2025-12-31T00:00:00Z,BTC,USD,{price},manual\n")


def test_codes_must_be_upper_case_and_different():
    with pytest.raises(
        ImportFileError, match=r"row 2, field base: 'btc' must be an upper-case code"
    ):
        parse(HEADER + "2025-12-31T00:00:00Z,btc,USD,1,manual\n")
    with pytest.raises(ImportFileError, match=r"row 2, field quote: is BTC, the same as the base"):
        parse(HEADER + "2025-12-31T00:00:00Z,BTC,BTC,1,manual\n")


def test_source_is_required():
    with pytest.raises(ImportFileError, match=r"row 2, field source: is missing"):
        parse(HEADER + "2025-12-31T00:00:00Z,BTC,USD,1,\n")


def test_identical_duplicates_collapse_and_different_prices_are_refused():
    row = "2025-12-31T00:00:00Z,BTC,USD,87512.34,manual\n"
    same_moment = "2025-12-31T00:00:00+00:00,BTC,USD,87512.340,manual\n"
    assert len(parse(HEADER + row + same_moment)) == 1
    with pytest.raises(ImportFileError) as caught:
        parse(HEADER + row + "2025-12-31T00:00:00Z,BTC,USD,87000,manual\n")
    assert caught.value.row == 3 and caught.value.field == "price"
    assert "row 2" in caught.value.message


def test_unknown_header_is_refused():
    with pytest.raises(ImportFileError, match=r"expected 'timestamp,base,quote,price,source'"):
        parse("time,asset,price\n")
