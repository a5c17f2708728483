"""Custodian, pool and lender statements (CSV) -> typed records, every bad input refused."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from holdings.importers.records import ImportFileError
from holdings.importers.statements import (
    BALANCE_HEADER,
    LENDER_HEADER,
    LoanStatement,
    StatementBalance,
    StatementFileError,
    parse_balance_statement,
    parse_lender_statement,
)

SAMPLES = Path(__file__).resolve().parents[3] / "fixtures" / "samples"
SCALES = {"BTC": 8, "USDT": 6, "USD": 2}
BALANCES = "date,account,commodity,balance\n"
LENDER = "date,loan,commodity,principal_outstanding,accrued_interest,collateral_units\n"


def balances(text: str | bytes) -> list[StatementBalance]:
    return parse_balance_statement(text, file_name="balances.csv", scales=SCALES)


def lender(text: str | bytes, **options) -> list[LoanStatement]:
    return parse_lender_statement(text, file_name="lender.csv", scales=SCALES, **options)


def refusals(parse, text: str | bytes) -> list[str]:
    with pytest.raises(StatementFileError) as caught:
        parse(text)
    return [str(error) for error in caught.value.errors]


# ---------------------------------------------------------------------------------------
# Good files


def test_sample_balance_statement():
    content = (SAMPLES / "custodian_balances.csv").read_bytes()
    rows = parse_balance_statement(content, file_name="custodian.csv", scales=SCALES)
    assert [(b.row, b.day, b.account, b.commodity, b.balance) for b in rows] == [
        (2, date(2026, 1, 31), "COLD-01", "BTC", Decimal("3120.45")),
        (3, date(2026, 1, 31), "COLD-02", "BTC", Decimal("2210")),
        (4, date(2026, 1, 31), "OTC-DESK-USDT", "USDT", Decimal("41250000.125")),
        (5, date(2026, 1, 31), "F2P-US-GA-01A", "BTC", Decimal("0.51714")),
        (6, date(2026, 1, 31), "BANK-OPERATING", "USD", Decimal("1875000")),
        (7, date(2026, 2, 28), "COLD-01", "BTC", Decimal("3098.12")),
        (8, date(2026, 2, 28), "COLD-02", "BTC", Decimal("0")),  # an emptied account
    ]
    assert str(rows[0].balance) == "3120.45000000"  # as written, never rounded
    assert rows[0].raw == {
        "date": "2026-01-31",
        "account": "COLD-01",
        "commodity": "BTC",
        "balance": "3120.45000000",
    }


def test_sample_lender_statement():
    content = (SAMPLES / "lender_statement.csv").read_bytes()
    rows = parse_lender_statement(content, file_name="lender.csv", scales=SCALES)
    assert rows[0] == LoanStatement(
        day=date(2026, 1, 31),
        loan="LOAN-2025-BTC",
        commodity="USDT",
        principal_outstanding=Decimal("320000000.000000"),
        accrued_interest=Decimal("8275068.493150"),
        collateral_units=Decimal("6000.00000000"),
        collateral_commodity="BTC",
        row=2,
        raw={
            "date": "2026-01-31",
            "loan": "LOAN-2025-BTC",
            "commodity": "USDT",
            "principal_outstanding": "320000000.000000",
            "accrued_interest": "8275068.493150",
            "collateral_units": "6000.00000000",
        },
    )
    assert [(s.row, s.day, s.principal_outstanding, s.collateral_units) for s in rows[1:]] == [
        (3, date(2026, 2, 11), Decimal("320000000"), Decimal("7000")),
        (4, date(2026, 2, 28), Decimal("24199075.342465"), Decimal("2549")),
    ]


def test_bom_blanks_case_and_column_order_are_accepted():
    content = (
        "\ufeff Balance , DATE,Account ,commodity\r\n"
        "\r\n"
        "  0.5 , 2026-01-31 , COLD-01 , BTC \r\n"
        "1.25,2026-01-31,CUST-USDT,USDT\r\n"
        "\r\n"
    ).encode()
    rows = balances(content)
    assert [(b.row, b.day, b.account, b.commodity, b.balance) for b in rows] == [
        (3, date(2026, 1, 31), "COLD-01", "BTC", Decimal("0.5")),
        (4, date(2026, 1, 31), "CUST-USDT", "USDT", Decimal("1.25")),
    ]
    assert rows[0].raw["balance"] == "  0.5 "  # kept as received
    # Text works as well as bytes, with or without its byte-order mark.
    assert balances("\ufeff" + BALANCES + "2026-01-31,COLD-01,BTC,0.5\n")[0].balance == Decimal(
        "0.5"
    )
    [loan] = lender(
        "\ufeffDate,LOAN,Commodity,Principal_Outstanding,Accrued_Interest,Collateral_Units\n"
        " 2026-01-31 , L1 , USDT , 10 , 0.5 , 1 \n"
    )
    assert (loan.loan, loan.principal_outstanding, loan.accrued_interest) == (
        "L1",
        Decimal("10"),
        Decimal("0.5"),
    )


def test_the_same_line_twice_is_one_line():
    rows = balances(
        BALANCES + "2026-01-31,COLD-01,BTC,1.5\n2026-01-31,COLD-01,BTC,1.50000000\n"
        "2026-02-01,COLD-01,BTC,1.5\n"
    )
    assert [(b.row, b.day) for b in rows] == [(2, date(2026, 1, 31)), (4, date(2026, 2, 1))]


def test_zero_is_a_balance():
    assert balances(BALANCES + "2026-01-31,COLD-01,BTC,0\n")[0].balance == 0


def test_collateral_commodity_sets_the_collateral_scale():
    text = LENDER + "2026-01-31,L1,USD,100.00,1.25,12.123456789012345678\n"
    scales = {**SCALES, "ETC": 18}
    [loan] = parse_lender_statement(
        text, file_name="lender.csv", scales=scales, collateral_commodity="ETC"
    )
    assert (loan.collateral_commodity, loan.collateral_units) == (
        "ETC",
        Decimal("12.123456789012345678"),
    )
    assert refusals(lender, text) == [
        "lender.csv, row 2, field collateral_units: 12.123456789012345678 has more decimal "
        "places than the commodity allows (8)"
    ]
    with pytest.raises(ValueError, match=r"collateral commodity 'KAS' has no scale"):
        lender(text, collateral_commodity="KAS")


def test_headers_are_documented():
    assert BALANCE_HEADER == "date,account,commodity,balance"
    assert LENDER_HEADER == (
        "date,loan,commodity,principal_outstanding,accrued_interest,collateral_units"
    )


# ---------------------------------------------------------------------------------------
# Bad rows, each named by file, row and field


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "2026/01/31,COLD-01,BTC,1",
            "field date: '2026/01/31' must be a date written YYYY-MM-DD",
        ),
        ("31-01-2026,COLD-01,BTC,1", "field date: '31-01-2026' must be a date written YYYY-MM-DD"),
        ("2026-02-30,COLD-01,BTC,1", "field date: '2026-02-30' is not a real date"),
        (",COLD-01,BTC,1", "field date: is missing"),
        ("2026-01-31,,BTC,1", "field account: is missing"),
        ("2026-01-31,COLD-01,BTC,abc", "field balance: must be a number, got 'abc'"),
        ("2026-01-31,COLD-01,BTC,1.2.3", "field balance: must be a number, got '1.2.3'"),
        ("2026-01-31,COLD-01,BTC,NaN", "field balance: must be a number, got 'NaN'"),
        ("2026-01-31,COLD-01,BTC,", "field balance: is missing"),
        ("2026-01-31,COLD-01,BTC,-0.5", "field balance: must not be negative, got -0.5"),
        (
            "2026-01-31,COLD-01,BTC,0.123456789",
            "field balance: 0.123456789 has more decimal places than the commodity allows (8)",
        ),
        (
            "2026-01-31,CUST-USDT,USDT,1.1234567",
            "field balance: 1.1234567 has more decimal places than the commodity allows (6)",
        ),
        (
            "2026-01-31,BANK,USD,10.005",
            "field balance: 10.005 has more decimal places than the commodity allows (2)",
        ),
        (
            "2026-01-31,COLD-01,ETH,1",
            "field commodity: 'ETH' is not a known commodity (known: BTC, USD, USDT)",
        ),
        (
            "2026-01-31,COLD-01,btc,1",
            "field commodity: 'btc' is not a known commodity (known: BTC, USD, USDT)",
        ),
        ("2026-01-31,COLD-01,,1", "field commodity: is missing"),
        (
            "2026-01-31,COLD-01,BTC,1,extra",
            "expected 4 columns (date,account,commodity,balance), found 5",
        ),
        ("2026-01-31,COLD-01,BTC", "expected 4 columns (date,account,commodity,balance), found 3"),
    ],
)
def test_bad_balance_row(line, message):
    sep = ", " if message.startswith("field") else ": "
    assert refusals(balances, BALANCES + line + "\n") == [f"balances.csv, row 2{sep}{message}"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "2026-13-01,L1,USDT,1,1,1",
            "field date: '2026-13-01' is not a real date",
        ),
        ("2026-01-31,,USDT,1,1,1", "field loan: is missing"),
        ("2026-01-31,L1,XYZ,1,1,1", "field commodity: 'XYZ' is not a known commodity"),
        ("2026-01-31,L1,USDT,x,1,1", "field principal_outstanding: must be a number, got 'x'"),
        ("2026-01-31,L1,USDT,-1,1,1", "field principal_outstanding: must not be negative, got -1"),
        (
            "2026-01-31,L1,USDT,1.0000001,1,1",
            "field principal_outstanding: 1.0000001 has more decimal places than the commodity "
            "allows (6)",
        ),
        ("2026-01-31,L1,USDT,1,1e,1", "field accrued_interest: must be a number, got '1e'"),
        ("2026-01-31,L1,USDT,1,-0.01,1", "field accrued_interest: must not be negative, got -0.01"),
        (
            "2026-01-31,L1,USDT,1,0.0000001,1",
            "field accrued_interest: 1E-7 has more decimal places than the commodity allows (6)",
        ),
        ("2026-01-31,L1,USDT,1,1,", "field collateral_units: is missing"),
        ("2026-01-31,L1,USDT,1,1,-7000", "field collateral_units: must not be negative, got -7000"),
        (
            "2026-01-31,L1,USDT,1,1,0.000000001",
            "field collateral_units: 1E-9 has more decimal places than the commodity allows (8)",
        ),
    ],
)
def test_bad_lender_row(line, message):
    [error] = refusals(lender, LENDER + line + "\n")
    assert error.startswith(f"lender.csv, row 2, {message}"), error


def test_an_unknown_commodity_still_has_its_amount_checked():
    assert refusals(balances, BALANCES + "2026-01-31,COLD-01,ETH,-1\n") == [
        "balances.csv, row 2, field commodity: 'ETH' is not a known commodity "
        "(known: BTC, USD, USDT)",
        "balances.csv, row 2, field balance: must not be negative, got -1",
    ]


def test_the_same_account_and_date_with_another_balance_is_refused():
    text = (
        BALANCES + "2026-01-31,COLD-01,BTC,1.5\n"
        "2026-01-31,COLD-02,BTC,2\n"
        "2026-01-31,COLD-01,BTC,1.6\n"
        "2026-01-31,COLD-02,USDT,2\n"
    )
    assert refusals(balances, text) == [
        "balances.csv, row 4, field balance: account COLD-01 on 2026-01-31 is 1.6 here but "
        "1.5 at row 2",
        "balances.csv, row 5, field commodity: account COLD-02 on 2026-01-31 is USDT here but "
        "BTC at row 3",
    ]


def test_the_same_loan_and_date_with_other_figures_is_refused():
    text = LENDER + "2026-01-31,L1,USDT,100,1,5\n2026-01-31,L1,USDT,100,1,6\n"
    assert refusals(lender, text) == [
        "lender.csv, row 3, field collateral_units: loan L1 on 2026-01-31 is 6 here but 5 at row 2"
    ]


def test_every_bad_row_is_reported_and_the_whole_file_refused():
    text = (
        BALANCES + "2026-01-31,COLD-01,BTC,1\n"  # good, but the file fails with the rest
        "2026-01-32,COLD-02,BTC,lots\n"
        "2026-01-31,COLD-03,BTC,1\n"
        "2026-01-31,COLD-04,DOGE,1\n"
        "2026-01-31,COLD-01,BTC,2\n"
        "too,few\n"
    )
    with pytest.raises(StatementFileError) as caught:
        balances(text)
    error = caught.value
    assert [str(e) for e in error.errors] == [
        "balances.csv, row 3, field date: '2026-01-32' is not a real date",
        "balances.csv, row 3, field balance: must be a number, got 'lots'",
        "balances.csv, row 5, field commodity: 'DOGE' is not a known commodity "
        "(known: BTC, USD, USDT)",
        "balances.csv, row 6, field balance: account COLD-01 on 2026-01-31 is 2 here but 1 at "
        "row 2",
        "balances.csv, row 7: expected 4 columns (date,account,commodity,balance), found 2",
    ]
    assert str(error) == "; ".join(str(e) for e in error.errors)
    # An ImportFileError like every importer's: the first problem as file, row and field.
    assert isinstance(error, ImportFileError)
    assert error.as_dict() == {
        "file": "balances.csv",
        "row": 3,
        "field": "date",
        "message": "'2026-01-32' is not a real date",
    }
    assert error.as_dicts()[4] == {
        "file": "balances.csv",
        "row": 7,
        "field": None,
        "message": "expected 4 columns (date,account,commodity,balance), found 2",
    }


def test_a_long_list_of_errors_is_shortened_in_the_message_only():
    text = BALANCES + "".join(f"2026-01-{day:02},A{day},BTC,-1\n" for day in range(1, 13))
    with pytest.raises(StatementFileError) as caught:
        balances(text)
    assert len(caught.value.errors) == 12
    assert str(caught.value).endswith(
        "balances.csv, row 11, field balance: must not be negative, got -1 (and 2 more)"
    )


# ---------------------------------------------------------------------------------------
# Bad files


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n", "  \r\n"])
def test_empty_file_is_refused(content):
    assert refusals(balances, content) == [
        "balances.csv: the file is empty; expected the header date,account,commodity,balance"
    ]
    assert refusals(lender, content) == [
        "lender.csv: the file is empty; expected the header "
        "date,loan,commodity,principal_outstanding,accrued_interest,collateral_units"
    ]


def test_header_without_rows_is_refused():
    assert refusals(balances, BALANCES + "\n") == [
        "balances.csv: the file has a header but no rows; expected "
        "date,account,commodity,balance lines"
    ]


def test_missing_columns_are_refused():
    assert refusals(balances, "date,account,balance\n2026-01-31,COLD-01,1\n") == [
        "balances.csv, row 1, field commodity: the column is missing; expected the header "
        "date,account,commodity,balance"
    ]
    errors = refusals(lender, "date,loan,commodity,principal_outstanding\n2026-01-31,L1,USDT,1\n")
    assert [e.split(": ")[0] for e in errors] == [
        "lender.csv, row 1, field accrued_interest",
        "lender.csv, row 1, field collateral_units",
    ]


def test_other_and_repeated_columns_are_refused():
    assert refusals(balances, "date,account,commodity,balance,note\n2026-01-31,A,BTC,1,x\n") == [
        "balances.csv, row 1, field note: is not a column of this statement; expected the "
        "header date,account,commodity,balance"
    ]
    assert refusals(balances, "date,account,commodity,balance,\n2026-01-31,A,BTC,1,\n") == [
        "balances.csv, row 1, field (column 5, unnamed): is not a column of this statement; "
        "expected the header date,account,commodity,balance"
    ]
    assert refusals(balances, "date,account,commodity,balance,Date\n2026-01-31,A,BTC,1,x\n") == [
        "balances.csv, row 1, field date: the column appears more than once"
    ]


def test_a_lender_header_is_not_a_balance_statement():
    errors = refusals(balances, LENDER + "2026-01-31,L1,USDT,1,1,1\n")
    assert errors[0] == (
        "balances.csv, row 1, field account: the column is missing; expected the header "
        "date,account,commodity,balance"
    )
    assert len(errors) == 6  # account and balance missing, four columns not of this format


def test_text_that_is_not_utf8_is_refused():
    assert refusals(balances, BALANCES.encode() + b"2026-01-31,K\xf6ln,BTC,1\n") == [
        "balances.csv: not UTF-8 text (byte 43 cannot be decoded)"
    ]


def test_unreadable_csv_is_refused():
    errors = refusals(balances, BALANCES + '2026-01-31,"COLD-01"x,BTC,1\n')
    assert errors == ["balances.csv, row 2: not readable CSV: ',' expected after '\"'"]
