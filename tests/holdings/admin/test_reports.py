"""The report pages of the admin (/admin/reports/<name>/): every role reads them, a user
without a role is refused; their figures are the API's for the same parameters; a bad or
missing parameter is an error on the page naming it, and no value is a server error; the
period selector's presets, columns and comparison. The downloads and the drill-down are in
test_report_files.py, over the same books."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from holdings.services import loans
from ledger import services as ledger_services
from ledger.admin import utc_today
from tests.conftest import UserFactory
from tests.holdings.conftest import ADDRESS, f2pool_file, run_import
from tests.holdings.services.test_loans import make_loan
from tests.holdings.services.test_treasury import holdings_at_fair_value, sell

pytestmark = pytest.mark.django_db
D = Decimal
API = "/api/v1/reports"
JANUARY = {"start": "2026-01-01", "end": "2026-01-31"}
PAYOUT_ID = 4242
REPORTS = {
    "trial-balance": {"as_of": "2026-01-31"},
    "balance-sheet": {"as_of": "2026-01-31"},
    "income-statement": JANUARY,
    "rollforward": {**JANUARY, "commodity": "BTC"},
    "rollforward-by-commodity": JANUARY,
    "account-detail": {**JANUARY, "account": "1210"},
    "production": {**JANUARY, "commodity": "BTC"},
    "realized-gains": {**JANUARY, "commodity": "BTC"},
    "realized-gains-by-commodity": JANUARY,
    "loan-schedule": {"loan": "L-1", "start": "2026-01-01", "end": "2026-01-20"},
    "price-evidence": JANUARY,
}


@pytest.fixture
def books(world, staff_user, approver_user):
    """The holdings world with something of every kind in January 2026: 3 BTC in COLD-1
    remeasured at 2025-12-31, five days of F2Pool earnings and a payout to HOT-1, a loan
    L-1 with 1 BTC pledged and 50,000.00 drawn, a sale of 1.5 BTC (T-1, 2026-01-10) and a
    manual journal approved by another person."""
    holdings_at_fair_value()
    earnings = [(date(2026, 1, day), "0.01000000") for day in range(1, 6)]
    payout_at = datetime(2026, 1, 4, 12, tzinfo=UTC)
    batch = run_import("f2pool", f2pool_file(earnings, [(PAYOUT_ID, payout_at, "0.03", ADDRESS)]))
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))
    loans.loan_pledge(loan=loan, units=D("1"), from_wallet="COLD-1", on=date(2026, 1, 1))
    loans.loan_draw(loan=loan, amount=D("50000.00"), on=date(2026, 1, 1))
    sale = sell()
    journal, _ = ledger_services.manual_journal_create(
        effective_date=date(2026, 1, 20),
        memo="Capital paid in",
        postings=[("1000", D("1000.00"), D("1000.00")), ("3000", D("-1000"), D("-1000"))],
        by=staff_user,
    )
    ledger_services.manual_journal_submit(journal=journal, by=staff_user)
    journal = ledger_services.manual_journal_approve(journal=journal, by=approver_user)
    return {"batch": batch, "loan": loan, "sale": sale, "journal": journal}


@pytest.fixture
def users(staff_user, approver_user, auditor_user, no_role_user):
    people = {
        "staff": staff_user,
        "approver": approver_user,
        "auditor": auditor_user,
        "no_role": no_role_user,
        "superuser": UserFactory(username="root", is_superuser=True, is_staff=True),
    }
    for user in people.values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return people


@pytest.fixture
def as_role(client, users):
    def login(role: str):
        client.force_login(users[role])
        return client

    return login


def page_url(name: str) -> str:
    return reverse("admin:reports_" + name.replace("-", "_"))


def rows(response: Any, table: int = 0) -> list[dict[str, str]]:
    """A page's table as the reader sees it: header -> text, row by row."""
    found = response.context["tables"][table]
    headers = [column.header for column in found["columns"]]
    return [
        {"_kind": row["kind"], **{h: c["text"] for h, c in zip(headers, row["cells"], strict=True)}}
        for row in found["rows"]
    ]


def links(response: Any, table: int = 0) -> list[dict[str, str | None]]:
    found = response.context["tables"][table]
    headers = [column.header for column in found["columns"]]
    return [
        {h: c["link"] for h, c in zip(headers, row["cells"], strict=True)} for row in found["rows"]
    ]


def api(api_client_for: Any, path: str, query: dict[str, str]) -> dict[str, Any]:
    response = api_client_for("auditor").get(f"{API}/{path}/", query)
    assert response.status_code == 200, response.content
    return response.json()


# --- roles -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["auditor", "staff", "approver", "superuser"])
def test_every_report_page_for_every_role(books, as_role, role):
    client = as_role(role)
    index = client.get(reverse("admin:reports_index"))
    assert index.status_code == 200
    for name, query in REPORTS.items():
        response = client.get(page_url(name), query)
        assert response.status_code == 200, (name, response.content[:2000])
        assert response.context["report"] is not None
        assert f'href="{page_url(name)}' in index.content.decode()


def test_typed_parameters_offer_what_exists(books, as_role):
    html = as_role("staff").get(page_url("loan-schedule")).content.decode()
    assert '<datalist id="report-loan-choices"><option value="L-1">' in html
    html = as_role("staff").get(page_url("price-evidence"), JANUARY).content.decode()
    assert '<option value="BTC">' in html and '<option value="production_record">' in html


def test_report_pages_only_read(books, as_role):
    client = as_role("staff")
    for name, query in REPORTS.items():
        assert client.post(page_url(name), query).status_code == 405


def test_a_user_without_a_role_is_refused(books, as_role, client):
    as_role("no_role")
    for name, query in REPORTS.items():
        assert client.get(page_url(name), query).status_code == 403
    assert client.get(reverse("admin:reports_index")).status_code == 403
    client.logout()
    response = client.get(page_url("trial-balance"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_reports_are_in_the_navigation_and_on_the_index(books, as_role):
    html = as_role("auditor").get(reverse("admin:index")).content.decode()
    assert "Reports" in html and page_url("income-statement") in html
    html = as_role("no_role").get(reverse("admin:index")).content.decode()
    assert page_url("income-statement") not in html


# --- the API's figures -------------------------------------------------------------------


def get(client: Any, name: str, **changes: str) -> Any:
    response = client.get(page_url(name), {**REPORTS[name], **changes})
    assert response.status_code == 200, response.content[:2000]
    return response


def test_trial_balance_equals_the_api(books, as_role, api_client_for):
    body = api(api_client_for, "trial-balance", REPORTS["trial-balance"])
    page = rows(get(as_role("auditor"), "trial-balance"))
    lines = [row for row in page if row["_kind"] == "row"]
    assert [
        (r["Account"], r["Quantity"], r["Value (USD)"], r["Debit (USD)"], r["Credit (USD)"])
        for r in lines
    ] == [(r["account"], r["quantity"], r["value"], r["debit"], r["credit"]) for r in body["rows"]]
    total = page[-1]
    assert (total["Account"], total["Debit (USD)"], total["Credit (USD)"]) == (
        "Total",
        body["total_debit"],
        body["total_credit"],
    )
    # Each commodity at its own scale: BTC with 8 places, USD with 2.
    places = {
        r["Commodity"]: {
            len(x["Quantity"].split(".")[1]) for x in lines if x["Commodity"] == r["Commodity"]
        }
        for r in lines
    }
    assert places["BTC"] == {8} and places["USD"] == {2}


def test_balance_sheet_and_income_statement_equal_the_api(books, as_role, api_client_for):
    client = as_role("staff")
    sheet = api(api_client_for, "balance-sheet", REPORTS["balance-sheet"])
    page = rows(get(client, "balance-sheet"))
    figures = {r["Account"]: r["At 2026-01-31"] for r in page}
    for section in ("assets", "liabilities", "equity"):
        for row in sheet[section]["rows"]:
            assert figures[row["account"]] == row["amount"]
    assert figures["Total assets"] == sheet["assets"]["total"]
    assert figures["Total liabilities"] == sheet["liabilities"]["total"]
    assert figures["Total equity accounts"] == sheet["equity"]["total"]
    assert figures["Undistributed income (no closing entries)"] == sheet["undistributed_income"]
    assert figures["Total liabilities and equity"] == sheet["total_liabilities_and_equity"]

    statement = api(api_client_for, "income-statement", JANUARY)
    page = rows(get(client, "income-statement"))
    figures = {r["Account"]: r["2026-01-01 to 2026-01-31"] for r in page}
    for section in ("income", "expenses"):
        for row in statement[section]["rows"]:
            assert figures[row["account"]] == row["amount"]
        assert figures[f"Total {section}"] == statement[section]["total"]
    assert figures["Net income"] == statement["net_income"]


def test_account_detail_equals_the_api(books, as_role, api_client_for):
    body = api(api_client_for, "account-detail", {**REPORTS["account-detail"], "page_size": 1000})
    page = rows(get(as_role("approver"), "account-detail"))
    opening, *postings, total, closing = page
    assert (opening["Running quantity"], opening["Running value (USD)"]) == (
        body["opening"]["quantity"],
        body["opening"]["value"],
    )
    assert [
        (
            int(p["Entry"]),
            p["Date"],
            p["Quantity (BTC)"],
            p["Value (USD)"],
            p["Running quantity"],
            p["Running value (USD)"],
        )
        for p in postings
    ] == [
        (
            p["entry"],
            p["effective_date"],
            p["quantity"],
            p["value"],
            p["running_quantity"],
            p["running_value"],
        )
        for p in body["results"]
    ]
    assert (total["Quantity (BTC)"], total["Value (USD)"]) == (
        body["movement"]["quantity"],
        body["movement"]["value"],
    )
    assert (closing["Running quantity"], closing["Running value (USD)"]) == (
        body["closing"]["quantity"],
        body["closing"]["value"],
    )
    assert len(postings) >= 2  # the pledge and the sale


def test_holdings_reports_equal_the_api(books, as_role, api_client_for):
    client = as_role("auditor")
    body = api(api_client_for, "rollforward", REPORTS["rollforward"])
    page = rows(get(client, "rollforward"))
    assert [
        (
            r["Line"],
            r["Units (BTC)"],
            r["Cost (USD)"],
            r["Carrying value (USD)"],
            r["Proceeds (USD)"],
        )
        for r in page
    ] == [
        (x["line"], x["units"], x["cost"], x["carrying_value"], x["proceeds"] or "")
        for x in body["lines"]
    ]
    memo = rows(get(client, "rollforward"), table=1)
    assert [(r["Line"], r["Units (BTC)"]) for r in memo] == [
        (x["line"], x["units"]) for x in body["memo"]
    ]

    months = {"start": "2025-12-01", "end": "2026-01-31", "commodity": "BTC"}
    body = api(api_client_for, "production", months)
    page = rows(get(client, "production", **months))
    fields = {
        "Month": "month",
        "Days": "days",
        "Mined": "mined",
        "Average per day": "average_per_day",
        "Held at month end": "held_at_month_end",
        "Restricted": "restricted_at_month_end",
        "Unrestricted": "unrestricted_at_month_end",
        "Operating hashrate (EH/s)": "average_operating_hashrate",
        "Deployed hashrate (EH/s)": "deployed_hashrate",
        "Mined change (%)": "mined_change_percent",
        "Held change": "held_change",
        "Sold": "sold",
        "Net proceeds (USD)": "net_proceeds_usd",
        "Average price (USD)": "average_price_usd",
    }
    assert [[r[header] for header in fields] for r in page[:-1]] == [
        ["" if m[key] is None else str(m[key]) for key in fields.values()] for m in body["results"]
    ]
    page = page[1:]
    assert page[0]["Mined"] == "0.05000000"

    body = api(api_client_for, "realized-gains", REPORTS["realized-gains"])
    page = rows(get(client, "realized-gains"))
    fields = {
        "Disposal": "id",
        "Kind": "kind",
        "Disposed on": "disposed_on",
        "Lot": "lot",
        "Account": "account",
        "Units (BTC)": "units",
        "Cost (USD)": "cost",
        "Carrying value (USD)": "carrying_value",
        "Proceeds (USD)": "proceeds",
        "Realized gain (USD)": "realized_gain",
        "Days held": "days_held",
        "Method": "method",
        "Entry": "entry",
    }
    assert [[r[header] for header in fields] for r in page[:-1]] == [
        [str(d[key]) for key in fields.values()] for d in body["results"]
    ]
    assert [r["Sale or transfer"] for r in page[:-1]] == [
        d["sale"] or d["transfer"] for d in body["results"]
    ]
    total = page[-1]
    assert (total["Units (BTC)"], total["Proceeds (USD)"], total["Realized gain (USD)"]) == (
        body["totals"]["units"],
        body["totals"]["proceeds"],
        body["totals"]["realized_gain"],
    )

    body = api(api_client_for, "loan-schedule", REPORTS["loan-schedule"])
    page = rows(get(client, "loan-schedule"))
    opening, *days, total = page
    assert opening["Principal"] == body["opening"]["principal"]
    fields = {
        "Day": "day",
        "Principal drawn": "principal_drawn",
        "Principal paid": "principal_paid",
        "Interest accrued": "interest_accrued",
        "Interest paid": "interest_paid",
        "Principal": "principal",
        "Interest": "interest",
        "Balance": "balance",
        "Debt value (USD)": "debt_value",
        "Collateral pledged": "collateral_pledged",
        "Collateral released": "collateral_released",
        "Collateral liquidated": "collateral_liquidated",
        "Collateral units": "collateral_units",
        "Collateral price": "collateral_price",
        "Collateral value (USD)": "collateral_value",
        "LTV": "ltv",
        "Tier": "tier",
    }
    assert [[r[header] for header in fields] for r in days] == [
        ["" if d[key] is None else d[key] for key in fields.values()] for d in body["results"]
    ]
    assert any(d["ltv"] for d in body["results"])
    # A day's principal links to the principal account's detail up to that day, whose
    # closing balance is that principal (a liability: credit, negative in the ledger).
    last = links(get(client, "loan-schedule"))[-2]["Principal"]
    assert last is not None and "start=2026-01-01" in last and "end=2026-01-20" in last
    closing = rows(client.get(last))[-1]
    assert D(closing["Running quantity"]) == -D(days[-1]["Principal"]) != 0
    assert total["Interest accrued"] == body["totals"]["interest_accrued"]

    query = {**REPORTS["price-evidence"], "page_size": 1000}
    body = api(api_client_for, "price-evidence", query)
    page = rows(get(client, "price-evidence"))
    assert [
        (
            int(r["Price id"]),
            r["Price"],
            r["Timestamp"],
            r["Used by"],
            r["Link"],
            r["Record"],
            r["Reference"],
            r["Date"],
            r["Entry"],
            r["Commodity"],
            r["Quantity"],
            r["Value (USD)"],
        )
        for r in page
    ] == [
        (
            u["price"]["id"],
            u["price"]["price"],
            u["price"]["timestamp"].replace("+00:00", "Z"),
            u["used_by"],
            u["link"],
            str(u["record"]),
            u["reference"],
            u["effective_date"],
            "" if u["entry_sequence"] is None else str(u["entry_sequence"]),
            u["commodity"] or "",
            u["quantity"] or "",
            u["value"] or "",
        )
        for u in body["results"]
    ]
    assert page, "the pool earnings used prices"


# --- bad parameters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "query", "parameter"),
    [
        ("trial-balance", {"as_of": "2026-02-30"}, "as_of"),
        ("trial-balance", {"as_of": "31/01/2026"}, "as_of"),
        ("balance-sheet", {"as_of": "0001-01-01"}, "as_of"),
        ("balance-sheet", {"as_of": "2026-01-31", "columns": "week"}, "columns"),
        ("income-statement", {"start": "2026-01-01"}, "end"),
        ("income-statement", {"start": "2026-02-01", "end": "2026-01-01"}, "end"),
        ("income-statement", {"period": "fortnight"}, "period"),
        ("rollforward", {**JANUARY, "commodity": "USD"}, "commodity"),
        ("rollforward", {**JANUARY, "commodity": "NOPE"}, "commodity"),
        ("account-detail", JANUARY, "account"),
        ("account-detail", {**JANUARY, "account": "9999"}, "account"),
        ("account-detail", {**JANUARY, "account": "x" * 500}, "account"),
        ("production", {"start": "2000-01-01", "end": "2026-01-31"}, "end"),
        ("realized-gains", {"start": "2026-01-01", "end": "9999-12-31"}, "end"),
        ("loan-schedule", {}, "loan"),
        ("loan-schedule", {"loan": "L-404"}, "loan"),
        ("loan-schedule", {"loan": "L-1", "start": "2026-03-01", "end": "2026-01-01"}, "end"),
        ("price-evidence", {**JANUARY, "used_by": "magic"}, "used_by"),
        ("price-evidence", {**JANUARY, "base": "??"}, "base"),
        ("price-evidence", {**JANUARY, "format": "pdf"}, "format"),
        ("trial-balance", {"as_of": "2026-01-31", "asof": "2026-01-31"}, "asof"),
        ("rollforward", {**JANUARY, "account": "1000"}, "account"),
        ("account-detail", {**JANUARY, "account": "1000", "page": "0"}, "page"),
        ("account-detail", {**JANUARY, "account": "1000", "page": "one"}, "page"),
    ],
)
def test_a_bad_parameter_is_an_error_on_the_page_naming_it(books, as_role, name, query, parameter):
    client = as_role("auditor")
    for fmt in ("", "csv", "xlsx"):
        response = client.get(page_url(name), {"format": fmt, **query} if fmt else query)
        assert response.status_code == 400, response.content[:500]
        assert response["Content-Type"].startswith("text/html")
        assert parameter in dict(response.context["errors"])
        assert response.context["report"] is None
        html = response.content.decode()
        assert f"<strong>{parameter}</strong>" in html and 'class="errornote' in html


# --- the period selector -----------------------------------------------------------------


def test_presets_are_periods_of_today(books, as_role):
    from holdings.admin.reports.params import preset_range, prior_range

    today = date(2026, 5, 14)
    assert preset_range("this_month", today) == (date(2026, 5, 1), date(2026, 5, 31))
    assert preset_range("last_month", today) == (date(2026, 4, 1), date(2026, 4, 30))
    assert preset_range("this_quarter", today) == (date(2026, 4, 1), date(2026, 6, 30))
    assert preset_range("year_to_date", today) == (date(2026, 1, 1), today)
    assert prior_range(date(2026, 4, 1), date(2026, 6, 30)) == (date(2026, 1, 1), date(2026, 3, 31))
    assert prior_range(date(2026, 1, 1), date(2026, 1, 31)) == (
        date(2025, 12, 1),
        date(2025, 12, 31),
    )
    assert prior_range(date(2026, 1, 5), date(2026, 1, 14)) == (
        date(2025, 12, 26),
        date(2026, 1, 4),
    )
    response = as_role("auditor").get(page_url("income-statement"), {"period": "last_month"})
    assert response.status_code == 200
    first, last = preset_range("last_month", utc_today())
    assert response.context["report"].file_parts == (first.isoformat(), last.isoformat())


def test_columns_by_month_with_the_prior_period(books, as_role, api_client_for):
    client = as_role("auditor")
    query = {"start": "2026-01-01", "end": "2026-02-28", "columns": "month", "compare": "1"}
    page = rows(client.get(page_url("income-statement"), query))
    headers = list(page[0])
    assert headers[3:] == [
        "Prior: 2025-11-01 to 2025-12-31",
        "2026-01-01 to 2026-01-31",
        "2026-02-01 to 2026-02-28",
        "Change",
    ]
    for heading, start, end in [
        ("Prior: 2025-11-01 to 2025-12-31", "2025-11-01", "2025-12-31"),
        ("2026-01-01 to 2026-01-31", "2026-01-01", "2026-01-31"),
        ("2026-02-01 to 2026-02-28", "2026-02-01", "2026-02-28"),
    ]:
        body = api(api_client_for, "income-statement", {"start": start, "end": end})
        net = next(r for r in page if r["Account"] == "Net income")
        assert net[heading] == body["net_income"]
        income = {r["Account"]: r[heading] for r in page}
        for row in body["income"]["rows"]:
            assert income[row["account"]] == row["amount"]
    net = next(r for r in page if r["Account"] == "Net income")
    change = D(net["2026-02-01 to 2026-02-28"]) - D(net["Prior: 2025-11-01 to 2025-12-31"])
    assert D(net["Change"]) == change

    query = {"as_of": "2026-02-28", "start": "2026-01-01", "columns": "month", "compare": "1"}
    page = rows(client.get(page_url("balance-sheet"), query))
    assert list(page[0])[3:] == ["At 2025-12-31", "At 2026-01-31", "At 2026-02-28", "Change"]
    for as_of in ("2025-12-31", "2026-01-31", "2026-02-28"):
        body = api(api_client_for, "balance-sheet", {"as_of": as_of})
        total = next(r for r in page if r["Account"] == "Total assets")
        assert total[f"At {as_of}"] == body["assets"]["total"]
    # Each figure links to the account detail over its own column's dates.
    links_of = links(client.get(page_url("balance-sheet"), query))
    found = [link for row in links_of for link in row.values() if link]
    assert any("start=2026-02-01" in link and "end=2026-02-28" in link for link in found)


ODD_VALUES = [
    "",
    " ",
    "0000-00-00",
    "1900-01-01",
    "9998-12-31",
    "2026-1-1",
    "x" * 300,
    "\x00",
    "1210'; --",
    "month",
    "1",
]
PARAMETERS = (
    "as_of",
    "start",
    "end",
    "period",
    "columns",
    "compare",
    "account",
    "commodity",
    "loan",
    "base",
    "used_by",
    "format",
)


@pytest.mark.parametrize("name", list(REPORTS))
def test_no_value_of_any_parameter_is_a_server_error(books, as_role, name):
    client = as_role("auditor")
    for parameter in PARAMETERS:
        for value in ODD_VALUES:
            response = client.get(page_url(name), {**REPORTS[name], parameter: value})
            assert response.status_code in (200, 400), (parameter, value)
            if response.status_code == 400:
                assert response.context["errors"], (parameter, value)
    wide = {"start": "1900-01-01", "end": "9998-12-31", "as_of": "9998-12-31"}
    for extra in ({}, {"columns": "month"}, {"columns": "quarter"}, {"compare": "1"}):
        response = client.get(page_url(name), {**REPORTS[name], **wide, **extra})
        assert response.status_code in (200, 400), extra


def test_a_long_table_comes_in_pages_and_the_files_hold_every_row(books, as_role, monkeypatch):
    monkeypatch.setattr("holdings.admin.reports.pages.PAGE_ROWS", 2)
    client = as_role("auditor")
    query = {**REPORTS["account-detail"]}
    everything = rows(get(client, "account-detail", page="1"))  # opening, postings, totals
    seen = []
    page = 1
    while True:
        response = client.get(page_url("account-detail"), {**query, "page": str(page)})
        assert response.status_code == 200
        seen += rows(response)
        assert response.context["pages"] == -(-len(response.context["report"].tables[0].rows) // 2)
        if not response.context["next_url"]:
            break
        assert f"page={page + 1}" in response.context["next_url"]
        page += 1
    assert len(seen) == len(response.context["report"].tables[0].rows) > 2
    assert len(everything) == 2
    past = client.get(page_url("account-detail"), {**query, "page": str(page + 1)})
    assert past.status_code == 400 and "page" in dict(past.context["errors"])
    csv_rows = client.get(page_url("account-detail"), {**query, "format": "csv"})
    assert csv_rows.content.decode("utf-8-sig").count("\r\n") >= len(seen) + 1
