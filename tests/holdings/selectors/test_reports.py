"""The holdings reports on a small world computed by hand: the roll-forward, the price
evidence, the loan schedule; and the CSV of every holdings report (the production report,
realized gains and lots included) against its JSON, for every role."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from holdings.models import Loan, Lot
from holdings.selectors import loans as loans_selectors
from holdings.selectors import reports
from holdings.services import fair_value, loans, prices, setup, treasury
from ledger import selectors as ledger_selectors
from tests.holdings.conftest import f2pool_file, run_import
from tests.holdings.services.test_treasury import OPENING
from tests.ledger.api.test_entries import API, READ_STATUS, ROLES, assert_error
from tests.ledger.api.test_reports import assert_same_rows, figures_row, read_csv

D = Decimal
JANUARY = {"start": "2026-01-01", "end": "2026-01-31"}


def january() -> None:
    """3 BTC brought in on 2025-12-30 at a cost of 290,000.00 (lot A 1 BTC at 80,000.00,
    lot B 2 BTC at 210,000.00) and remeasured at 99,000 on 2025-12-31 (+7,000.00: A
    2,333.33, B 4,666.67). Then in January 2026:

    - mined 0.5 BTC on the 1st (price 100,000: 50,000.00) and 0.5 on the 2nd (101,000:
      50,500.00);
    - on the 10th, 1.5 BTC of COLD-1 sold for 150,000 USD less a 150 fee: lot A and half of
      lot B, cost 132,500.00, adjustment 3,500.00 (2,333.33 + 1,166.67), proceeds
      100,000.00 + 50,000.00;
    - on the 12th, 1 BTC moved from COLD-1 to HOT-1 (cost 105,000.00, adjustment 2,333.33)
      for a network fee of 0.0001 BTC (cost 10.50, adjustment 0.23);
    - on the 15th, that 1 BTC pledged to loan L-1 (control retained) and 20,000.00 USD
      drawn at 10% ACT/365: 5.48 of interest a day;
    - on the 31st, 100.00 repaid (the 17 days of interest, 93.16, then 6.84 of principal)
      and everything remeasured at 130,000: 2.4999 BTC worth 324,987.00 against a carrying
      value of 261,489.27, +63,497.73.
    """
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    fair_value.remeasure(commodity="BTC", as_of=date(2025, 12, 31))
    batch = run_import(
        "f2pool", f2pool_file([(date(2026, 1, 1), "0.5"), (date(2026, 1, 2), "0.5")])
    )
    assert batch.status == "succeeded", batch.errors
    treasury.sale_record(
        reference="T-1",
        wallet="COLD-1",
        units=D("1.5"),
        sold_at=datetime(2026, 1, 10, 15, 30, tzinfo=UTC),
        proceeds_commodity="USD",
        gross_proceeds=D("150000"),
        fee=D("150"),
    )
    treasury.transfer_record(
        txid="ab" * 32,
        from_wallet="COLD-1",
        to_wallet="HOT-1",
        units=D("1"),
        fee_units=D("0.0001"),
        sent_at=datetime(2026, 1, 12, 9, 0, tzinfo=UTC),
    )
    loan = make_loan()
    loans.loan_pledge(loan=loan, units=D("1"), from_wallet="HOT-1", on=date(2026, 1, 15))
    loans.loan_draw(loan=loan, amount=D("20000.00"), on=date(2026, 1, 15))
    # The month's interest, the repayment on its last day, then that day's interest (accrued
    # on what the loan owes at the end of the day).
    loans.loan_accrue_through(loan=loan, through=date(2026, 1, 30))
    loans.loan_repay(loan=loan, amount=D("100.00"), on=date(2026, 1, 31))
    loans.loan_accrue_through(loan=loan, through=date(2026, 1, 31))
    fair_value.remeasure(commodity="BTC", as_of=date(2026, 1, 31))


def make_loan() -> Loan:
    """Loan L-1: USD at 10% ACT/365 for 2026."""
    return loans.loan_create(
        code="L-1",
        lender="Lender Ltd",
        principal_commodity="USD",
        annual_rate=D("0.10"),
        day_count="ACT/365",
        start_date=date(2026, 1, 1),
        maturity_date=date(2026, 12, 31),
        warning_ltv=D("0.60"),
        margin_call_ltv=D("0.70"),
        liquidation_ltv=D("0.80"),
    )


def figures(line: reports.RollforwardLine) -> tuple[Any, ...]:
    return (
        line.units,
        line.cost,
        line.fair_value_adjustment,
        line.carrying_value,
        line.proceeds,
        line.realized_gain,
    )


# --- the roll-forward --------------------------------------------------------------------


@pytest.mark.django_db
def test_the_rollforward_of_a_month_computed_by_hand(world):
    january()
    report = reports.rollforward(commodity="BTC", start=date(2026, 1, 1), end=date(2026, 1, 31))
    lines = {line.key: figures(line) for line in [*report.lines, *report.memo]}
    nothing = (D(0), D(0), D(0), D(0), None, None)
    assert lines == {
        "opening": (D(3), D("290000.00"), D("7000.00"), D("297000.00"), None, None),
        "additions.mining": (D(1), D("100500.00"), D(0), D("100500.00"), None, None),
        "additions.purchases": nothing,
        "additions.sale_proceeds": nothing,
        "additions.loan_draws": nothing,
        "additions.opening_balances": nothing,
        "dispositions.sales": (
            D("-1.5"),
            D("-132500.00"),
            D("-3500.00"),
            D("-136000.00"),
            D("150000.00"),
            D("17500.00"),
        ),
        "dispositions.network_fees": (
            D("-0.0001"),
            D("-10.50"),
            D("-0.23"),
            D("-10.73"),
            D("0.00"),
            D("-10.50"),
        ),
        "dispositions.liquidations": (*nothing[:4], D(0), D(0)),
        "dispositions.loan_repayments": (*nothing[:4], D(0), D(0)),
        "dispositions.other": (*nothing[:4], D(0), D(0)),
        "fair_value_changes": (D(0), D(0), D("63497.73"), D("63497.73"), None, None),
        "unexplained": nothing,
        # 3 + 1 - 1.5 - 0.0001 BTC at 130,000.
        "closing": (D("2.4999"), D("257989.50"), D("66997.50"), D("324987.00"), None, None),
        "restricted.opening": nothing,
        # The pledged lot: 105,000.00 of cost, 2,333.33 of adjustment before the month end
        # and its share of the remeasurement: 6,349,773 cents x 1 / 2.4999 = 2,540,011.60,
        # 25,400.11 (the floors leave one cent, which goes to the largest remainder, 0.80 of
        # a 0.5 BTC mined lot).
        "restricted.closing": (D(1), D("105000.00"), D("27733.44"), D("132733.44"), None, None),
        "collateral_receivable.opening": nothing,
        "collateral_receivable.closing": nothing,
    }
    assert report.ties_to_trial_balance
    assert report.adjustment_accounts == ["1290", "1490"]
    # Opening plus every movement line is closing.
    movements = [line for line in report.lines if line.key not in ("opening", "closing")]
    for name in ("units", "cost", "fair_value_adjustment"):
        total = getattr(report.line("opening"), name) + sum(getattr(m, name) for m in movements)
        assert total == getattr(report.line("closing"), name), name
    # The closing figures are the trial balance's and the lots'.
    trial = ledger_selectors.trial_balance(as_of=date(2026, 1, 31))
    btc = [row for row in trial.rows if row.commodity == "BTC"]
    assert sum(row.quantity for row in btc) == D("2.4999")
    assert sum(row.value for row in btc) == D("257989.50")
    assert next(row.value for row in trial.rows if row.code == "1290") == D("66997.50")
    pledged = Lot.objects.get(account__code="1230-L-1")
    assert (pledged.quantity, pledged.cost + pledged.fair_value_adjustment) == (
        D(1),
        D("132733.44"),
    )
    # Realized gains against cost are the realized gains report's.
    gains = reports.realized_gains(start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert gains.realized_gain == D("17500.00") + D("-10.50")


@pytest.mark.django_db
def test_the_rollforward_of_the_stablecoin_and_of_a_period_with_nothing(world):
    january()
    setup.wallet_create(code="USDT-1", name="USDT", commodity="USDT", parent_account="1110")
    treasury.sale_record(
        reference="T-2",
        wallet="COLD-1",
        units=D("0.4999"),
        sold_at=datetime(2026, 2, 2, 12, 0, tzinfo=UTC),
        proceeds_commodity="USDT",
        gross_proceeds=D("60000"),
        fee=D("60"),
        proceeds_value=D("59994.00"),
        proceeds_wallet="USDT-1",
    )
    usdt = reports.rollforward(commodity="USDT", start=date(2026, 2, 1), end=date(2026, 2, 28))
    assert figures(usdt.line("additions.sale_proceeds")) == (
        D("59940"),
        D("59934.01"),
        D(0),
        D("59934.01"),
        None,
        None,
    )
    assert usdt.line("closing").units == D("59940") and usdt.ties_to_trial_balance
    assert usdt.adjustment_accounts == []
    quiet = reports.rollforward(commodity="KAS", start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert {figures(line) for line in quiet.lines if line.section != "dispositions"} == {
        (D(0), D(0), D(0), D(0), None, None)
    }
    # Each commodity's memo lines name its own accounts, never BTC's; USDT has none.
    assert [line.label for line in quiet.memo] == [
        "Restricted: pledged as collateral, control retained (1231) at the end of 2025-12-31",
        "Restricted: pledged as collateral, control retained (1231) at the end of 2026-01-31",
        "Collateral receivable, control transferred (1401, 1491) at the end of 2025-12-31",
        "Collateral receivable, control transferred (1401, 1491) at the end of 2026-01-31",
    ]
    assert usdt.memo[0].label == (
        "Restricted: pledged as collateral, control retained (no USDT account for it) at the "
        "end of 2026-01-31"
    )
    btc = reports.rollforward(commodity="BTC", start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert "(1230)" in btc.memo[0].label and "(1400, 1490)" in btc.memo[2].label


# --- the API: roles, parameters, CSV -----------------------------------------------------

LOAN_JANUARY = {"loan": "L-1", **JANUARY}
REPORTS = [
    ("/reports/rollforward/", {"commodity": "BTC", **JANUARY}),
    ("/reports/price-evidence/", JANUARY),
    ("/reports/loan-schedule/", LOAN_JANUARY),
    ("/reports/production/", JANUARY),
    ("/reports/realized-gains/", JANUARY),
    ("/lots/", {"as_of": "2026-01-31"}),
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("url", "query"), REPORTS)
@pytest.mark.parametrize("format_", ["json", "csv"])
def test_every_holdings_report_for_every_role(world, api_client_for, role, url, query, format_):
    make_loan()
    response = api_client_for(role).get(API + url, {**query, "format": format_})
    assert response.status_code == READ_STATUS[role], response.content
    wanted = "text/csv" if format_ == "csv" and response.status_code == 200 else "application/json"
    assert response["Content-Type"].startswith(wanted)
    if role == "auditor":
        assert api_client_for(role).get(API + url, {**query, "format": "xml"}).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "query", "field"),
    [
        ("/reports/rollforward/", {"start": "2026-01-01"}, "end"),
        ("/reports/rollforward/", {"end": "2026-01-01"}, "start"),
        ("/reports/rollforward/", {**JANUARY, "commodity": "DOGE"}, "commodity"),
        ("/reports/rollforward/", {**JANUARY, "commodity": "USD"}, "commodity"),
        ("/reports/rollforward/", {"start": "2026-02-01", "end": "2026-01-31"}, "end"),
        ("/reports/price-evidence/", {"start": "2026-01-01"}, "end"),
        ("/reports/price-evidence/", {**JANUARY, "base": "btc"}, "base"),
        ("/reports/price-evidence/", {**JANUARY, "used_by": "everyone"}, "used_by"),
        ("/reports/price-evidence/", {"start": "2026-01-02", "end": "2026-01-01"}, "end"),
        ("/reports/loan-schedule/", JANUARY, "loan"),
        ("/reports/loan-schedule/", {**JANUARY, "loan": "NOPE"}, "loan"),
        ("/reports/loan-schedule/", {"loan": "L-1", "start": "2026-01-32"}, "start"),
        (
            "/reports/loan-schedule/",
            {"loan": "L-1", "start": "2026-02-01", "end": "2026-01-01"},
            "end",
        ),
        (
            "/reports/loan-schedule/",
            {"loan": "L-1", "start": "2000-01-01", "end": "2026-01-01"},
            "end",
        ),
        ("/reports/production/", {"start": "2026-01-01"}, "end"),
        ("/reports/realized-gains/", {"start": "2026-01-01", "end": "x"}, "end"),
        ("/lots/", {"as_of": "2026-01-32"}, "as_of"),
    ],
)
def test_holdings_reports_refuse_bad_parameters_by_name(world, api_client_for, url, query, field):
    make_loan()
    client = api_client_for("auditor")
    assert_error(client.get(API + url, query), 400, field)
    csv_error = client.get(API + url, {**query, "format": "csv"})
    assert csv_error["Content-Type"] == "application/json"
    assert_error(csv_error, 400, field)


@pytest.mark.django_db
def test_the_rollforward_in_json_and_csv(world, api_client_for):
    january()
    client = api_client_for("auditor")
    body = client.get(f"{API}/reports/rollforward/", JANUARY).json()
    assert (body["commodity"], body["start"], body["end"]) == ("BTC", "2026-01-01", "2026-01-31")
    assert body["ties_to_trial_balance"] is True
    lines = {row["line"]: row for row in body["lines"]}
    assert lines["opening"]["units"] == "3.00000000"
    assert lines["opening"]["label"] == "Opening balance at the end of 2025-12-31"
    assert lines["closing"] == {
        "line": "closing",
        "section": "closing",
        "label": "Closing balance at the end of 2026-01-31",
        "units": "2.49990000",
        "cost": "257989.50",
        "fair_value_adjustment": "66997.50",
        "carrying_value": "324987.00",
        "proceeds": None,
        "realized_gain": None,
    }
    assert lines["dispositions.sales"]["realized_gain"] == "17500.00"
    assert [row["line"] for row in body["memo"]] == [
        "restricted.opening",
        "restricted.closing",
        "collateral_receivable.opening",
        "collateral_receivable.closing",
    ]
    response = client.get(f"{API}/reports/rollforward/", {**JANUARY, "format": "csv"})
    header, rows = read_csv(response)
    assert (
        'filename="rollforward_BTC_2026-01-01_2026-01-31.csv"' in (response["Content-Disposition"])
    )
    assert header == [
        "line",
        "section",
        "label",
        "units",
        "cost",
        "fair_value_adjustment",
        "carrying_value",
        "proceeds",
        "realized_gain",
    ]
    assert_same_rows(rows, body["lines"] + body["memo"])


@pytest.mark.django_db
def test_the_price_evidence_of_a_month(world, api_client_for):
    january()
    client = api_client_for("auditor")
    body = client.get(f"{API}/reports/price-evidence/", JANUARY).json()
    rows = body["results"]
    uses = [(r["effective_date"], r["used_by"], r["link"], r["price"]["price"]) for r in rows]
    assert uses == [
        ("2026-01-01", "production_record", "recorded", "100000.00"),
        ("2026-01-01", "lot", "recorded", "100000.00"),
        ("2026-01-02", "production_record", "recorded", "101000.00"),
        ("2026-01-02", "lot", "recorded", "101000.00"),
        ("2026-01-31", "remeasurement", "recorded", "130000.00"),
    ]
    first = rows[0]
    assert first["price"]["base"] == "BTC" and first["price"]["quote"] == "USD"
    assert first["price"]["timestamp"] == "2026-01-02T00:00:00Z"  # the day's close
    assert (first["commodity"], first["quantity"], first["value"]) == (
        "BTC",
        "0.50000000",
        "50000.00",
    )
    assert first["entry"] and first["entry_sequence"] and first["reference"] == "F2P-A 2026-01-01"
    remeasured = rows[-1]
    assert (remeasured["quantity"], remeasured["value"]) == ("2.49990000", "324987.00")
    only = client.get(f"{API}/reports/price-evidence/", {**JANUARY, "used_by": "lot"}).json()
    assert [r["used_by"] for r in only["results"]] == ["lot", "lot"]
    assert (
        client.get(f"{API}/reports/price-evidence/", {**JANUARY, "base": "USDT"}).json()["count"]
        == 0
    )
    page = client.get(f"{API}/reports/price-evidence/", {**JANUARY, "page_size": 2}).json()
    assert page["count"] == 5 and len(page["results"]) == 2 and page["next"]

    response = client.get(f"{API}/reports/price-evidence/", {**JANUARY, "format": "csv"})
    header, table = read_csv(response)
    assert 'filename="price-evidence_2026-01-01_2026-01-31.csv"' in response["Content-Disposition"]
    assert header[:6] == [
        "price.id",
        "price.base",
        "price.quote",
        "price.timestamp",
        "price.price",
        "price.source",
    ]
    assert_same_rows(table, rows)


@pytest.mark.django_db
def test_stablecoin_values_are_evidenced_by_the_policy_price(world, api_client_for):
    """A USDT sale's proceeds and a USDT loan's draw and interest keep only the value booked:
    the evidence is the day's USDT price when units times it is that value."""
    from holdings.importers.records import PriceQuote

    prices.prices_import(
        quotes=[
            PriceQuote(
                datetime(2026, 1, day + 1, tzinfo=UTC), "USDT", "USD", D("0.9990"), "test", 1
            )
            for day in range(1, 6)
        ]
    )
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    setup.wallet_create(code="USDT-1", name="USDT", commodity="USDT", parent_account="1110")
    treasury.sale_record(
        reference="T-USDT",
        wallet="COLD-1",
        units=D("1"),
        sold_at=datetime(2026, 1, 2, 12, 0, tzinfo=UTC),
        proceeds_commodity="USDT",
        gross_proceeds=D("100000"),
        proceeds_wallet="USDT-1",
    )
    treasury.sale_record(  # a value given: no price used
        reference="T-VALUED",
        wallet="COLD-1",
        units=D("0.1"),
        sold_at=datetime(2026, 1, 2, 13, 0, tzinfo=UTC),
        proceeds_commodity="USDT",
        gross_proceeds=D("10000"),
        proceeds_value=D("10000.00"),
        proceeds_wallet="USDT-1",
    )
    loan = loans.loan_create(
        code="L-T",
        lender="Lender Ltd",
        principal_commodity="USDT",
        annual_rate=D("0.10"),
        day_count="ACT/365",
        start_date=date(2026, 1, 3),
        maturity_date=date(2026, 12, 31),
        warning_ltv=D("0.60"),
        margin_call_ltv=D("0.70"),
        liquidation_ltv=D("0.80"),
    )
    loans.loan_pledge(loan=loan, units=D("1"), from_wallet="COLD-1", on=date(2026, 1, 3))
    loans.loan_draw(loan=loan, amount=D("50000"), on=date(2026, 1, 3), to_wallet="USDT-1")
    loans.loan_accrue_through(loan=loan, through=date(2026, 1, 4))
    body = (
        api_client_for("auditor")
        .get(
            f"{API}/reports/price-evidence/",
            {"start": "2026-01-02", "end": "2026-01-04", "base": "USDT"},
        )
        .json()
    )
    uses = [
        (r["used_by"], r["link"], r["reference"], r["quantity"], r["value"], r["price"]["price"])
        for r in body["results"]
    ]
    assert uses == [
        ("sale", "policy", "T-USDT", "100000.000000", "99900.00", "0.9990"),
        ("loan_draw", "policy", "L-T draw 2026-01-03", "50000.000000", "49950.00", "0.9990"),
        ("loan_accrual", "policy", "L-T accrual 2026-01-03", "13.698630", "13.68", "0.9990"),
        ("loan_accrual", "policy", "L-T accrual 2026-01-04", "13.698630", "13.68", "0.9990"),
    ]


@pytest.mark.django_db
def test_the_loan_schedule_day_by_day(world, api_client_for):
    january()
    client = api_client_for("auditor")
    body = client.get(f"{API}/reports/loan-schedule/", LOAN_JANUARY).json()
    assert (body["loan"], body["principal_commodity"], body["collateral_commodity"]) == (
        "L-1",
        "USD",
        "BTC",
    )
    days = body["results"]
    assert [row["day"] for row in days] == [f"2026-01-{n:02d}" for n in range(1, 32)]
    assert body["opening"]["principal"] == "0.00" and body["opening"]["tier"] == "ok"
    fifteenth, last = days[14], days[30]
    assert fifteenth["events"] == ["pledge", "draw", "accrual"]
    assert {k: fifteenth[k] for k in ("principal_drawn", "interest_accrued", "principal")} == {
        "principal_drawn": "20000.00",
        "interest_accrued": "5.48",
        "principal": "20000.00",
    }
    # 1 BTC at 114,000 against 20,005.48.
    assert (fifteenth["collateral_units"], fifteenth["collateral_price"]) == (
        "1.00000000",
        "114000.00",
    )
    assert (fifteenth["collateral_value"], fifteenth["ltv"], fifteenth["tier"]) == (
        "114000.00",
        "0.1755",
        "ok",
    )
    assert {
        k: last[k] for k in ("interest_paid", "principal_paid", "principal", "interest", "balance")
    } == {
        # The repayment pays the interest of the 15th to the 30th; the 31st's is accrued
        # after it, on what the loan then owes.
        "interest_paid": "87.68",
        "principal_paid": "12.32",
        "principal": "19987.68",
        "interest": "5.48",
        "balance": "19993.16",
    }
    assert body["totals"] == {
        "principal_drawn": "20000.00",
        "principal_paid": "12.32",
        "interest_accrued": "93.16",
        "interest_paid": "87.68",
        "collateral_pledged": "1.00000000",
        "collateral_released": "0.00000000",
        "collateral_liquidated": "0.00000000",
    }
    # Every day is the loan's status that day, and flows add up to the balances.
    previous = body["opening"]
    loan = Loan.objects.get(code="L-1")
    for row in days:
        status = loans_selectors.loan_status(loan=loan, as_of=date.fromisoformat(row["day"]))
        assert D(row["principal"]) == status.principal
        assert D(row["interest"]) == status.interest
        assert D(row["debt_value"]) == status.debt_value
        assert D(row["collateral_units"]) == status.collateral_units
        assert row["tier"] == status.tier
        assert (row["ltv"] and D(row["ltv"])) == status.ltv
        assert D(row["principal"]) == D(previous["principal"]) + D(row["principal_drawn"]) - D(
            row["principal_paid"]
        )
        assert D(row["interest"]) == D(previous["interest"]) + D(row["interest_accrued"]) - D(
            row["interest_paid"]
        )
        previous = row

    response = client.get(f"{API}/reports/loan-schedule/", {**LOAN_JANUARY, "format": "csv"})
    _, table = read_csv(response)
    assert (
        'filename="loan-schedule_L-1_2026-01-01_2026-01-31.csv"'
        in (response["Content-Disposition"])
    )
    opening, *rows, total = table
    assert figures_row(opening, "day", "Opening") == {
        "principal": "0.00",
        "interest": "0.00",
        "balance": "0.00",
        "debt_value": "0.00",
        "collateral_units": "0.00000000",
        "tier": "ok",
    }
    assert_same_rows(rows, days)
    assert figures_row(total, "day", "Total") == body["totals"]
    # By default, from the loan's start to today or its maturity.
    whole = client.get(f"{API}/reports/loan-schedule/", {"loan": "L-1"}).json()
    assert whole["start"] == "2026-01-01"


@pytest.mark.django_db
def test_the_existing_reports_in_csv_are_their_json(world, api_client_for):
    january()
    client = api_client_for("auditor")

    production = client.get(f"{API}/reports/production/", JANUARY).json()
    response = client.get(f"{API}/reports/production/", {**JANUARY, "format": "csv"})
    header, rows = read_csv(response)
    assert (
        'filename="production_BTC_2026-01-01_2026-01-31.csv"' in (response["Content-Disposition"])
    )
    assert header[:3] == ["month", "days", "mined"]
    assert_same_rows(rows, production["results"])

    gains = client.get(f"{API}/reports/realized-gains/", JANUARY).json()
    response = client.get(f"{API}/reports/realized-gains/", {**JANUARY, "format": "csv"})
    _, rows = read_csv(response)
    *disposals, total = rows
    assert_same_rows(disposals, gains["results"])
    totals = {k: v for k, v in gains["totals"].items() if k != "disposals"}
    assert figures_row(total, "kind", "Total") == totals
    assert len(disposals) == gains["totals"]["disposals"] == 3

    query = {"as_of": "2026-01-31", "commodity": "BTC"}
    lots = client.get(f"{API}/lots/", {**query, "page_size": 2})
    assert lots.json()["count"] == 4 and len(lots.json()["results"]) == 2
    everything = client.get(f"{API}/lots/", {**query, "page_size": 1000}).json()["results"]
    response = client.get(f"{API}/lots/", {**query, "format": "csv", "page_size": 2})
    header, rows = read_csv(response)
    assert 'filename="lots_BTC_2026-01-31_open.csv"' in response["Content-Disposition"]
    assert "price.price" in header and "price" not in header
    assert_same_rows(rows, everything)  # every lot, not the page
    assert {row["price.price"] for row in rows} >= {"", "100000.00"}  # opening lots: none
