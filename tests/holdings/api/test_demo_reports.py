"""The API over the demonstration data (fixtures/demo: July 2025 to February 2026, 44 pool
accounts, the site costs and the fleet, the bitcoin-collateralized loan, the sales and the
repayment).

The demo is loaded once for the module, inside a transaction that is rolled back at the
end; each test runs in a savepoint within it, so nothing leaks into other modules.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from beancount.core.data import Booking, Open, Transaction
from django.db import connection, transaction
from pytest_httpserver import HTTPServer

from holdings.importers.esplora import EsploraClient
from holdings.models import (
    Disposal,
    Loan,
    Lot,
    LotMovement,
    Payout,
    ProductionRecord,
    ReconciliationRun,
    Sale,
    Statement,
    Wallet,
)
from holdings.selectors.loans import loan_status
from holdings.selectors.lots import lot_differences
from holdings.services.demo import DEMO_DIR, _import_statements, demo_load
from holdings.services.reconciliation import reconcile
from ledger.models import JournalEntry
from ledger.sealing import journal_seal
from ledger.selectors import account_balance, trial_balance
from ledger.services import chart_load
from tests.conftest import CHART, ensure_reference_data
from tests.holdings.beancount_checks import assert_ties_to_the_trial_balance, load_checked
from tests.holdings.demo_chain import serve_demo_chain
from tests.ledger.api.test_reports import assert_same_rows, figures_row, read_csv

D = Decimal
API = "/api/v1"
Q4 = {"start": "2025-10-01", "end": "2025-12-31"}


def analyzed_each_month(rows: list[dict[str, str]]) -> Iterator[dict[str, str]]:
    """The manifest's rows, with the planner's statistics gathered once a month's files are
    imported, before its month-end remeasurement. The whole demonstration is loaded in one
    transaction, which autovacuum never sees: without this, statistics from the modules run
    before (no KAS lot yet) can make the planner choose a nested loop over every lot
    movement for each KAS lot, and a remeasurement then takes minutes."""

    def analyze() -> None:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    month = None
    for row in rows:
        if month is not None and row["month"] != month:
            analyze()
        month = row["month"]
        yield row
    analyze()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        ensure_reference_data()
        with CHART.open(newline="") as handle:
            chart_load(rows=list(csv.DictReader(handle)))
        loaded = demo_load(progress=analyzed_each_month)
        with connection.cursor() as cursor:
            # Statistics for the planner (ANALYZE sees this transaction's own rows), then the
            # deferred checks a commit would run, once, rather than in some test's teardown.
            cursor.execute("ANALYZE")
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        yield loaded
        transaction.set_rollback(True)


def pages(client: Any, url: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        response = client.get(url, {**query, "page": page, "page_size": 1000})
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        if not body["next"]:
            return rows
        page += 1


@pytest.mark.django_db
def test_the_production_report_of_the_demo_quarter(demo, api_client_for):
    response = api_client_for("auditor").get(f"{API}/reports/production/", Q4)
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [row["month"] for row in rows] == ["2025-10", "2025-11", "2025-12"]
    assert [row["mined"] for row in rows] == ["602.60000000", "546.70000000", "569.00000000"]
    assert [row["held_at_month_end"] for row in rows] == [
        "6412.60000000",
        "6959.30000000",
        "7528.30000000",
    ]
    for row in rows:
        held = Decimal(row["held_at_month_end"])
        restricted = Decimal(row["restricted_at_month_end"])
        assert Decimal(row["unrestricted_at_month_end"]) == held - restricted
        assert row["average_operating_hashrate_ehs"] is not None
    # Nothing is sold in the fourth quarter: what is held grows by what is mined.
    assert [row["held_change"] for row in rows[1:]] == ["546.70000000", "569.00000000"]


@pytest.mark.django_db
def test_the_demo_imports_and_lots_tie_to_the_report(demo, api_client_for):
    client = api_client_for("auditor")
    imports = client.get(f"{API}/imports/", {"status": "succeeded", "page_size": 1}).json()
    assert imports["count"] == demo["files"]
    assert client.get(f"{API}/imports/", {"status": "failed"}).json()["count"] == 0
    accounts = pages(client, f"{API}/pool-accounts/", {})
    # 44 bitcoin sub-accounts, and the Kaspa site's from January 2026.
    assert sorted({a["commodity"] for a in accounts}) == ["BTC", "KAS"]
    assert sum(a["commodity"] == "BTC" for a in accounts) == 44
    assert [a["code"] for a in accounts if a["commodity"] == "KAS"] == ["F2P-US-TX-06K"]

    lots = pages(client, f"{API}/lots/", {"commodity": "BTC", "as_of": "2025-12-31"})
    assert sum(Decimal(row["quantity"]) for row in lots) == Decimal("7528.3")
    remeasured = client.get(f"{API}/remeasurements/", {"commodity": "BTC"}).json()
    assert [row["as_of"] for row in remeasured["results"]] == [
        "2026-02-28",
        "2026-01-31",
        "2025-12-31",
        "2025-11-30",
        "2025-10-31",
        "2025-09-30",
        "2025-08-31",
        "2025-07-31",
    ]
    assert remeasured["results"][2]["units"] == "7528.30000000"


@pytest.mark.django_db
def test_loading_the_demo_again_writes_nothing(demo):
    entries, lots = JournalEntry.objects.count(), Lot.objects.count()
    again = demo_load()
    assert (again["files"], again["events"], again["statements"]) == (0, 0, 0)
    assert (JournalEntry.objects.count(), Lot.objects.count()) == (entries, lots)


# --- the third quarter of 2025: the published cost to mine ---------------------------------

Q3 = {"start": "2025-07-01", "end": "2025-09-30"}


@pytest.mark.django_db
def test_the_demo_third_quarter_costs_what_cango_published(demo, api_client_for):
    client = api_client_for("auditor")
    production = client.get(f"{API}/reports/production/", Q3).json()["results"]
    assert [row["mined"] for row in production] == ["650.50000000", "663.70000000", "616.60000000"]
    assert [row["held_at_month_end"] for row in production] == [
        "4529.70000000",
        "5193.40000000",
        "5810.00000000",
    ]
    response = client.get(f"{API}/reports/cost-to-mine/", {**Q3, "group_by": "quarter"})
    assert response.status_code == 200, response.content
    (quarter,) = response.json()["results"]
    assert quarter["label"] == "2025-Q3" and quarter["btc_mined"] == "1930.80000000"
    assert (quarter["cash_cost_per_btc"], quarter["all_in_cost_per_btc"]) == (
        "81072.00",
        "99383.00",
    )
    assert (quarter["cash_cost"], quarter["depreciation"]) == ("156533817.60", "35354878.80")
    # Month by month, the same costs; the invoices behind them are the sites' own.
    months = client.get(f"{API}/reports/cost-to-mine/", {**Q3, "group_by": "month"}).json()
    assert sum(D(m["cash_cost"]) for m in months["results"]) == D("156533817.60")
    assert [m["btc_mined"] for m in months["results"]] == [
        "650.50000000",
        "663.70000000",
        "616.60000000",
    ]
    assert account_balance(account="1600", as_of=date(2025, 9, 30)).value == D("424258545.60")


@pytest.mark.django_db
def test_the_demo_hpc_pilot_earns_and_takes_its_share_of_the_power(demo, api_client_for):
    from holdings.selectors.costs import gross_profit

    january = gross_profit(start=date(2026, 1, 1), end=date(2026, 1, 31))
    hpc = next(segment for segment in january.segments if segment.name.lower().startswith("hpc"))
    # 168,000.00 a month, and 0.015 a kWh on 2.4 MW x 744 hours x 93% = 1,660,608 kWh.
    assert hpc.revenue == D("168000.00") + D("1660608") * D("0.015") == D("192909.12")
    assert hpc.cost_of_revenue > 0
    response = api_client_for("auditor").get(
        f"{API}/reports/cost-to-mine/",
        {"start": "2026-01-01", "end": "2026-01-31", "site": "US-TX-01", "group_by": "month"},
    )
    (site,) = response.json()["results"]
    assert D(site["power_to_hpc"]) == hpc.cost_of_revenue
    before = api_client_for("auditor").get(
        f"{API}/reports/cost-to-mine/",
        {"start": "2025-12-01", "end": "2025-12-31", "site": "US-TX-01", "group_by": "month"},
    )
    assert before.json()["results"][0]["power_to_hpc"] == "0.00"


# --- January and February 2026: sales, the loan and its repayment --------------------------

JAN_FEB = {"start": "2026-01-01", "end": "2026-02-28"}


@pytest.mark.django_db
def test_the_production_report_shows_the_sales_of_2026(demo, api_client_for):
    rows = api_client_for("auditor").get(f"{API}/reports/production/", JAN_FEB).json()["results"]
    assert [row["mined"] for row in rows] == ["496.00000000", "458.60000000"]
    assert [row["sold"] for row in rows] == ["550.03000000", "4451.00000000"]
    # Five January trades; in February 305,000,000 USDT less a 152,500 fee for 4,451 BTC.
    assert [row["net_proceeds_usd"] for row in rows] == ["49717558.78", "304847500.00"]
    assert rows[1]["average_price_usd"] == "68523.93"
    # Held: 7,528.3 + 496 - 550.03; then + 458.6 - 4,451 - a 0.000054 network fee.
    assert [row["held_at_month_end"] for row in rows] == ["7474.27000000", "3481.86994600"]
    assert [row["restricted_at_month_end"] for row in rows] == ["6000.00000000", "2549.00000000"]


@pytest.mark.django_db
def test_the_loan_its_collateral_and_the_repayment(demo, api_client_for):
    client = api_client_for("auditor")
    [loan] = client.get(f"{API}/loans/", {"as_of": "2026-02-28"}).json()["results"]
    assert (loan["code"], loan["principal_commodity"]) == ("LOAN-2025-BTC", "USDT")
    events = pages(client, f"{API}/loans/LOAN-2025-BTC/events/", {})
    [repayment] = [e for e in events if e["kind"] == "repayment"]
    interest, principal = (D(repayment["details"][k]) for k in ("interest", "principal"))
    # Interest first: 128 days (7 October to 11 February; 12 February accrues on what is
    # left) of 320,000,000 USDT at 8% ACT/365, 70,136.986301 a day at USDT's six places.
    assert interest == D("70136.986301") * 128 == D("8977534.246528")
    assert interest + principal == D("304847500.00")
    assert (repayment["effective_date"], repayment["amount"]) == ("2026-02-12", "304847500.000000")

    status = client.get(f"{API}/loans/LOAN-2025-BTC/", {"as_of": "2026-02-28"}).json()["status"]
    assert D(status["principal"]) == D("320000000.00") - principal
    # What accrued since, from 12 February, on the principal left.
    since = [e for e in events if e["kind"] == "accrual" and e["effective_date"] >= "2026-02-12"]
    assert len(since) == 17
    assert D(status["interest"]) == sum(D(e["amount"]) for e in since)
    assert (status["collateral_units"], status["tier"]) == ("2549.00000000", "ok")
    pledged = sum(D(e["units"]) for e in events if e["kind"] == "pledge")
    released = sum(D(e["units"]) for e in events if e["kind"] == "release")
    assert (pledged, released) == (D("7000"), D("4451"))
    # Each tier crossed once, as the price fell and the collateral was topped up or sold.
    tiers = [(e["effective_date"], e["details"]["tier"]) for e in events if e["kind"] == "tier"]
    assert tiers == [
        ("2025-11-14", "warning"),
        ("2025-11-17", "ok"),  # topped up
        ("2026-01-30", "warning"),
        ("2026-02-04", "margin_call"),
        ("2026-02-05", "warning"),  # topped up
        ("2026-02-12", "ok"),  # released, sold and repaid together: no tier in between
    ]


@pytest.mark.django_db
def test_the_admin_dashboard_of_the_demo_renders_fast(demo, client, auditor_user):
    import re
    import time

    auditor_user.is_staff = True
    auditor_user.save(update_fields=["is_staff"])
    client.force_login(auditor_user)
    # Once to load the templates and the admin's URLs, as a running server has; then timed.
    assert client.get("/admin/", {"as_of": "2026-01-31"}).status_code == 200
    started = time.perf_counter()
    response = client.get("/admin/", {"as_of": "2026-02-28"})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert elapsed < 1.0, f"the dashboard took {elapsed:.2f} s"
    html = response.content.decode()
    for figure in (
        "3,481.869946 <span",  # BTC held, 2,549 of it pledged
        "restricted 2,549.00 · unrestricted 932.869946",
        "49,717,558.78 <span",  # USDT
        # cash: 180,000,000.00 at the opening, less 418,740,322.95 of site invoices paid and
        # 5,184,000.00 for the HPC pilot's servers, plus the USDT sold on 8 October
        "76,043,677.05 <span",
        "24,130,034.246528 USDT",  # principal left after the repayment
        "LTV 14.14%",
        '<td class="num">7,528.30</td>',  # held at 2025-12-31
        "<title>Jan 2026: 550.03 BTC sold</title>",
        "<title>Oct 2025: 602.60 BTC mined</title>",
    ):
        assert figure in html, figure
    charts = re.findall(r'<svg[^>]*role="img".*?</svg>', html, flags=re.S)
    assert len(charts) == 7  # with the cost to mine against the BTC price, once costs are posted
    assert "Cost to mine one bitcoin against its price, each month" in html
    # the dashboard's six months, September to February, mined and sold
    assert charts[1].count('class="chart-bar"') == 12
    # The six tier crossings, each a dot on the loan's LTV line.
    assert html.count('class="chart-marker"') == 6


@pytest.mark.django_db
def test_the_realized_gains_report_ties_to_the_lots(demo, api_client_for):
    client = api_client_for("auditor")
    # The disposals come a page at a time (the totals are the whole period's): every page.
    report = client.get(f"{API}/reports/realized-gains/", JAN_FEB).json()
    report["results"] = pages(client, f"{API}/reports/realized-gains/", JAN_FEB)
    assert len(report["results"]) == report["count"] == report["totals"]["disposals"] > 1000
    sales = [row for row in report["results"] if row["kind"] == "sale"]
    fees = [row for row in report["results"] if row["kind"] == "fee"]
    assert sum(D(row["units"]) for row in sales) == D("5001.03")
    assert [row["units"] for row in fees] == ["0.00005400"]
    totals = report["totals"]
    assert D(totals["units"]) == D("5001.030054")
    for name in ("cost", "carrying_value", "proceeds", "realized_gain"):
        assert D(totals[name]) == sum(D(row[name]) for row in report["results"])
    assert D(totals["realized_gain"]) == D(totals["proceeds"]) - D(totals["cost"])
    # Every disposal is a movement out of its lot, with the same units and cost.
    disposals = {row["id"]: row for row in report["results"]}
    moved = Disposal.objects.filter(pk__in=disposals).select_related("entry")
    for disposal in moved:
        movement = LotMovement.objects.get(
            lot_id=disposal.lot_id, entry_id=disposal.entry_id, kind="disposal"
        )
        assert (-movement.quantity, -movement.cost) == (disposal.units, disposal.cost)
    # The sales' entries carry the same figures as the report.
    february = Sale.objects.get(reference="OTC-2026-02-001")
    rows = [row for row in sales if row["sale"] == "OTC-2026-02-001"]
    assert sum(D(row["cost"]) for row in rows) == february.cost
    assert sum(D(row["proceeds"]) for row in rows) == february.proceeds_value == D("305000000.00")
    assert lot_differences(as_of=date(2026, 2, 28)) == []
    assert trial_balance(as_of=date(2026, 2, 28)).total_value == 0


@pytest.mark.django_db
def test_the_stablecoin_proceeds_are_carried_at_cost(demo):
    usdt = account_balance(account="1110-USDT-CUSTODY", as_of=date(2026, 2, 28))
    # The January proceeds remain; February's paid the lender.
    assert (usdt.quantity, usdt.value) == (D("49717558.78"), D("49717558.78"))
    # The drawn USDT was sold for dollars on 8 October, at par less the desk's fee, into the
    # cash left after paying the third quarter's site invoices.
    sold = account_balance(account="1000", as_of=date(2025, 10, 8)).value
    assert sold == D("180000000.00") - D("156533817.60") + D("319968000.00")


@pytest.mark.django_db
def test_the_beancount_export_of_the_demo_is_checked_and_ties(demo, api_client_for):
    as_of = date(2026, 2, 28)
    response = api_client_for("auditor").get(f"{API}/exports/beancount/", {"as_of": "2026-02-28"})
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode("utf-8")
    entries = load_checked(text)  # what bean-check runs: not one error
    assert_ties_to_the_trial_balance(entries, as_of)
    transactions = [e for e in entries if isinstance(e, Transaction)]
    assert len(transactions) == JournalEntry.objects.filter(effective_date__lte=as_of).count()
    # Every account that holds lots is booked STRICT: beancount itself matched each payout,
    # pledge, release, sale and fee to the lot the ledger relieved. Only the loan's USDT
    # principal and interest, which hold no lots, are positions at their own cost.
    booking = {e.account.split(":")[-1]: e.booking for e in entries if isinstance(e, Open)}
    loose = {code for code, method in booking.items() if method == Booking.NONE}
    assert loose == {"2010-LOAN-2025-BTC", "2110-LOAN-2025-BTC"}


# --- the reports auditors pull, on the whole demonstration -------------------------------

DEMO = {"start": "2025-10-01", "end": "2026-02-28"}
MONTH_ENDS = ["2025-10-31", "2025-11-30", "2025-12-31", "2026-01-31", "2026-02-28"]


def trial_balance_holding(as_of: date, commodity: str) -> tuple[Decimal, Decimal]:
    """Units of every asset account in the commodity and their value with the fair value
    adjustment accounts (1290, 1490), straight from the trial balance."""
    rows = trial_balance(as_of=as_of).rows
    held = [r for r in rows if r.type == "asset" and r.commodity == commodity]
    adjustments = [
        r for r in rows if commodity == "BTC" and r.code.split("-")[0] in ("1290", "1490")
    ]
    return (
        sum((r.quantity for r in held), D(0)),
        sum((r.value for r in held), D(0)) + sum((r.value for r in adjustments), D(0)),
    )


@pytest.mark.django_db
def test_the_rollforward_of_the_demo_ties_to_the_trial_balance(demo, api_client_for):
    client = api_client_for("auditor")
    body = client.get(f"{API}/reports/rollforward/", {**DEMO, "commodity": "BTC"}).json()
    assert body["ties_to_trial_balance"] is True
    assert body["adjustment_accounts"] == ["1290", "1490"]
    lines = {row["line"]: row for row in body["lines"] + body["memo"]}

    def units(key: str) -> Decimal:
        return D(lines[key]["units"])

    def carrying(key: str) -> Decimal:
        return D(lines[key]["carrying_value"])

    # Both ends are the trial balance's own figures.
    assert (units("opening"), carrying("opening")) == trial_balance_holding(
        date(2025, 9, 30), "BTC"
    )
    assert (units("closing"), carrying("closing")) == trial_balance_holding(
        date(2026, 2, 28), "BTC"
    )
    # 5,810 + 2,672.9 mined - 5,001.03 sold - a 0.000054 network fee = 3,481.869946.
    assert units("opening") == D("5810")
    assert units("additions.mining") == D("2672.9")  # 602.6 + 546.7 + 569 + 496 + 458.6
    assert units("dispositions.sales") == D("-5001.03")
    assert units("dispositions.network_fees") == D("-0.000054")
    assert units("closing") == D("3481.869946")
    assert lines["unexplained"] == {
        **lines["unexplained"],
        "units": "0.00000000",
        "cost": "0.00",
        "fair_value_adjustment": "0.00",
        "carrying_value": "0.00",
    }
    movements = [row for row in body["lines"] if row["section"] not in ("opening", "closing")]
    for name in ("units", "cost", "fair_value_adjustment", "carrying_value"):
        opened = D(lines["opening"][name]) + sum(D(row[name]) for row in movements)
        assert opened == D(lines["closing"][name]), name
    # Fair value changes are the period's five month-end remeasurements.
    remeasured = client.get(f"{API}/remeasurements/", {"commodity": "BTC"}).json()["results"]
    assert D(lines["fair_value_changes"]["fair_value_adjustment"]) == sum(
        D(row["adjustment"]) for row in remeasured if row["as_of"] >= DEMO["start"]
    )
    # Dispositions: the realized gains report's sales and fee, gains against cost.
    gains = pages(client, f"{API}/reports/realized-gains/", DEMO)
    sold = [row for row in gains if row["kind"] == "sale"]
    assert D(lines["dispositions.sales"]["proceeds"]) == sum(D(r["proceeds"]) for r in sold)
    assert D(lines["dispositions.sales"]["realized_gain"]) == sum(
        D(r["realized_gain"]) for r in sold
    )
    assert D(lines["dispositions.sales"]["carrying_value"]) == -sum(
        D(r["carrying_value"]) for r in sold
    )
    # Restricted units apart: what the production report shows pledged at February's end.
    assert (units("restricted.opening"), units("restricted.closing")) == (D(0), D("2549"))
    assert units("collateral_receivable.closing") == 0
    assert lines["closing"]["carrying_value"] == "233912022.97"

    # Month by month, each closing is the next opening and the units held at the month end.
    production = client.get(f"{API}/reports/production/", DEMO).json()["results"]
    previous = None
    for month_end, month in zip(MONTH_ENDS, production, strict=True):
        report = client.get(
            f"{API}/reports/rollforward/", {"start": f"{month_end[:7]}-01", "end": month_end}
        ).json()
        by_line = {row["line"]: row for row in report["lines"]}
        assert report["ties_to_trial_balance"] is True
        assert by_line["unexplained"]["units"] == "0.00000000"
        assert by_line["unexplained"]["carrying_value"] == "0.00"
        assert by_line["closing"]["units"] == month["held_at_month_end"]
        assert by_line["additions.mining"]["units"] == month["mined"]
        figures = ("units", "cost", "fair_value_adjustment", "carrying_value")
        if previous is not None:
            assert [by_line["opening"][name] for name in figures] == previous
        previous = [by_line["closing"][name] for name in figures]

    # The stablecoin, carried at cost: drawn, received for BTC, sold for dollars, repaid.
    usdt = client.get(f"{API}/reports/rollforward/", {**DEMO, "commodity": "USDT"}).json()
    assert usdt["ties_to_trial_balance"] is True
    stable = {row["line"]: row for row in usdt["lines"]}
    assert stable["additions.loan_draws"]["units"] == "320000000.000000"
    assert stable["dispositions.loan_repayments"]["units"] == "-304847500.000000"
    assert stable["closing"]["carrying_value"] == "49717558.78"
    assert stable["unexplained"]["carrying_value"] == "0.00"
    assert (D(stable["closing"]["units"]), D(stable["closing"]["cost"])) == (
        trial_balance_holding(date(2026, 2, 28), "USDT")
    )


@pytest.mark.django_db
def test_the_statements_of_the_demo_balance_and_tie(demo, api_client_for):
    client = api_client_for("auditor")
    sheets = {
        as_of: client.get(f"{API}/reports/balance-sheet/", {"as_of": as_of}).json()
        for as_of in ["2025-09-30", *MONTH_ENDS]
    }
    for sheet in sheets.values():
        assert sheet["balances"] is True
        assert sheet["assets"]["total"] == sheet["total_liabilities_and_equity"]
    # Each month's net income is the change of the undistributed income.
    for before, month_end in zip(["2025-09-30", *MONTH_ENDS], MONTH_ENDS, strict=False):
        period = {"start": f"{month_end[:7]}-01", "end": month_end}
        statement = client.get(f"{API}/reports/income-statement/", period).json()
        change = D(sheets[month_end]["undistributed_income"]) - D(
            sheets[before]["undistributed_income"]
        )
        assert D(statement["net_income"]) == change, month_end
    # The BTC on the balance sheet is the roll-forward's closing carrying value.
    sheet = sheets["2026-02-28"]
    btc = [
        r
        for r in sheet["assets"]["rows"]
        if r["commodity"] == "BTC" or r["account"] in ("1290", "1490")
    ]
    rollforward = client.get(f"{API}/reports/rollforward/", DEMO).json()
    closing = next(row for row in rollforward["lines"] if row["line"] == "closing")
    assert sum(D(r["amount"]) for r in btc) == D(closing["carrying_value"])
    # The loan is a liability; its interest has run into expenses.
    liabilities = {r["account"]: r["amount"] for r in sheet["liabilities"]["rows"]}
    assert set(liabilities) == {"2010", "2110"}
    statement = client.get(f"{API}/reports/income-statement/", DEMO).json()
    expenses = {r["account"] for r in statement["expenses"]["rows"]}
    assert {"5100", "5200", "5300"} <= expenses


@pytest.mark.django_db
def test_the_price_evidence_of_the_demo(demo, api_client_for):
    client = api_client_for("auditor")
    body = client.get(f"{API}/reports/price-evidence/", {**DEMO, "page_size": 1000}).json()
    assert body["count"] == 13451 + 120  # the Kaspa site: 59 earnings and lots, 2 month ends
    counts: dict[str, int] = {}
    for used_by in (
        "production_record",
        "lot",
        "remeasurement",
        "sale",
        "loan_draw",
        "loan_accrual",
        "ltv_tier",
    ):
        page = client.get(
            f"{API}/reports/price-evidence/", {**DEMO, "used_by": used_by, "page_size": 1}
        ).json()
        counts[used_by] = page["count"]
    assert counts == {
        "production_record": ProductionRecord.objects.filter(
            day__gte=date(2025, 10, 1), day__lte=date(2026, 2, 28)
        ).count(),
        "lot": counts["production_record"],  # each earning opened one lot at its price
        "remeasurement": 5 + 2,  # BTC's five month ends, KAS's January and February
        "sale": 5 + 1,  # the January trades and February's, all for USDT
        "loan_draw": 1,
        "loan_accrual": 145,  # 7 October to 28 February, every day's interest in USDT
        "ltv_tier": 6,
    }
    assert sum(counts.values()) == body["count"]
    # February's sale: 305,000,000 USDT valued at that day's USDT price.
    [february] = client.get(
        f"{API}/reports/price-evidence/",
        {"start": "2026-02-12", "end": "2026-02-12", "used_by": "sale"},
    ).json()["results"]
    assert (february["reference"], february["link"]) == ("OTC-2026-02-001", "policy")
    assert february["price"]["base"] == "USDT"
    assert february["value"] == "305000000.00"


@pytest.mark.django_db
def test_the_loan_schedule_of_the_demo(demo, api_client_for):
    client = api_client_for("auditor")
    body = client.get(
        f"{API}/reports/loan-schedule/", {"loan": "LOAN-2025-BTC", "end": "2026-02-28"}
    ).json()
    days = body["results"]
    assert (body["start"], days[0]["day"], days[-1]["day"]) == (
        "2025-10-07",
        "2025-10-07",
        "2026-02-28",
    )
    totals = body["totals"]
    assert totals["principal_drawn"] == "320000000.000000"
    assert totals["interest_paid"] == "8977534.246528"
    assert D(totals["interest_paid"]) + D(totals["principal_paid"]) == D("304847500")
    assert (totals["collateral_pledged"], totals["collateral_released"]) == (
        "7000.00000000",
        "4451.00000000",
    )
    last = days[-1]
    assert (last["collateral_units"], last["tier"]) == ("2549.00000000", "ok")
    loan = Loan.objects.get(code="LOAN-2025-BTC")
    status = loan_status(loan=loan, as_of=date(2026, 2, 28))
    assert D(last["principal"]) == status.principal
    assert D(last["interest"]) == status.interest
    assert D(last["ltv"]) == status.ltv
    # Each tier crossing shows on its day, at the tier the loan's events recorded.
    events = client.get(f"{API}/loans/LOAN-2025-BTC/events/", {"page_size": 1000}).json()
    crossings = {
        e["effective_date"]: e["details"]["tier"] for e in events["results"] if e["kind"] == "tier"
    }
    by_day = {row["day"]: row for row in days}
    for day, tier in crossings.items():
        assert by_day[day]["tier"] == tier, day
        assert "tier" in by_day[day]["events"]
    settled = by_day["2026-02-12"]
    # Released, sold and repaid together; the LTV checked once at the end; then the night's
    # interest on what is left.
    assert settled["events"] == ["release", "repayment", "tier", "accrual"]
    assert (settled["interest_paid"], settled["tier"]) == ("8977534.246528", "ok")
    assert settled["collateral_released"] == "4451.00000000"


@pytest.mark.django_db
def test_every_report_of_the_demo_in_csv_is_its_json(demo, api_client_for):
    """Same rows, same decimal strings; totals as labelled rows; CSV unpaginated."""
    client = api_client_for("auditor")
    february = {"start": "2026-02-01", "end": "2026-02-28"}

    def both(
        url: str, query: dict[str, Any]
    ) -> tuple[dict[str, Any], list[str], list[dict[str, str]]]:
        body = client.get(API + url, query).json()
        header, rows = read_csv(client.get(API + url, {**query, "format": "csv"}))
        return body, header, rows

    body, _, rows = both("/reports/trial-balance/", {"as_of": "2026-02-28"})
    assert_same_rows(rows[:-1], body["rows"])
    assert figures_row(rows[-1], "account", "Total")["value"] == "0.00"

    body, _, rows = both("/reports/rollforward/", DEMO)
    assert_same_rows(rows, body["lines"] + body["memo"])

    body, _, rows = both("/reports/rollforward-by-commodity/", DEMO)
    assert_same_rows(rows, body["lines"] + body["total"])

    body, _, rows = both("/reports/realized-gains-by-commodity/", DEMO)
    assert_same_rows(rows[:-1], body["results"])
    assert figures_row(rows[-1], "commodity", "Total in USD") == {
        k: (str(v) if k == "disposals" else v)
        for k, v in body["total"].items()
        if v is not None and k != "commodity"
    }

    body, _, rows = both("/reports/production/", DEMO)
    assert_same_rows(rows, body["results"])

    body, _, rows = both("/reports/realized-gains/", DEMO)
    assert_same_rows(rows[:-1], pages(client, f"{API}/reports/realized-gains/", DEMO))
    assert figures_row(rows[-1], "kind", "Total") == {
        k: v for k, v in body["totals"].items() if k != "disposals"
    }

    body, _, rows = both("/reports/balance-sheet/", {"as_of": "2026-02-28"})
    accounts = [r for r in rows if r["account"]]
    assert_same_rows(
        accounts, body["assets"]["rows"] + body["liabilities"]["rows"] + body["equity"]["rows"]
    )
    assert [r["name"] for r in rows if not r["account"]][-1] == "Total liabilities and equity"

    body, _, rows = both("/reports/income-statement/", DEMO)
    assert_same_rows(
        [r for r in rows if r["account"]], body["income"]["rows"] + body["expenses"]["rows"]
    )
    assert figures_row(rows[-1], "name", "Net income") == {"amount": body["net_income"]}

    body, _, rows = both("/reports/loan-schedule/", {"loan": "LOAN-2025-BTC", "end": "2026-02-28"})
    assert_same_rows(rows[1:-1], body["results"])
    assert figures_row(rows[-1], "day", "Total") == body["totals"]

    # Paginated in JSON, whole in CSV.
    detail = {"account": "1300", **february}
    postings = pages(client, f"{API}/reports/account-detail/", detail)
    _, rows = read_csv(client.get(f"{API}/reports/account-detail/", {**detail, "format": "csv"}))
    assert len(postings) > 1000
    assert_same_rows(rows[1:-2], postings)
    assert rows[-1]["running_quantity"] == postings[-1]["running_quantity"]

    evidence = pages(client, f"{API}/reports/price-evidence/", february)
    _, rows = read_csv(client.get(f"{API}/reports/price-evidence/", {**february, "format": "csv"}))
    assert_same_rows(rows, evidence)

    lots = pages(client, f"{API}/lots/", {"as_of": "2026-02-28", "commodity": "BTC"})
    _, rows = read_csv(
        client.get(f"{API}/lots/", {"as_of": "2026-02-28", "commodity": "BTC", "format": "csv"})
    )
    assert_same_rows(rows, lots)
    assert sum(D(row["quantity"]) for row in rows) == D("3481.869946")


# --- every night of the demonstration reconciles ---------------------------------------

NIGHTLY = ["pool", "payouts", "wallets", "loans"]
FIRST_NIGHT, LAST_NIGHT = date(2025, 10, 1), date(2026, 2, 28)
LOAN_START = date(2025, 10, 7)


@pytest.fixture(scope="module")
def demo_chain() -> Iterator[HTTPServer]:
    """A local Esplora serving fixtures/demo/chain for the whole module."""
    server = HTTPServer(host="127.0.0.1", port=0)
    serve_demo_chain(server)
    requests_log = logging.getLogger("werkzeug")  # a line per request: tens of thousands
    level = requests_log.level
    requests_log.setLevel(logging.WARNING)
    server.start()
    yield server
    server.clear()
    server.stop()
    requests_log.setLevel(level)


def chain_client(server: HTTPServer, client_class: type[EsploraClient] = EsploraClient) -> Any:
    client = client_class(server.url_for("/").rstrip("/"))
    client.session.trust_env = False  # a local server: no proxy settings to read per request
    return client


class AnswersKept(EsploraClient):
    """The demonstration chain does not change while the nights are reconciled: each path is
    asked once and its answer read again (and checked again) for the later nights. Without
    it every night walks an address's history back from the newest page, about 190 requests
    a night for the early ones."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: dict[tuple[str, bool], Any] = {}

    def _fetch(self, path: str, *, missing_ok: bool) -> Any:
        key = (path, missing_ok)
        if key not in self.answers:
            self.answers[key] = super()._fetch(path, missing_ok=missing_ok)
        return self.answers[key]


def nights(first: date = FIRST_NIGHT, last: date = LAST_NIGHT) -> Iterator[date]:
    while first <= last:
        yield first
        first += timedelta(days=1)


def troubles(runs: list[ReconciliationRun], shown: int = 5) -> list[str]:
    """What is not matched in the runs, named: the run, then its first items' messages."""
    lines = []
    for run in runs:
        if run.status == "matched" and not run.breaks and not run.unchecked:
            continue
        lines.append(
            f"{run.as_of} {run.kind}: {run.status} ({run.breaks} breaks, "
            f"{run.unchecked} unchecked, {run.matched} matched)"
        )
        items = run.items.exclude(status="matched").order_by("id")
        lines += [f"    {item.status}: {item.message}" for item in items[:shown]]
    return lines


@pytest.mark.django_db
def test_the_demo_statements_are_kept_once(demo):
    assert demo["statements"] == 13  # eight months of custodian statements, five of the lender's
    assert Statement.objects.filter(kind="custodian").count() == 8
    assert Statement.objects.filter(kind="lender").count() == 5
    assert _import_statements(DEMO_DIR, "2025-10") == 0  # again: nothing new


@pytest.mark.django_db
def test_every_night_of_the_demo_reconciles(demo, demo_chain):
    """Pools, payouts on-chain (and no unexplained inflow), wallets against the custodians'
    statements and the loan against the lender's: matched every night, nothing unchecked.
    The Kaspa site's payouts, inflows and wallet are not checked on chain (no Kaspa explorer
    is configured, nor any custodian statement of it): said so, neither a break nor a gap."""
    chain = chain_client(demo_chain, AnswersKept)
    wallets = Wallet.objects.filter(is_active=True).exclude(commodity="KAS").count()
    problems: list[str] = []
    started = time.monotonic()
    for night in nights():
        runs = reconcile(as_of=night, chain=chain, kinds=NIGHTLY)
        demo_chain.clear_log()
        problems += troubles(runs)
        # Every subject was compared with its source, nothing skipped: each pool account,
        # each payout of the day, each wallet (against the custodians' statement) and, from
        # its start, the loan's three figures (before it, no loan runs and none is asked for).
        expected = {
            "pool": 45,
            "payouts": Payout.objects.filter(
                paid_at__date=night, pool_account__commodity="BTC"
            ).count(),
            "wallets": wallets,
            "loans": 3 if night >= LOAN_START else 0,
        }
        for run in runs:
            if run.matched != expected[run.kind]:
                problems.append(
                    f"{night} {run.kind}: {run.matched} matched, {expected[run.kind]} expected"
                )
            kaspa = [i.commodity for i in run.items.exclude(status="matched")]
            if kaspa != (["KAS"] if run.kind == "wallets" else []) and run.kind != "payouts":
                problems.append(f"{night} {run.kind}: not matched {kaspa}")
        payouts = next(run for run in runs if run.kind == "payouts")
        off_chain = set(payouts.items.filter(status="not_on_chain").values_list("commodity"))
        if off_chain != {("KAS",)}:
            problems.append(f"{night} payouts: not checked on chain {sorted(off_chain)}")
        sources = {
            run.kind: set(run.items.filter(status="matched").values_list("source", flat=True))
            for run in runs
            if run.kind in ("wallets", "loans") and run.matched
        }
        statements = {
            "wallets": {f"statement custodian-{night:%Y-%m}.csv"},
            "loans": {f"lender statement lender-{night:%Y-%m}.csv"},
        }
        for kind, named in sources.items():
            if named != statements[kind]:
                problems.append(f"{night} {kind}: compared with {sorted(named)}")
    elapsed = time.monotonic() - started
    print(f"\n{(LAST_NIGHT - FIRST_NIGHT).days + 1} nights reconciled in {elapsed:.1f} s")
    assert not problems, "not matched:\n" + "\n".join(problems[:40])


@pytest.mark.django_db
def test_the_ledger_reconciles_with_itself_at_each_month_end_of_the_demo(demo):
    # As the five-minute job would have: the whole demo journal and its subledgers.
    sealed = journal_seal(chains=True)
    assert sealed.sealed == JournalEntry.objects.count()
    problems: list[str] = []
    for month_end in ["2025-07-31", "2025-08-31", "2025-09-30", *MONTH_ENDS]:
        [run] = reconcile(as_of=date.fromisoformat(month_end), kinds=["internal"])
        problems += troubles([run])
        # lots, lot rows, the treasury's documents and disposal records, the payouts, the
        # remeasurements, every entry against its document, trial balance, roll-ups, nothing
        # below zero, the production months against their records, the journal and the
        # subledgers against their seals, and the cost subledgers against their accounts
        assert run.matched == 13, month_end
    assert not problems, "not matched:\n" + "\n".join(problems)


@pytest.mark.django_db
def test_the_dashboard_of_the_demo_shows_kas_beside_btc(demo, api_client_for):
    from holdings.selectors import dashboard

    board = dashboard.dashboard(as_of=date(2026, 2, 28))
    assert board.commodities == ["BTC", "KAS"]
    btc, kas = board.positions
    assert btc.held == board.holdings.held == D("3481.869946")  # as before the Kaspa site
    assert (kas.held, kas.price, kas.market_value) == (
        D("24919633.72464748"),
        D("0.04131"),
        D("1029430.07"),
    )
    assert board.total_value == btc.market_value + kas.market_value
    chosen = dashboard.dashboard(as_of=date(2026, 2, 28), commodity="KAS")
    assert [(m.month, m.mined) for m in chosen.production] == [
        (date(2026, 1, 1), D("12990689.84949289")),
        (date(2026, 2, 1), D("11928943.87515459")),
    ]
    before = dashboard.dashboard(as_of=date(2025, 12, 31))
    assert before.commodities == ["BTC"]  # nothing of Kaspa before January
    rows = (
        api_client_for("auditor")
        .get(f"{API}/reports/production/", {**JAN_FEB, "commodity": "KAS"})
        .json()["results"]
    )
    assert [row["mined"] for row in rows] == ["12990689.84949289", "11928943.87515459"]
    assert {row["hashrate_unit"] for row in rows} == {"TH/s"}
    assert {row["deployed_hashrate"] for row in rows} == {"120000.00"}
    # The Kaspa site mines KAS, shown in TH/s; the Bitcoin sites in EH/s.
    sites = api_client_for("auditor").get(f"{API}/sites/", {"page_size": 100}).json()["results"]
    units = {site["code"]: (site["commodity"], site["hashrate_unit"]) for site in sites}
    assert units.pop("US-TX-06") == ("KAS", "TH/s")
    assert set(units.values()) == {("BTC", "EH/s")}
    # The roll-forward by commodity: BTC and KAS (and the USDT of the sales) with their
    # total in USD, each commodity's closing carrying value adding up to the total's.
    both = api_client_for("auditor").get(f"{API}/reports/rollforward-by-commodity/", JAN_FEB).json()
    assert both["commodities"][:2] == ["BTC", "KAS"] and both["ties_to_trial_balance"]
    closing = [line for line in both["lines"] if line["line"] == "closing"]
    [total] = [line for line in both["total"] if line["line"] == "closing"]
    assert D(total["carrying_value"]) == sum(D(line["carrying_value"]) for line in closing)
    assert total["units"] is None
