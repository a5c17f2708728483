"""The ledger's statements (account detail, balance sheet, income statement) and the CSV form
of every report: roles, figures, bad parameters, and CSV equal to JSON."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from ledger import selectors, services
from tests.earlier_ledgers import posted_past_the_lots
from tests.ledger.api.test_entries import API, READ_STATUS, ROLES, assert_error, seed_entries

D = Decimal
OCTOBER = {"start": "2025-10-01", "end": "2025-10-31"}


# --- helpers (imported by the holdings report tests) -------------------------------------


def read_csv(response: Any) -> tuple[list[str], list[dict[str, str]]]:
    """The header and the rows of a CSV answer."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    reader = csv.DictReader(io.StringIO(response.content.decode("utf-8"), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def flat(row: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """A JSON row as CSV cells: nested objects in dotted names, null empty, lists of names
    joined by '; '."""
    cells: dict[str, str] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            cells.update(flat(value, f"{name}."))
        elif value is None:
            cells[name] = ""
        elif isinstance(value, bool):
            cells[name] = "true" if value else "false"
        elif isinstance(value, list):
            cells[name] = "; ".join(str(item) for item in value)
        else:
            cells[name] = str(value)
    return cells


def assert_same_row(csv_row: dict[str, str], json_row: dict[str, Any]) -> None:
    """Every figure of the JSON row in the CSV row, and nothing else; a null object is a
    run of empty cells."""
    expected = flat(json_row)
    for column, text in csv_row.items():
        if column in expected:
            assert text == expected[column], (column, csv_row, json_row)
            continue
        parts = column.split(".")
        nulls = [".".join(parts[:n]) for n in range(1, len(parts))]
        assert any(expected.get(name) == "" for name in nulls), (column, json_row)
        assert text == "", (column, csv_row)
    assert set(expected) <= set(csv_row) | {
        name
        for name in expected
        if expected[name] == "" and any(c.startswith(f"{name}.") for c in csv_row)
    }, set(expected) - set(csv_row)


def assert_same_rows(csv_rows: list[dict[str, str]], json_rows: list[dict[str, Any]]) -> None:
    assert len(csv_rows) == len(json_rows)
    for csv_row, json_row in zip(csv_rows, json_rows, strict=True):
        assert_same_row(csv_row, json_row)


def figures_row(row: dict[str, str], label_column: str, label: str) -> dict[str, str]:
    """A labelled row's non-empty cells other than the label."""
    assert row[label_column] == label, row
    return {k: v for k, v in row.items() if v and k != label_column}


# --- a small ledger ----------------------------------------------------------------------


def seed_statements() -> None:
    """Opening cash 500,000.00 (2025-09-30), 1.5 BTC bought for 142,500.00 (10-01), a loan
    of 50,000.00 (10-02), revenue 10,000.00 (10-03), interest 2,000.00 (10-04), a fair value
    gain of 7,500.00 (11-01)."""
    seed_entries()
    for day, memo, postings in [
        (2, "Loan drawn", [("1000", D("50000"), D("50000")), ("2000", -50000, -50000)]),
        (3, "Mined", [("1300", D("0.1"), D("10000")), ("4000", -10000, -10000)]),
        (4, "=Interest", [("5200", D("2000"), D("2000")), ("1000", -2000, -2000)]),
    ]:
        services.entry_post(effective_date=date(2025, 10, day), memo=memo, postings=postings)
    # A fair value adjustment no lot carries (this ledger has none): as an earlier release's
    # ledger may hold it.
    posted_past_the_lots(
        effective_date=date(2025, 11, 1),
        memo="Remeasured",
        postings=[("1290", D("7500"), D("7500")), ("4100", -7500, -7500)],
    )


REPORT_URLS = [
    ("/reports/trial-balance/", {"as_of": "2025-10-31"}),
    ("/reports/account-detail/", {"account": "1000", **OCTOBER}),
    ("/reports/balance-sheet/", {"as_of": "2025-10-31"}),
    ("/reports/income-statement/", OCTOBER),
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("url", "query"), REPORT_URLS)
@pytest.mark.parametrize("format_", ["json", "csv"])
def test_every_statement_for_every_role(chart, api_client_for, role, url, query, format_):
    seed_statements()
    response = api_client_for(role).get(API + url, {**query, "format": format_})
    assert response.status_code == READ_STATUS[role], response.content
    expected = (
        "text/csv" if format_ == "csv" and response.status_code == 200 else "application/json"
    )
    assert response["Content-Type"].startswith(expected)


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "query"), REPORT_URLS)
def test_other_formats_are_refused_as_drf_does(chart, api_client_for, url, query):
    client = api_client_for("auditor")
    assert_error(client.get(API + url, {**query, "format": "xml"}), 404, None, "not_found")
    refused = client.get(API + url, query, HTTP_ACCEPT="application/xml")
    assert_error(refused, 406, None, "not_acceptable")
    # JSON is the default; Accept: text/csv asks for CSV like ?format=csv.
    assert client.get(API + url, query)["Content-Type"] == "application/json"
    assert client.get(API + url, query, HTTP_ACCEPT="text/csv")["Content-Type"].startswith(
        "text/csv"
    )


# --- account detail ----------------------------------------------------------------------


@pytest.mark.django_db
def test_account_detail_opening_every_posting_and_closing(chart, api_client_for):
    seed_statements()
    client = api_client_for("auditor")
    body = client.get(f"{API}/reports/account-detail/", {"account": "1000", **OCTOBER}).json()
    assert (body["account"], body["name"], body["type"], body["commodity"]) == (
        "1000",
        "Cash",
        "asset",
        "USD",
    )
    assert body["opening"] == {"quantity": "500000.00", "value": "500000.00"}
    assert body["movement"] == {"quantity": "-94500.00", "value": "-94500.00"}
    assert body["closing"] == {"quantity": "405500.00", "value": "405500.00"}
    assert body["count"] == 3 and body["next"] is None
    lines = [
        (r["effective_date"], r["memo"], r["value"], r["running_value"]) for r in body["results"]
    ]
    assert lines == [
        ("2025-10-01", "Bought 1.5 BTC", "-142500.00", "357500.00"),
        ("2025-10-02", "Loan drawn", "50000.00", "407500.00"),
        ("2025-10-04", "=Interest", "-2000.00", "405500.00"),
    ]
    sequences = [row["sequence"] for row in body["results"]]
    assert sequences == sorted(sequences)
    assert {row["kind"] for row in body["results"]} == {"general"}
    assert {row["account"] for row in body["results"]} == {"1000"}


@pytest.mark.django_db
def test_account_detail_pages_carry_the_running_balance_and_the_csv_holds_them_all(
    chart, api_client_for
):
    seed_statements()
    for day in range(5, 9):
        services.account_create(
            code=f"1300-P{day}", name=f"Pool {day}", type="asset", commodity="BTC", parent="1300"
        )
        services.entry_post(
            effective_date=date(2025, 10, day),
            memo=f"Mined day {day}",
            postings=[
                (f"1300-P{day}", D("0.01234567"), D("1234.56")),
                ("4000", D("-1234.56"), D("-1234.56")),
            ],
        )
    client = api_client_for("auditor")
    query = {"account": "1300", **OCTOBER}
    pages = [
        client.get(f"{API}/reports/account-detail/", {**query, "page_size": 2, "page": n}).json()
        for n in (1, 2, 3)
    ]
    assert [len(page["results"]) for page in pages] == [2, 2, 1]
    assert {page["count"] for page in pages} == {5}
    assert pages[0]["previous"] is None and pages[2]["next"] is None
    rows = [row for page in pages for row in page["results"]]
    running = D(pages[0]["opening"]["quantity"])
    for row in rows:
        running += D(row["quantity"])
        assert row["running_quantity"] == f"{running:.8f}"
    assert rows[-1]["running_quantity"] == pages[0]["closing"]["quantity"] == "0.14938268"
    assert [row["account"] for row in rows] == ["1300", "1300-P5", "1300-P6", "1300-P7", "1300-P8"]

    response = client.get(f"{API}/reports/account-detail/", {**query, "format": "csv"})
    header, table = read_csv(response)
    assert (
        'filename="account-detail_1300_2025-10-01_2025-10-31.csv"'
        in (response["Content-Disposition"])
    )
    assert header == [
        "entry",
        "sequence",
        "effective_date",
        "kind",
        "memo",
        "account",
        "quantity",
        "value",
        "running_quantity",
        "running_value",
    ]
    opening, *postings, total, closing = table
    assert figures_row(opening, "memo", "Opening balance") == {
        "running_quantity": "0.00000000",
        "running_value": "0.00",
    }
    assert_same_rows(postings, rows)
    assert figures_row(total, "memo", "Total") == {
        "quantity": pages[0]["movement"]["quantity"],
        "value": pages[0]["movement"]["value"],
    }
    assert figures_row(closing, "memo", "Closing balance") == {
        "running_quantity": "0.14938268",
        "running_value": pages[0]["closing"]["value"],
    }


@pytest.mark.django_db
def test_a_memo_a_spreadsheet_would_run_as_a_formula_is_quoted(chart, api_client_for):
    seed_statements()
    response = api_client_for("auditor").get(
        f"{API}/reports/account-detail/", {"account": "5200", **OCTOBER, "format": "csv"}
    )
    _, rows = read_csv(response)
    assert [row["memo"] for row in rows] == [
        "Opening balance",
        "'=Interest",
        "Total",
        "Closing balance",
    ]
    assert rows[1]["value"] == "2000.00"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2025-10-01", "end": "2025-10-31"}, "account"),
        ({"account": "9999", **OCTOBER}, "account"),
        ({"account": "1000", "end": "2025-10-31"}, "start"),
        ({"account": "1000", "start": "2025-10-01"}, "end"),
        ({"account": "1000", "start": "2025-10-32", "end": "2025-10-31"}, "start"),
        ({"account": "1000", "start": "2025-10-02", "end": "2025-10-01"}, "end"),
    ],
)
def test_account_detail_refuses_bad_parameters_by_name(chart, api_client_for, query, field):
    client = api_client_for("auditor")
    assert_error(client.get(f"{API}/reports/account-detail/", query), 400, field)
    # Asked for CSV, the error is still JSON.
    response = client.get(f"{API}/reports/account-detail/", {**query, "format": "csv"})
    assert response["Content-Type"] == "application/json"
    assert_error(response, 400, field)


# --- balance sheet and income statement --------------------------------------------------


@pytest.mark.django_db
def test_the_balance_sheet_balances_with_the_undistributed_income(chart, api_client_for):
    seed_statements()
    client = api_client_for("auditor")
    sheet = client.get(f"{API}/reports/balance-sheet/", {"as_of": "2025-11-30"}).json()
    amounts = {
        section: {row["account"]: row["amount"] for row in sheet[section]["rows"]}
        for section in ("assets", "liabilities", "equity")
    }
    assert amounts == {
        "assets": {
            "1000": "405500.00",
            "1210": "142500.00",
            "1290": "7500.00",
            "1300": "10000.00",
        },
        "liabilities": {"2000": "50000.00"},
        "equity": {"3000": "500000.00"},
    }
    assert [row["value"] for row in sheet["liabilities"]["rows"]] == ["-50000.00"]
    # Income 10,000 + 7,500 less 2,000 of interest, not closed to an equity account.
    assert sheet["undistributed_income"] == "15500.00"
    assert (sheet["assets"]["total"], sheet["liabilities"]["total"]) == ("565500.00", "50000.00")
    assert (sheet["equity"]["total"], sheet["total_equity"]) == ("500000.00", "515500.00")
    assert sheet["total_liabilities_and_equity"] == sheet["assets"]["total"]
    assert sheet["balances"] is True
    btc = next(row for row in sheet["assets"]["rows"] if row["account"] == "1210")
    assert (btc["quantity"], btc["commodity"]) == ("1.50000000", "BTC")

    response = client.get(f"{API}/reports/balance-sheet/", {"as_of": "2025-11-30", "format": "csv"})
    header, rows = read_csv(response)
    assert 'filename="balance-sheet_2025-11-30.csv"' in response["Content-Disposition"]
    assert header == ["account", "name", "type", "commodity", "quantity", "value", "amount"]
    assert_same_rows(rows[0:4], sheet["assets"]["rows"])
    assert figures_row(rows[4], "name", "Total assets") == {"amount": "565500.00"}
    assert_same_rows(rows[5:6], sheet["liabilities"]["rows"])
    assert figures_row(rows[6], "name", "Total liabilities") == {"amount": "50000.00"}
    assert_same_rows(rows[7:8], sheet["equity"]["rows"])
    labelled = [(row["name"], row["amount"]) for row in rows[8:]]
    assert labelled == [
        ("Total equity accounts", "500000.00"),
        ("Undistributed income (no closing entries)", "15500.00"),
        ("Total equity", "515500.00"),
        ("Total liabilities and equity", "565500.00"),
    ]


@pytest.mark.django_db
def test_the_income_statement_is_the_change_of_undistributed_income(chart, api_client_for):
    seed_statements()
    client = api_client_for("auditor")
    period = {"start": "2025-10-03", "end": "2025-11-01"}
    statement = client.get(f"{API}/reports/income-statement/", period).json()
    assert [(r["account"], r["amount"]) for r in statement["income"]["rows"]] == [
        ("4000", "10000.00"),
        ("4100", "7500.00"),
    ]
    assert [(r["account"], r["amount"]) for r in statement["expenses"]["rows"]] == [
        ("5200", "2000.00")
    ]
    assert (statement["income"]["total"], statement["expenses"]["total"]) == (
        "17500.00",
        "2000.00",
    )
    assert statement["net_income"] == "15500.00"

    def undistributed(as_of: str) -> Decimal:
        body = client.get(f"{API}/reports/balance-sheet/", {"as_of": as_of}).json()
        return D(body["undistributed_income"])

    assert D(statement["net_income"]) == undistributed("2025-11-01") - undistributed("2025-10-02")
    october = client.get(f"{API}/reports/income-statement/", OCTOBER).json()
    assert october["net_income"] == "8000.00"

    response = client.get(f"{API}/reports/income-statement/", {**period, "format": "csv"})
    _, rows = read_csv(response)
    assert (
        'filename="income-statement_2025-10-03_2025-11-01.csv"' in (response["Content-Disposition"])
    )
    assert_same_rows(rows[0:2], statement["income"]["rows"])
    assert figures_row(rows[2], "name", "Total income") == {"amount": "17500.00"}
    assert_same_rows(rows[3:4], statement["expenses"]["rows"])
    assert figures_row(rows[4], "name", "Total expenses") == {"amount": "2000.00"}
    assert figures_row(rows[5], "name", "Net income") == {"amount": "15500.00"}
    assert len(rows) == 6


@pytest.mark.django_db
def test_the_statements_tie_to_the_trial_balance(chart):
    seed_statements()
    as_of = date(2025, 11, 30)
    sheet = selectors.balance_sheet(as_of=as_of)
    trial = selectors.trial_balance(as_of=as_of)
    by_type: dict[str, Decimal] = {}
    for row in trial.rows:
        by_type[row.type] = by_type.get(row.type, D(0)) + row.value
    assert sheet.assets.total == by_type["asset"]
    assert sheet.liabilities.total == -by_type["liability"]
    assert sheet.equity.total == -by_type["equity"]
    assert sheet.undistributed_income == -(by_type["income"] + by_type["expense"])
    assert sheet.balances


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "query", "field"),
    [
        ("/reports/balance-sheet/", {"as_of": "2025-13-01"}, "as_of"),
        ("/reports/balance-sheet/", {"as_of": "yesterday"}, "as_of"),
        ("/reports/income-statement/", {"start": "2025-10-01"}, "end"),
        ("/reports/income-statement/", {"end": "2025-10-01"}, "start"),
        ("/reports/income-statement/", {"start": "2025-10-02", "end": "2025-10-01"}, "end"),
        ("/reports/trial-balance/", {"as_of": "2025-02-30"}, "as_of"),
    ],
)
def test_statements_refuse_bad_parameters_by_name(chart, api_client_for, url, query, field):
    client = api_client_for("auditor")
    assert_error(client.get(API + url, query), 400, field)
    assert_error(client.get(API + url, {**query, "format": "csv"}), 400, field)


# --- the trial balance in CSV ------------------------------------------------------------


@pytest.mark.django_db
def test_the_trial_balance_in_csv_is_the_json_with_a_total_row(chart, api_client_for):
    seed_statements()
    client = api_client_for("auditor")
    body = client.get(f"{API}/reports/trial-balance/", {"as_of": "2025-11-30"}).json()
    response = client.get(f"{API}/reports/trial-balance/", {"as_of": "2025-11-30", "format": "csv"})
    header, rows = read_csv(response)
    assert 'filename="trial-balance_2025-11-30.csv"' in response["Content-Disposition"]
    assert header == [
        "account",
        "name",
        "commodity",
        "quantity",
        "value",
        "type",
        "debit",
        "credit",
    ]
    *accounts, total = rows
    assert_same_rows(accounts, body["rows"])
    assert figures_row(total, "account", "Total") == {
        "debit": body["total_debit"],
        "credit": body["total_credit"],
        "value": "0.00",
    }
    assert response.content.endswith(b"\r\n")


@pytest.mark.django_db(transaction=True)
def test_a_report_reads_in_one_snapshot(chart, api_client_for, monkeypatch):
    """Outside a transaction (as in production), a report's queries share one snapshot."""
    seen: list[str] = []
    trial_balance = selectors.trial_balance

    def spy(**kwargs: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            seen.append(cursor.fetchone()[0])
        return trial_balance(**kwargs)

    monkeypatch.setattr(selectors, "trial_balance", spy)
    response = api_client_for("auditor").get(f"{API}/reports/trial-balance/", {"format": "csv"})
    assert response.status_code == 200
    assert seen == ["repeatable read"]
    assert not connection.in_atomic_block
