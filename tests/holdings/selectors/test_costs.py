"""The cost to mine a bitcoin in a small hand-computed world, by month, quarter and site,
and the published figures of a quarter; the income statement's gross profit."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from holdings.importers.prices import parse_prices
from holdings.models import BatchStatus
from holdings.selectors.costs import cost_to_mine, gross_profit
from holdings.services import costs, fixed_assets, prices, production, setup
from tests.holdings.beancount_checks import (
    assert_ties_to_the_trial_balance,
    export_text,
    load_checked,
)

pytestmark = pytest.mark.django_db
D = Decimal
EH = 10**18

HEADER = (
    "site,kind,vendor,reference,period_start,period_end,kwh,energy,demand,taxes,credits,"
    "amount,hosting_basis,description,paid\n"
)
INVOICES = HEADER + (
    "SITE-A,power,Grid,P-07,2025-07-01,2025-07-31,4000000,150000.00,20000.00,5000.00,15000.00,,,,\n"
    "SITE-A,hosting,Host,H-07,2025-07-01,2025-07-31,,,,,,30000.00,per_kw,,\n"
    "SITE-B,other,,O-07,2025-07-01,2025-07-31,,,,,,10000.00,,site staff,\n"
    "SITE-A,power,Grid,P-08,2025-08-01,2025-08-31,,100000.00,,,,,,,\n"
)


def load_prices(first: date, last: date, price: str = "100000.00") -> None:
    lines = ["timestamp,base,quote,price,source"]
    day = first
    while day <= last:
        lines.append(f"{day.isoformat()}T00:00:00Z,BTC,USD,{price},test-close")
        day += timedelta(days=1)
    content = ("\n".join(lines) + "\n").encode()
    prices.prices_import(quotes=parse_prices(content, file_name="p.csv"), file_name="p.csv")


def mine(rows: list[tuple[str, str, str, int | None]], name: str = "earnings.csv") -> None:
    """Earnings (day, pool account, net BTC, hashrate H/s) through the generic CSV import."""
    lines = ["date,pool_account,gross_btc,fee_btc,net_btc,hashrate_hs,external_id"]
    for day, account, net, hashrate in rows:
        lines.append(f"{day},{account},{net},0,{net},{hashrate or ''},")
    batch = production.import_batch_create(
        source="csv", file_name=name, content=("\n".join(lines) + "\n").encode()
    )
    batch = production.import_batch_run(batch_id=batch.pk)
    assert batch.status == BatchStatus.SUCCEEDED, batch.errors


@pytest.fixture
def cost_world(chart):
    a = setup.site_create(code="SITE-A", name="A", region="NA", deployed_hashrate_hs=str(EH))
    b = setup.site_create(code="SITE-B", name="B", region="NA", deployed_hashrate_hs=str(EH))
    setup.pool_create(code="other", name="Other pool", kind="other")
    setup.pool_account_create(code="PA-A", pool="other", name="a", site=a, source="csv")
    setup.pool_account_create(code="PA-B", pool="other", name="b", site=b, source="csv")
    load_prices(date(2025, 7, 1), date(2025, 10, 1))
    mine(
        [
            ("2025-07-01", "PA-A", "1.00000000", EH),
            ("2025-07-02", "PA-A", "1.00000000", EH),
            ("2025-07-01", "PA-B", "0.50000000", None),
            ("2025-08-01", "PA-A", "2.00000000", EH),
        ]
    )
    costs.site_costs_import(content=INVOICES.encode(), file_name="invoices.csv")
    asset = fixed_assets.asset_receive(
        code="M-1", asset_class="ASIC", cost=D("36000.00"), received_on=date(2025, 7, 1)
    )
    fixed_assets.asset_place_in_service(asset=asset, site=a, on=date(2025, 7, 1))
    fixed_assets.depreciation_run(through=date(2025, 8, 31))
    return {"a": a, "b": b}


def test_july_cash_and_all_in_cost_per_bitcoin(cost_world):
    report = cost_to_mine(start=date(2025, 7, 1), end=date(2025, 7, 31))
    total = report.total
    assert total.btc_mined == D("2.5")
    assert (total.power, total.power_credits, total.hosting, total.other_direct) == (
        D("175000.00"),
        D("15000.00"),
        D("30000.00"),
        D("10000.00"),
    )
    # (175,000 - 15,000 + 30,000 + 10,000) / 2.5 and (200,000 + 1,000 of depreciation) / 2.5
    assert total.cash_cost == D("200000.00") and total.cash_cost_per_btc == D("80000.00")
    assert total.depreciation == D("1000.00") and total.all_in_cost_per_btc == D("80400.00")
    assert total.kwh == D("4000000") and total.power_cost_per_kwh == D("0.0400")
    assert report.rows == []


def test_by_site_month_and_quarter(cost_world):
    by_site = cost_to_mine(start=date(2025, 7, 1), end=date(2025, 7, 31), group_by="site")
    rows = {row.label: row for row in by_site.rows}
    assert rows["SITE-A"].cash_cost_per_btc == D("95000.00")  # 190,000 / 2
    assert rows["SITE-A"].all_in_cost_per_btc == D("95500.00")
    assert rows["SITE-B"].cash_cost_per_btc == D("20000.00")  # 10,000 / 0.5
    assert rows["SITE-B"].depreciation == 0
    by_month = cost_to_mine(start=date(2025, 7, 1), end=date(2025, 8, 31), group_by="month")
    assert [row.label for row in by_month.rows] == ["2025-07", "2025-08"]
    august = by_month.rows[1]
    assert (august.cash_cost_per_btc, august.all_in_cost_per_btc) == (
        D("50000.00"),
        D("50500.00"),
    )
    quarter = cost_to_mine(start=date(2025, 7, 1), end=date(2025, 9, 30), group_by="quarter")
    (q3,) = quarter.rows
    assert q3.label == "2025-Q3" and q3.btc_mined == D("4.5")
    # 300,000 of cash cost and 3,000 of depreciation (July to September... September not yet
    # depreciated: 2,000) over 4.5 BTC.
    assert q3.cash_cost == D("300000.00") and q3.depreciation == D("2000.00")
    assert q3.cash_cost_per_btc == D("66666.67") and q3.all_in_cost_per_btc == D("67111.11")
    one_site = cost_to_mine(start=date(2025, 7, 1), end=date(2025, 7, 31), site="SITE-B")
    assert one_site.total.cash_cost == D("10000.00") and one_site.site == "SITE-B"


def test_hashprice_and_hashcost_where_the_pools_report_hashrate(cost_world):
    two_days = cost_to_mine(start=date(2025, 7, 1), end=date(2025, 7, 2), site="SITE-A")
    total = two_days.total
    # 1 EH/s = 1,000 PH/s on both days; 2 BTC at 100,000 USD over 2,000 PH-days.
    assert total.average_hashrate_phs == D("1000.000")
    assert total.mining_revenue == D("200000.00") and total.hashprice == D("100.00")
    assert total.hashcost == D("0.00")  # the invoices are dated the month's last day
    # 960,000 kWh metered over the two days, 10,000 of them by an HPC sub-meter: 950,000 kWh
    # x 3.6 MJ over 1,000,000 TH/s x 172,800 s = 19.79 J/TH.
    costs.meter_readings_import(
        content=b"site,period_start,period_end,kwh,hpc_kwh\nSITE-A,2025-07-01,2025-07-02,960000,10000\n",
        file_name="meters.csv",
    )
    metered = cost_to_mine(start=date(2025, 7, 1), end=date(2025, 7, 2), site="SITE-A").total
    assert metered.kwh == D("950000") and metered.joules_per_th == D("19.79")


def test_the_quarter_cango_published_comes_out_to_the_dollar(chart):
    """Q3 2025: 1,930.8 BTC mined (650.5 in July); 81,072 and 99,383 USD per BTC."""
    site = setup.site_create(code="SITE-Q", name="Q", region="NA", deployed_hashrate_hs=str(EH))
    setup.pool_create(code="other", name="Other pool", kind="other")
    setup.pool_account_create(code="PA-Q", pool="other", name="q", site=site, source="csv")
    load_prices(date(2025, 7, 1), date(2025, 10, 1))
    mine(
        [
            ("2025-07-15", "PA-Q", "650.50000000", None),
            ("2025-08-15", "PA-Q", "640.20000000", None),
            ("2025-09-15", "PA-Q", "640.10000000", None),
        ]
    )
    # 156,533,817.60 of cash cost (81,072 x 1,930.8): power, credits, hosting and other.
    invoices = HEADER + (
        "SITE-Q,power,Grid,P-7,2025-07-01,2025-07-31,,40000000.00,1000000.00,500000.00,"
        "1500000.00,,,,\n"
        "SITE-Q,power,Grid,P-8,2025-08-01,2025-08-31,,40000000.00,,,,,,,\n"
        "SITE-Q,power,Grid,P-9,2025-09-01,2025-09-30,,40000000.00,,,,,,,\n"
        "SITE-Q,hosting,Host,H-Q3,2025-07-01,2025-09-30,,,,,,30000000.00,per_kw,,\n"
        "SITE-Q,other,,O-Q3,2025-07-01,2025-09-30,,,,,,6533817.60,,repairs and staff,\n"
    )
    costs.site_costs_import(content=invoices.encode(), file_name="q3.csv")
    # 35,354,878.80 of depreciation (18,311 x 1,930.8): 11,784,959.60 a month over 36.
    fleet = fixed_assets.asset_receive(
        code="FLEET", asset_class="ASIC", cost=D("424258545.60"), received_on=date(2025, 7, 1)
    )
    fixed_assets.asset_place_in_service(asset=fleet, site=site, on=date(2025, 7, 1))
    fixed_assets.depreciation_run(through=date(2025, 9, 30))
    report = cost_to_mine(start=date(2025, 7, 1), end=date(2025, 9, 30), group_by="quarter")
    (q3,) = report.rows
    assert q3.btc_mined == D("1930.8")
    assert q3.cash_cost == D("156533817.60") and q3.depreciation == D("35354878.80")
    assert q3.cash_cost_per_btc == D("81072.00") and q3.all_in_cost_per_btc == D("99383.00")
    july = cost_to_mine(start=date(2025, 7, 1), end=date(2025, 7, 31)).total
    assert july.btc_mined == D("650.5")


def test_gross_profit_lines(cost_world):
    figures = gross_profit(start=date(2025, 7, 1), end=date(2025, 7, 31))
    assert figures.revenue == D("250000.00")  # 2.5 BTC at 100,000
    assert figures.cost_of_revenue == D("200000.00")
    assert figures.gross_profit == D("50000.00") and figures.depreciation == D("1000.00")


def test_the_beancount_export_carries_the_cost_accounts(cost_world):
    text = export_text(date(2025, 8, 31))
    assert "Expenses:5000:5000-SITE-A" in text and "Assets:1690" in text
    assert assert_ties_to_the_trial_balance(load_checked(text), date(2025, 8, 31)) > 0


@pytest.fixture
def two_pools(cost_world):
    """SITE-A mines with a second pool too (1 BTC of its 3 in July); SITE-C has a cost and
    mines nothing."""
    setup.pool_create(code="second", name="Second pool", kind="other")
    setup.pool_account_create(
        code="PA-A2", pool="second", name="a2", site=cost_world["a"], source="csv"
    )
    mine([("2025-07-03", "PA-A2", "1.00000000", None)], name="second.csv")
    setup.site_create(code="SITE-C", name="C", region="NA", deployed_hashrate_hs=str(EH))
    costs.site_costs_import(
        content=(HEADER + "SITE-C,other,,O-C,2025-07-01,2025-07-31,,,,,,5000.00,,rent,\n").encode(),
        file_name="c.csv",
    )
    return cost_world


def test_by_pool_each_sites_costs_go_to_its_pools_by_btc_mined(two_pools):
    report = cost_to_mine(start=date(2025, 7, 1), end=date(2025, 7, 31), group_by="pool")
    rows = {row.label: row for row in report.rows}
    assert list(rows) == ["other", "second", "Unattributed"]
    other, second, left = rows["other"], rows["second"], rows["Unattributed"]
    # SITE-A mined 2 BTC with "other" and 1 with "second": its power (175,000.00), credits
    # (15,000.00), hosting (30,000.00) and depreciation (1,000.00) go 2/3 and 1/3, the
    # spare cent to the larger share; SITE-B (0.5 BTC, all "other") its 10,000.00.
    assert (other.btc_mined, second.btc_mined) == (D("2.5"), D("1"))
    assert (other.power, second.power) == (D("116666.67"), D("58333.33"))
    assert (other.power_credits, second.power_credits) == (D("10000.00"), D("5000.00"))
    assert (other.hosting, second.hosting) == (D("20000.00"), D("10000.00"))
    assert (other.other_direct, second.other_direct) == (D("10000.00"), D("0.00"))
    assert (other.depreciation, second.depreciation) == (D("666.67"), D("333.33"))
    assert other.cash_cost == D("136666.67") and other.cash_cost_per_btc == D("54666.67")
    assert other.all_in_cost_per_btc == D("54933.34")  # 137,333.34 / 2.5
    assert second.cash_cost_per_btc == D("63333.33") and second.all_in_cost == D("63666.66")
    assert other.kwh + second.kwh == D("4000000") and other.pool == "other"
    # SITE-C mined nothing: its 5,000.00 is no pool's; the rows add up to the total.
    assert left.other_direct == D("5000.00") and left.cash_cost_per_btc is None
    assert left.btc_mined == 0 and left.pool is None
    total = report.total
    assert total.cash_cost == D("205000.00") and total.btc_mined == D("3.5")
    for line in ("power", "power_credits", "hosting", "other_direct", "depreciation", "cash_cost"):
        assert sum(getattr(row, line) for row in report.rows) == getattr(total, line), line


def test_by_pool_for_one_site(two_pools):
    report = cost_to_mine(
        start=date(2025, 7, 1), end=date(2025, 7, 31), site="SITE-A", group_by="pool"
    )
    rows = {row.label: row for row in report.rows}
    assert list(rows) == ["other", "second"]
    assert rows["other"].btc_mined == D("2") and rows["other"].cash_cost == D("126666.67")
    assert rows["second"].cash_cost == D("63333.33") and rows["second"].site == "SITE-A"
