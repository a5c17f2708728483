"""The admin's dashboard over a small world: figures to the unit, charts drawn as SVG, the
date chosen or refused, every role let in and nobody else; and the lists' filters."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from holdings.admin import charts
from holdings.models import ImportBatch, Loan
from holdings.selectors import dashboard
from holdings.selectors import loans as loans_selectors
from holdings.services import loans, reconciliation, setup
from holdings.services import treasury as treasury_services
from tests.holdings.conftest import ADDRESS, closed_port, f2pool_file, run_import, txid
from tests.holdings.services.test_treasury import OPENING

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = date(2026, 1, 31)
INDEX = "/admin/"


@pytest.fixture
def users(staff_user, approver_user, auditor_user, no_role_user):
    people = {
        "staff": staff_user,
        "approver": approver_user,
        "auditor": auditor_user,
        "no_role": no_role_user,
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


@pytest.fixture
def treasury(world) -> Loan:
    """3 BTC in cold storage from 2025-12-30; 0.5 BTC mined a day from 2025-12-21 to
    2026-01-10 (10.5 BTC, of which 0.4 paid out to the hot wallet); 2 BTC pledged to a
    100,000.00 USD loan drawn on 2026-01-02 at 10% (ACT/365), interest accrued through
    2026-01-31; 0.5 BTC sold for 55,000 USDT on 2026-01-10; one failed import."""
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    setup.wallet_create(code="USDT-1", name="USDT wallet", commodity="USDT", parent_account="1110")
    earnings = [(date(2025, 12, day), "0.5") for day in range(21, 32)]
    earnings += [(date(2026, 1, day), "0.5") for day in range(1, 11)]
    payouts = [(9001, datetime(2026, 1, 5, 8, tzinfo=UTC), "0.4", ADDRESS)]
    assert run_import("f2pool", f2pool_file(earnings, payouts)).status == "succeeded"
    failed = run_import("f2pool", b"{not json", file_name="broken.json")
    assert failed.status == "failed"
    loan = loans.loan_create(
        code="L-1",
        lender="Lender Ltd",
        principal_commodity="USD",
        annual_rate=D("0.10"),
        day_count="ACT/365",
        start_date=date(2026, 1, 2),
        maturity_date=date(2026, 12, 31),
        warning_ltv=D("0.60"),
        margin_call_ltv=D("0.70"),
        liquidation_ltv=D("0.80"),
    )
    loans.loan_pledge(loan=loan, units=D("2"), from_wallet="COLD-1", on=date(2026, 1, 2))
    loans.loan_draw(loan=loan, amount=D("100000.00"), on=date(2026, 1, 2))
    loans.loan_accrue_through(loan=loan, through=AS_OF)
    treasury_services.sale_record(
        reference="OTC-1",
        wallet="COLD-1",
        units=D("0.5"),
        sold_at=datetime(2026, 1, 10, 15, tzinfo=UTC),
        proceeds_commodity="USDT",
        gross_proceeds=D("55000"),
        fee=D("0"),
        proceeds_value=D("55000.00"),
        proceeds_wallet="USDT-1",
    )
    return loan


def svgs(html: str) -> list[str]:
    """The charts (the admin's own icons are SVG too, without a role)."""
    return re.findall(r'<svg[^>]*role="img".*?</svg>', html, flags=re.S)


def page(client: Any, query: str = "") -> tuple[int, str]:
    response = client.get(INDEX + query)
    return response.status_code, response.content.decode()


# --- the figures -------------------------------------------------------------------------


def test_the_selector_gives_the_world_at_the_date(treasury):
    board = dashboard.dashboard(as_of=AS_OF)

    assert board.start == date(2025, 12, 21)  # the books start after the window's first day
    held = board.holdings
    # 3 + 10.5 mined - 0.5 sold; 2 pledged. The day-end price of 2026-01-31: 130,000.00.
    assert (held.held, held.restricted, held.unrestricted) == (D("13"), D("2"), D("11"))
    assert (held.price, held.market_value) == (D("130000.00"), D("1690000.00"))
    assert len(held.days) == 42 and held.days[-1] == AS_OF
    assert held.month_ends == [
        (date(2025, 12, 31), D("0"), D("8.5")),
        (date(2026, 1, 31), D("2"), D("11")),
    ]
    assert [(m.month, m.mined, m.sold) for m in board.production] == [
        (date(2025, 12, 1), D("5.5"), D("0")),
        (date(2026, 1, 1), D("5"), D("0.5")),
    ]
    usdt, cash = board.cash
    assert (usdt.balance, usdt.value) == (D("55000"), D("55000.00"))
    assert cash.balance == D("100000.00")
    (position,) = board.loans
    status = loans_selectors.loan_status(loan=treasury, as_of=AS_OF)
    assert position.principal == D("100000.00")
    assert position.interest == status.interest == D("822.00")  # 30 days of 27.40
    assert (position.collateral_units, position.collateral_value) == (D("2"), D("260000.00"))
    # 100,822.00 / 260,000.00
    assert (position.ltv, position.tier) == (status.ltv, "ok") == (D("0.3878"), "ok")
    # The daily LTV, from the roll-ups, ends where loan_status stands.
    assert position.ltv_by_day[-1] == status.ltv
    assert position.ltv_by_day[: position.days.index(date(2026, 1, 2))] == [None] * 12
    assert board.imports.by_status == {"succeeded": 1, "failed": 1}
    assert board.imports.failed == 1


@pytest.mark.parametrize("role", ["staff", "approver", "auditor"])
def test_every_role_lands_on_the_dashboard_with_the_figures(as_role, treasury, role):
    status, html = page(as_role(role), f"?as_of={AS_OF}")

    assert status == 200
    assert "Treasury at the end of 31 January 2026 (UTC)" in html
    # The figures, exact and written for people.
    for figure in (
        "13.00 <span",  # BTC held
        "restricted 2.00 · unrestricted 11.00",
        "130,000.00",  # the day's price
        "BTC held worth 1,690,000.00 USD",
        "55,000.00 <span",  # USDT
        "100,000.00 <span",  # cash
        "100,000.00 USD",  # principal
        "822.00 USD",  # interest
        "2.00 BTC",  # collateral
        "260,000.00 USD",  # collateral value
        "LTV 38.78%",
        "100,822.00</div>",  # owed on the loans, principal and interest
        "highest LTV tier: <strong>OK</strong>",
        "warning 60%, margin call 70%, liquidation 80%",
        "broken.json",
        "1 failed: see them",
    ):
        assert figure in html, figure
    # The charts are drawn: accessible SVG, one per chart.
    drawn = svgs(html)
    assert len(drawn) == 6  # BTC held, production, USDT, cash, the loan's gauge and history
    for svg in drawn:
        assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
    held, production = drawn[0], drawn[1]
    assert held.count('class="chart-area"') == 2  # restricted and unrestricted
    assert held.count('class="chart-hover"') == 42  # a tooltip for each day
    assert "<title>2026-01-31: 13.00 BTC held (restricted 2.00, unrestricted 11.00)</title>" in held
    assert production.count('class="chart-bar"') == 4  # two months, mined and sold
    assert "<title>Jan 2026: 0.50 BTC sold</title>" in production
    assert "<title>Dec 2025: 5.50 BTC mined</title>" in production
    gauge = next(svg for svg in drawn if "LTV against its tiers" in svg)
    assert gauge.count('class="gauge-zone"') == 4
    # The applications stay reachable below the dashboard.
    assert "Import batches" in html and "Journal entries" in html
    links = "Record a sale" in html
    assert links == (role != "auditor")


def test_anonymous_is_sent_to_the_login(client, treasury):
    response = client.get(INDEX)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_user_without_a_role_gets_the_admins_refusal(as_role, treasury):
    status, html = page(as_role("no_role"), f"?as_of={AS_OF}")
    assert status == 200
    assert "have permission to view or edit anything" in html
    assert not svgs(html) and "BTC held" not in html and "Treasury at" not in html


def test_a_role_without_admin_access_is_sent_to_the_login(client, staff_user, treasury):
    client.force_login(staff_user)  # a role but not is_staff
    response = client.get(INDEX)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


@pytest.mark.parametrize("value", ["tomorrow", "2026-02-30", "20260131", "2026-W05"])
def test_a_date_that_is_not_one_is_refused_plainly(as_role, treasury, value):
    status, html = page(as_role("auditor"), f"?as_of={value}")
    assert status == 400
    assert f"“{value}” is not a date. Write the date as YYYY-MM-DD" in html
    assert not svgs(html)
    assert "Import batches" in html  # the rest of the admin is still there


def test_without_a_date_the_latest_day_with_entries_is_shown(as_role, treasury):
    # The world's books stop on 2026-01-31 (the last accrual), before today.
    assert dashboard.default_as_of(today=date(2030, 1, 1)) == AS_OF
    assert dashboard.default_as_of(today=date(2026, 1, 15)) == date(2026, 1, 15)
    status, html = page(as_role("staff"))
    assert status == 200
    assert "Treasury at the end of 31 January 2026 (UTC)" in html
    assert "Nothing is posted after 2026-01-31" in html


def test_a_day_without_a_price_says_so_instead_of_failing(as_role, treasury):
    # The world's prices stop with 2026-02-28: none for 2026-03-05.
    status, html = page(as_role("auditor"), "?as_of=2026-03-05")
    assert status == 200
    missing = "no BTC/USD price at 2026-03-06T00:00:00Z"
    assert "No price" in html and missing in html
    assert f"LTV not available for this date: {missing}" in html
    assert "LTV not available: no price for the day" in html  # in the gauge
    assert "100,000.00 USD" in html  # what is owed is still shown
    assert "highest LTV tier: <strong>Not known</strong>" in html
    (position,) = dashboard.dashboard(as_of=date(2026, 3, 5)).loans
    assert position.ltv is None and position.tier is None
    assert position.ltv_by_day[-1] is None  # no price that day
    assert position.ltv_by_day[position.days.index(date(2026, 2, 28))] is not None


def test_an_empty_treasury_renders(as_role, chart):
    status, html = page(as_role("auditor"), "?as_of=2026-01-31")
    assert status == 200
    assert "No loan had started by this date." in html
    assert "No file has been imported yet." in html
    assert len(svgs(html)) == 4


def test_the_dashboard_reads_in_few_statements(as_role, treasury, django_assert_max_num_queries):
    client = as_role("auditor")
    # However long the journal: a few statements per loan and per panel.
    with django_assert_max_num_queries(50):
        assert client.get(f"{INDEX}?as_of={AS_OF}").status_code == 200


# --- formatting and charts ---------------------------------------------------------------


def test_figures_are_exact_and_readable():
    assert charts.amount(D("3481.86994600")) == "3,481.869946"
    assert charts.amount(D("7528.30000000")) == "7,528.30"
    assert charts.amount(D("320000000.000000"), 2, "USDT") == "320,000,000.00 USDT"
    assert charts.amount(D("0E-8")) == "0.00"
    assert charts.amount(D("-12.5")) == "-12.50"
    assert charts.amount(None) == "-"
    assert charts.percent(D("0.1414")) == "14.14%"
    assert charts.percent(D("0.6500"), None) == "65%"
    assert charts.compact(320_000_000) == "320M" and charts.compact(8000) == "8,000"
    # An amount is written from its own digits, never through a float.
    assert charts.compact(D("81072.00")) == "81,072" and charts.compact(D("0.25")) == "0.25"
    assert charts.compact(D("1500000000.00")) == "1.5B"
    assert charts.nice_ticks(7528.3) == [0, 2000, 4000, 6000, 8000]


def test_a_bar_chart_of_nothing_says_so():
    svg = charts.bar_chart(
        key="k",
        title="t",
        desc="d",
        categories=["Jan 2026", "Feb 2026"],
        series=[charts.BarSeries("Mined", [D(0), D(0)], "#000", ["", ""], ["a", "b"])],
        axis_label="BTC",
        empty="Nothing mined",
    )
    assert svg.count('class="chart-bar"') == 2 and "Nothing mined" in svg


def test_a_chart_escapes_its_text():
    svg = charts.bar_chart(
        key="k",
        title="<b>title</b>",
        desc="a & b",
        categories=["<x>"],
        series=[charts.BarSeries("s", [D("1")], "#000", ["1"], ["<script>"])],
        axis_label="BTC",
    )
    assert "<b>" not in svg and "<script>" not in svg and "&lt;script&gt;" in svg


# --- the lists' filters and searches -----------------------------------------------------


def test_lists_filter_and_search(as_role, treasury):
    client = as_role("staff")
    failed = ImportBatch.objects.get(status="failed")

    def rows(name: str, query: str) -> str:
        response = client.get(reverse(f"admin:holdings_{name}_changelist") + query)
        assert response.status_code == 200, (name, query)
        return response.content.decode()

    html = rows("importbatch", "?status__exact=failed")
    assert f">#{failed.pk}<" in html and "file.json" not in html
    assert "broken.json" in rows("importbatch", "?q=broken")
    assert "broken.json" not in rows("importbatch", "?q=file.json")
    assert txid(9001)[:16] in rows("payout", f"?q={txid(9001)}")
    assert txid(9001)[:16] not in rows("payout", "?q=nothing-like-it")
    assert "0 payouts" in rows("payout", "?q=nothing-like-it")

    def lot_accounts(query: str) -> set[str]:
        response = client.get(reverse("admin:holdings_lot_changelist") + query)
        assert response.status_code == 200, query
        return {lot.account.code for lot in response.context["cl"].result_list}

    assert lot_accounts("?held=pledged") == {treasury.pledged_account.code}
    assert lot_accounts("?held=pool") == {"1300-F2P-A"}
    assert lot_accounts("?held=wallet") == {"1210-COLD-1", "1220-HOT-1", "1110-USDT-1"}
    assert lot_accounts("?wallet=COLD-1&state=open") == {"1210-COLD-1"}
    assert "OTC-1" in rows("sale", "?q=OTC-1&method__exact=fifo")
    assert "Collateral pledged" in rows("loanevent", "?kind=pledge")
    assert "L-1" in rows("loan", "?start_date__year=2026")
    assert "test-close" in rows("price", "?base__code__exact=BTC&source=test-close")


def test_the_latest_reconciliation_is_shown_with_its_status(as_role, treasury, settings):
    # A chain source that does not answer: the payouts run is incomplete, and says so.
    settings.ESPLORA_URL = f"http://127.0.0.1:{closed_port()}/api"
    reconciliation.reconcile(as_of=date(2026, 1, 30), kinds=["internal"])
    reconciliation.reconcile(as_of=AS_OF, kinds=["internal", "payouts"])
    board = dashboard.dashboard(as_of=AS_OF)
    assert board.reconciliations.day == AS_OF
    assert {run.kind: run.status for run in board.reconciliations.runs} == {
        "internal": "matched",
        "payouts": "incomplete",
    }
    assert not board.reconciliations.all_matched
    page = as_role("staff").get(INDEX, {"as_of": AS_OF.isoformat()}).content.decode()
    panel = page[page.index('id="dash-reconciliations"') :]
    assert "<strong>2026-01-31</strong>" in panel
    assert "not all matched: see the runs" in panel
    assert "Incomplete: a source could not be checked" in panel
    # Before any run, the panel says there is none.
    earlier = as_role("staff").get(INDEX, {"as_of": "2026-01-29"}).content.decode()
    assert "No day has been reconciled on or before this date yet." in earlier


# --- every coin held -----------------------------------------------------------------------


@pytest.fixture
def with_kas(treasury):
    """Beside the BTC: 1,000 KAS mined a day on F2Pool from 2026-01-01 to 2026-01-10, KAS at
    0.09978 USD."""
    from holdings.importers.records import PriceQuote
    from holdings.services import prices

    setup.pool_account_create(code="F2P-KAS", pool="f2pool", name="cango-kas", commodity="KAS")
    quotes = [
        PriceQuote(
            datetime(2025, 12, 20, tzinfo=UTC) + timedelta(days=n),
            "KAS",
            "USD",
            D("0.09978"),
            "test-close",
            n + 1,
        )
        for n in range(60)
    ]
    prices.prices_import(quotes=quotes, file_name="kas prices")
    earnings = [(date(2026, 1, day), "1000") for day in range(1, 11)]
    batch = run_import("f2pool", f2pool_file(earnings, id_base=5_000_000), pool_account="F2P-KAS")
    assert batch.status == "succeeded", batch.errors
    return treasury


def test_every_digital_asset_held_is_on_the_dashboard_with_a_usd_total(with_kas, as_role):
    board = dashboard.dashboard(as_of=AS_OF)
    assert board.commodity == "BTC" and board.commodities == ["BTC", "KAS"]
    assert [(p.commodity, p.held, p.price, p.market_value) for p in board.positions] == [
        ("BTC", D("13"), D("130000.00"), D("1690000.00")),
        ("KAS", D("10000"), D("0.09978"), D("997.80")),
    ]
    assert board.total_value == D("1690997.80")
    kas = dashboard.dashboard(as_of=AS_OF, commodity="KAS")
    assert (kas.holdings.commodity, kas.holdings.held, kas.holdings.scale) == ("KAS", D("10000"), 8)
    assert [(m.month, m.mined) for m in kas.production] == [(date(2026, 1, 1), D("10000"))]

    status, html = page(as_role("auditor"), f"?as_of={AS_OF}")
    assert status == 200
    assert "Digital assets by commodity" in html
    assert "1,690,997.80 USD" in html and "0.09978" in html and "997.80 USD" in html
    assert f'href="?as_of={AS_OF}&amp;commodity=KAS">KAS</a>' in html
    status, html = page(as_role("auditor"), f"?as_of={AS_OF}&commodity=KAS")
    assert status == 200
    assert "KAS held, restricted apart" in html and "KAS held worth 997.80 USD" in html
    assert "KAS mined and sold each month" in html
    assert "<title>Jan 2026: 10,000.00 KAS mined</title>" in html
    status, html = page(as_role("auditor"), f"?as_of={AS_OF}&commodity=DOGE")
    assert status == 400 and "is not a digital asset held: one of BTC, KAS" in html
