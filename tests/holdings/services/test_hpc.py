"""The HPC segment: a contract's revenue recognised month by month over its term, and a
shared site's power allocated between mining and HPC by metered kWh, else by contracted MW;
each segment's gross profit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from holdings.models import HpcRevenue
from holdings.selectors.costs import cost_to_mine, gross_profit
from holdings.selectors.hpc import hpc_power_share
from holdings.services import costs, fixed_assets, hpc, setup
from ledger import selectors as ledger_selectors
from ledger.errors import LedgerError

pytestmark = pytest.mark.django_db
D = Decimal
HEADER = (
    "site,kind,vendor,reference,period_start,period_end,kwh,energy,demand,taxes,credits,"
    "amount,hosting_basis,description,paid\n"
)


@pytest.fixture
def shared(chart):
    site = setup.site_create(code="SITE-H", name="H", region="NA", deployed_hashrate_hs="1")
    machines = fixed_assets.asset_receive(
        code="M-H",
        asset_class="ASIC",
        cost=D("3600000.00"),
        received_on=date(2024, 12, 1),
        power_kw=D("18000"),
    )
    fixed_assets.asset_place_in_service(asset=machines, site=site, on=date(2024, 12, 1))
    contract = hpc.hpc_contract_create(
        code="HPC-1",
        customer="Compute Co",
        site=site,
        capacity_mw=D("2"),
        monthly_fee=D("310000.00"),
        usage_rate=D("0.05"),
        start=date(2025, 1, 15),
        term_months=12,
    )
    invoices = HEADER + (
        "SITE-H,power,Grid,P-1,2025-01-01,2025-01-31,,500000.00,,,,,,,\n"
        "SITE-H,power,Grid,P-2,2025-02-01,2025-02-28,,400000.00,,,,,,,\n"
    )
    costs.site_costs_import(content=invoices.encode(), file_name="h.csv")
    readings = (
        b"site,period_start,period_end,kwh,hpc_kwh\nSITE-H,2025-01-01,2025-01-31,10000000,1000000\n"
    )
    costs.meter_readings_import(content=readings, file_name="meters.csv")
    return {"site": site, "contract": contract}


def test_a_contracts_revenue_is_recognised_over_its_term(shared):
    (january,) = hpc.hpc_revenue_recognize(month=date(2025, 1, 1))
    # 17 days of 31 of the monthly fee, and 1,000,000 kWh at 0.05.
    assert (january.days, january.fixed_fee) == (17, D("170000.00"))
    assert (january.usage_kwh, january.usage_fee, january.amount) == (
        D("1000000.000"),
        D("50000.00"),
        D("220000.00"),
    )
    assert january.entry.effective_date == date(2025, 1, 31)
    assert hpc.hpc_revenue_recognize(month=date(2025, 1, 1)) == []  # nothing twice
    (february,) = hpc.hpc_revenue_recognize(month=date(2025, 2, 1))
    assert (february.fixed_fee, february.usage_fee) == (D("310000.00"), D("0.00"))
    (last,) = hpc.hpc_revenue_recognize(month=date(2026, 1, 1))
    assert last.days == 14  # through 2026-01-14
    assert hpc.hpc_revenue_recognize(month=date(2026, 2, 1)) == []
    assert HpcRevenue.objects.count() == 3
    balance = ledger_selectors.account_balance(account="4200-SITE-H", as_of=date(2026, 12, 31))
    assert balance.value == -D("220000.00") - D("310000.00") - last.amount


def test_power_is_allocated_by_metered_kwh_else_by_contracted_mw(shared):
    site = shared["site"]
    january = hpc_power_share(site, date(2025, 1, 1), date(2025, 1, 31))
    assert (january.share, january.basis) == (D("0.100000"), "metered kWh")
    # February has no reading: 2 MW contracted against 18 MW of machines in service.
    february = hpc_power_share(site, date(2025, 2, 1), date(2025, 2, 28))
    assert (february.share, february.basis) == (D("0.100000"), "contracted MW")
    # December: no contract yet, nothing to HPC.
    assert hpc_power_share(site, date(2024, 12, 1), date(2024, 12, 31)).share == 0
    report = cost_to_mine(start=date(2025, 1, 1), end=date(2025, 2, 28), group_by="month")
    jan, feb = report.rows
    assert (jan.power, jan.power_to_hpc, jan.cash_cost) == (
        D("500000.00"),
        D("50000.00"),
        D("450000.00"),
    )
    assert (feb.power_to_hpc, feb.cash_cost) == (D("40000.00"), D("360000.00"))


def test_each_segment_has_its_gross_profit(shared):
    hpc.hpc_revenue_recognize(month=date(2025, 1, 1))
    figures = gross_profit(start=date(2025, 1, 1), end=date(2025, 1, 31))
    mining, compute = figures.segments
    assert (compute.name, compute.revenue, compute.cost_of_revenue, compute.gross_profit) == (
        "HPC",
        D("220000.00"),
        D("50000.00"),
        D("170000.00"),
    )
    assert (mining.revenue, mining.cost_of_revenue) == (D("0.00"), D("450000.00"))
    assert figures.gross_profit == mining.gross_profit + compute.gross_profit


def test_a_contract_is_checked(shared):
    with pytest.raises(LedgerError, match="already exists"):
        hpc.hpc_contract_create(
            code="HPC-1",
            customer="Other",
            site="SITE-H",
            capacity_mw=D("1"),
            monthly_fee=D("1.00"),
            usage_rate=D("0"),
            start=date(2025, 1, 1),
            term_months=1,
        )
    with pytest.raises(LedgerError, match="capacity_mw"):
        hpc.hpc_contract_create(
            code="HPC-2",
            customer="Other",
            site="SITE-H",
            capacity_mw=D("0"),
            monthly_fee=D("1.00"),
            usage_rate=D("0"),
            start=date(2025, 1, 1),
            term_months=1,
        )
