"""The report pages of the admin (/admin/reports/<name>/): every role reads them, a user
without a role is refused; their figures are the API's for the same parameters; a bad or
missing parameter is an error on the page naming it; CSV and XLSX downloads hold the same
figures as numbers and dates, with totals that tie to the rows; and a trial balance line
drills down to the account detail, to an entry, to the document behind it."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from holdings.models import Payout, ProductionRecord, Sale
from holdings.services import loans
from ledger import services as ledger_services
from ledger.models import ManualJournal
from tests.conftest import UserFactory
from tests.holdings.conftest import ADDRESS, f2pool_file, run_import, txid
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
    "account-detail": {**JANUARY, "account": "1210"},
    "production": {**JANUARY, "commodity": "BTC"},
    "realized-gains": {**JANUARY, "commodity": "BTC"},
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
    batch = run_import(
        "f2pool", f2pool_file(earnings, [(PAYOUT_ID, payout_at, "0.03", ADDRESS)])
    )
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
    places = {r["Commodity"]: {len(x["Quantity"].split(".")[1]) for x in lines if x["Commodity"] == r["Commodity"]} for r in lines}
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
        (r["Line"], r["Units (BTC)"], r["Cost (USD)"], r["Carrying value (USD)"], r["Proceeds (USD)"])
        for r in page
    ] == [
        (l["line"], l["units"], l["cost"], l["carrying_value"], l["proceeds"] or "")
        for l in body["lines"]
    ]
    memo = rows(get(client, "rollforward"), table=1)
    assert [(r["Line"], r["Units (BTC)"]) for r in memo] == [
        (l["line"], l["units"]) for l in body["memo"]
    ]

    body = api(api_client_for, "production", REPORTS["production"])
    page = rows(get(client, "production"))
    assert [(r["Month"], r["Mined"], r["Held at month end"], r["Sold"]) for r in page[:-1]] == [
        (m["month"], m["mined"], m["held_at_month_end"], m["sold"]) for m in body["results"]
    ]
    assert page[0]["Mined"] == "0.05000000"

    body = api(api_client_for, "realized-gains", REPORTS["realized-gains"])
    page = rows(get(client, "realized-gains"))
    assert [
        (int(r["Disposal"]), r["Units (BTC)"], r["Cost (USD)"], r["Realized gain (USD)"])
        for r in page[:-1]
    ] == [(d["id"], d["units"], d["cost"], d["realized_gain"]) for d in body["results"]]
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
    assert [
        (r["Day"], r["Principal"], r["Interest"], r["Collateral units"], r["LTV"], r["Tier"])
        for r in days
    ] == [
        (d["day"], d["principal"], d["interest"], d["collateral_units"], d["ltv"] or "", d["tier"] or "")
        for d in body["results"]
    ]
    assert total["Interest accrued"] == body["totals"]["interest_accrued"]

    query = {**REPORTS["price-evidence"], "page_size": 1000}
    body = api(api_client_for, "price-evidence", query)
    page = rows(get(client, "price-evidence"))
    assert [(r["Price"], r["Used by"], r["Quantity"], r["Value (USD)"]) for r in page] == [
        (u["price"]["price"], u["used_by"], u["quantity"] or "", u["value"] or "")
        for u in body["results"]
    ]
    assert page, "the pool earnings used prices"
