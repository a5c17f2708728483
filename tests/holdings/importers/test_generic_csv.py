"""Generic CSV: daily earnings per pool account, or payouts."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from holdings.importers import generic_csv
from holdings.importers.records import ImportFileError, ParseContext

SAMPLES = Path(__file__).resolve().parents[3] / "fixtures" / "samples"
BTC = ParseContext(file_name="earnings.csv", commodity="BTC", scale=8)
EARNINGS = "date,pool_account,gross_btc,fee_btc,net_btc,hashrate_hs,external_id\n"
PAYOUTS = "paid_at,pool_account,txid,address,amount,external_id\n"
TXID = "7f06538f62dcb4db571e947234cd281dda16b78bc7a6f6c7c16cbb8dc923e06b"


def parse(text: str, ctx: ParseContext = BTC):
    return generic_csv.parse(text.encode(), ctx)


def test_sample_earnings():
    parsed = generic_csv.parse((SAMPLES / "generic_earnings.csv").read_bytes(), BTC)
    assert parsed.payouts == []
    rows = [(e.row, e.pool_account, e.day, e.gross, e.fee, e.net) for e in parsed.earnings]
    assert rows == [
        (
            2,
            "luxor-dallas-01",
            date(2025, 12, 31),
            Decimal("0.24911"),
            Decimal("0.00622775"),
            Decimal("0.24288225"),
        ),
        (
            3,
            "luxor-dallas-01",
            date(2026, 1, 1),
            Decimal("0.251"),
            Decimal("0.006275"),
            Decimal("0.244725"),
        ),
        (
            4,
            "braiins-ohio-02",
            date(2026, 1, 1),
            Decimal("0.1302"),
            Decimal("0.003255"),
            Decimal("0.126945"),
        ),
    ]
    first, _, last = parsed.earnings
    assert (
        first.hashrate_hs == Decimal("575000000000000000") and first.external_id == "LX-20251231-01"
    )
    assert last.hashrate_hs is None and last.external_id is None
    assert last.raw == {
        "date": "2026-01-01",
        "pool_account": "braiins-ohio-02",
        "gross": "0.13020000",
        "fee": "0.00325500",
        "net": "0.12694500",
        "hashrate_hs": "",
        "external_id": "",
    }


def test_earnings_have_coin_neutral_columns_and_errors_name_the_files_own():
    kas = ParseContext(file_name="kas.csv", commodity="KAS", scale=8)
    header = "date,pool_account,gross,fee,net,hashrate_hs,external_id\n"
    [earning] = parse(
        header + "2026-01-01,kas-01,1500.5,37.5125,1462.9875,2.35e15,\n", kas
    ).earnings
    assert (earning.gross, earning.fee, earning.net) == (
        Decimal("1500.5"),
        Decimal("37.5125"),
        Decimal("1462.9875"),
    )
    with pytest.raises(
        ImportFileError, match=r"row 2, field net: is 0.8, but gross 1 - fee 0.1 = 0.9"
    ):
        parse(header + "2026-01-01,kas-01,1,0.1,0.8,,\n", kas)
    with pytest.raises(ImportFileError, match=r"row 2, field fee: 0.123456789 has more"):
        parse(header + "2026-01-01,kas-01,1,0.123456789,0.876543211,,\n", kas)
    # The first version's columns are still read, and still named as the file spells them.
    [old] = parse(EARNINGS + "2026-01-01,kas-01,1,0.1,0.9,,\n", kas).earnings
    assert old.net == Decimal("0.9") and old.field_names["net"] == "net_btc"
    # A coin's own suffix is no header of this format: refused, naming what is expected.
    with pytest.raises(ImportFileError, match=r"unknown header .*'date,pool_account,gross,fee,net"):
        parse("date,pool_account,gross_kas,fee_kas,net_kas\n2026-01-01,kas-01,1,0.1,0.9\n", kas)


def test_sample_payouts():
    parsed = generic_csv.parse((SAMPLES / "generic_payouts.csv").read_bytes(), BTC)
    assert parsed.earnings == []
    first, second = parsed.payouts
    assert (first.row, first.external_id, first.amount) == (2, "LX-PAY-7781", Decimal("0.48760725"))
    assert first.paid_at == datetime(2026, 1, 2, 8, 0, tzinfo=UTC)
    assert first.raw["pool_account"] == "luxor-dallas-01"
    # A blank external_id falls back to the txid; +00:00 is as good as Z.
    assert (second.external_id, second.txid) == (TXID, TXID)
    assert second.paid_at == datetime(2026, 1, 2, 9, 30, tzinfo=UTC)
    assert second.raw["pool_account"] == "braiins-ohio-02"
    json.dumps([p.raw for p in parsed.payouts])


def test_optional_columns_may_be_left_out():
    [earning] = parse(
        "date,pool_account,gross_btc,fee_btc,net_btc\n2026-01-01,a,1,0.1,0.9\n"
    ).earnings
    assert earning.external_id is None and earning.hashrate_hs is None
    [paid] = parse(
        f"paid_at,pool_account,txid,address,amount\n2026-01-02T00:00:00Z,a,{TXID},bc1q,1\n"
    ).payouts
    assert paid.external_id == TXID


def test_amounts_are_in_the_pool_accounts_commodity():
    kas = ParseContext(file_name="kas.csv", commodity="KAS", scale=8)
    etc = ParseContext(file_name="etc.csv", commodity="ETC", scale=18)
    row = "2026-01-01,kas-01,1000.000000001,0.000000001,1000,,\n"
    with pytest.raises(
        ImportFileError, match=r"kas.csv, row 2, field gross_btc: 1000.000000001 has more"
    ):
        parse(EARNINGS + row, kas)
    assert parse(EARNINGS + row, etc).earnings[0].gross == Decimal("1000.000000001")


def test_scale_overflow_is_refused():
    with pytest.raises(ImportFileError, match=r"row 2, field net_btc: 0.123456789"):
        parse(EARNINGS + "2026-01-01,a,0.2,0.1,0.123456789,,\n")


def test_gross_minus_fee_must_equal_net():
    with pytest.raises(
        ImportFileError, match=r"row 3, field net_btc: is 0.8, but gross_btc 1 - fee_btc 0.1 = 0.9"
    ):
        parse(EARNINGS + "2026-01-01,a,1,0.1,0.9,,\n2026-01-02,a,1,0.1,0.8,,\n")


def test_negative_is_refused():
    with pytest.raises(ImportFileError, match=r"field fee_btc: must not be negative"):
        parse(EARNINGS + "2026-01-01,a,1,-0.1,1.1,,\n")
    with pytest.raises(ImportFileError, match=r"field amount: must not be negative"):
        parse(PAYOUTS + f"2026-01-02T00:00:00Z,a,{TXID},bc1q,-1,\n")


def test_blank_pool_account_is_refused():
    with pytest.raises(ImportFileError, match=r"row 2, field pool_account: is missing"):
        parse(EARNINGS + "2026-01-01, ,1,0.1,0.9,,\n")
    with pytest.raises(ImportFileError, match=r"row 2, field pool_account: is missing"):
        parse(PAYOUTS + f"2026-01-02T00:00:00Z,,{TXID},bc1q,1,\n")


@pytest.mark.parametrize(
    "paid_at",
    ["2026-01-02T08:00:00", "2026-01-02T08:00:00+08:00", "2026-01-02", "02/01/2026 08:00"],
)
def test_payout_times_must_be_utc(paid_at):
    with pytest.raises(ImportFileError, match=r"row 2, field paid_at"):
        parse(PAYOUTS + f"{paid_at},a,{TXID},bc1q,1,\n")


def test_bad_txid_and_address_are_refused():
    with pytest.raises(ImportFileError, match=r"row 2, field txid"):
        parse(PAYOUTS + "2026-01-02T00:00:00Z,a,deadbeef,bc1q,1,\n")
    with pytest.raises(ImportFileError, match=r"row 2, field address: is missing"):
        parse(PAYOUTS + f"2026-01-02T00:00:00Z,a,{TXID},,1,\n")


def test_unknown_header_lists_the_expected_ones():
    with pytest.raises(ImportFileError) as caught:
        parse("day,account,btc\n2026-01-01,a,1\n")
    message = str(caught.value)
    assert "date,pool_account,gross_btc,fee_btc,net_btc,hashrate_hs,external_id" in message
    assert "paid_at,pool_account,txid,address,amount,external_id" in message
    assert caught.value.row == 1


def test_duplicates_are_per_pool_account_and_day():
    parsed = parse(
        EARNINGS + "2026-01-01,a,1,0.1,0.9,,\n2026-01-01,b,1,0.1,0.9,,\n2026-01-01,a,1,0.1,0.9,,\n"
    )
    assert [(e.pool_account, e.row) for e in parsed.earnings] == [("a", 2), ("b", 3)]
    with pytest.raises(ImportFileError) as caught:
        parse(EARNINGS + "2026-01-01,a,1,0.1,0.9,,\n2026-01-01,a,2,0.1,1.9,,\n")
    assert (
        caught.value.row == 3 and caught.value.field == "date" and "row 2" in caught.value.message
    )


def test_one_transaction_may_pay_two_pool_accounts_but_not_twice_one():
    rows = f"2026-01-02T00:00:00Z,a,{TXID},bc1qa,1,\n2026-01-02T00:00:00Z,b,{TXID},bc1qb,2,\n"
    assert len(parse(PAYOUTS + rows).payouts) == 2
    with pytest.raises(
        ImportFileError, match=r"row 3, field external_id: payout .* also appears at row 2"
    ):
        parse(
            PAYOUTS
            + f"2026-01-02T00:00:00Z,a,{TXID},bc1qa,1,\n2026-01-02T00:00:00Z,a,{TXID},bc1qa,2,\n"
        )


def test_row_numbers_are_file_lines():
    with pytest.raises(ImportFileError, match=r"row 4, field date"):
        parse(EARNINGS + "2026-01-01,a,1,0.1,0.9,,\n\n2026-13-01,a,1,0.1,0.9,,\n")


def test_not_utf8_is_refused():
    with pytest.raises(ImportFileError, match=r"not UTF-8"):
        generic_csv.parse(EARNINGS.encode() + b"2026-01-01,\xe9,1,0.1,0.9,,\n", BTC)


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        # What no column can hold is refused naming its row and field, before the database.
        ("2026-01-01,a\x00b,1,0.1,0.9,,", "pool_account", "U+0000"),
        ("2026-01-01,a,1,0.1,0.9,,id\x00", "external_id", "U+0000"),
        (f"2026-01-01,a,1,0.1,0.9,,{'x' * 101}", "external_id", "longer than 100"),
        ("2026-01-01,a,1,0.1,0.9,1e34,", "hashrate_hs", "beyond any pool"),
        ("2026-01-01,a,1e20,0,1e20,,", "gross_btc", "at most 20 digits"),
        # Digits of other scripts are not numbers.
        ("2026-01-01,a,\u0661,0,\u0661,,", "gross_btc", "must be a number"),
    ],
)
def test_values_no_column_can_hold_are_refused_naming_the_field(row, field, words):
    with pytest.raises(ImportFileError) as caught:
        parse(EARNINGS + row + "\n")
    assert (caught.value.row, caught.value.field) == (2, field)
    assert words in caught.value.message


def test_the_largest_values_a_column_holds_are_taken():
    amount = "99999999999999999999.99999999"
    (earning,) = parse(
        EARNINGS + f"2026-01-01,a,{amount},0,{amount},{'9' * 30},{'x' * 100}\n"
    ).earnings
    assert earning.net == Decimal(amount) and len(earning.external_id) == 100


def test_a_payouts_address_and_id_fit_their_columns():
    with pytest.raises(ImportFileError, match=r"row 2, field address: is longer than 128"):
        parse(PAYOUTS + f"2026-01-02T00:00:00Z,a,{TXID},{'b' * 129},1,\n")
    with pytest.raises(ImportFileError, match=r"row 2, field external_id: contains U\+0000"):
        parse(PAYOUTS + f"2026-01-02T00:00:00Z,a,{TXID},bc1q,1,x\x00\n")


def test_an_id_on_two_days_is_refused_naming_both_rows():
    rows = (
        "2026-01-01,a,1,0.1,0.9,,ID-1\n2026-01-02,b,1,0.1,0.9,,ID-1\n2026-01-03,a,1,0.1,0.9,,ID-1\n"
    )
    with pytest.raises(ImportFileError) as caught:
        parse(EARNINGS + rows)
    # Another pool account may use the same id; the same account on another day may not.
    assert (caught.value.row, caught.value.field) == (4, "external_id")
    assert "'ID-1' of 2026-01-03 is also the id of 2026-01-01 (row 2)" in caught.value.message
