"""Fixed assets against hand-computed schedules: part months, a change of useful life, an
impairment, a disposal; the register's roll-forward tied to the trial balance; deposits;
cancellation only through the document, latest first."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from holdings.models import AssetClass, AssetEvent, AssetEventKind
from holdings.selectors.fixed_assets import asset_register, asset_rollforward, asset_state
from holdings.services import fixed_assets, setup
from ledger import selectors as ledger_selectors
from ledger import services as ledger_services
from ledger.errors import Forbidden, LedgerError

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def site(chart):
    return setup.site_create(
        code="SITE-A", name="Site A", region="North America", deployed_hashrate_hs="1000"
    )


def fund(amount: str) -> None:
    ledger_services.entry_post(
        effective_date=date(2024, 12, 1),
        memo="Capital",
        postings=[("1000", D(amount), D(amount)), ("3000", -D(amount), -D(amount))],
    )


def balance(code: str, as_of: date = date(2030, 12, 31)) -> Decimal:
    return ledger_selectors.account_balance(account=code, as_of=as_of).value


def machines(code: str, cost: str, in_service: date, site, **kwargs):
    asset = fixed_assets.asset_receive(
        code=code, asset_class="ASIC", cost=D(cost), received_on=in_service, units=100
    )
    return fixed_assets.asset_place_in_service(asset=asset, site=site, on=in_service, **kwargs)


def charges(asset) -> dict[str, Decimal]:
    return {
        f"{e.month:%Y-%m}": e.amount
        for e in AssetEvent.objects.filter(asset=asset, kind=AssetEventKind.DEPRECIATION)
    }


def test_asic_miners_default_to_three_years():
    asic = AssetClass.objects.get(code="ASIC")
    assert asic.useful_life_months == 36 and asic.mining
    assert (asic.cost_account, asic.accumulated_account, asic.expense_account) == (
        "1600",
        "1690",
        "5400",
    )
    assert not AssetClass.objects.get(code="GPU").mining


def test_part_months_at_both_ends_of_the_life(site):
    asset = machines("M-1", "36000.00", date(2023, 7, 16), site)
    assert balance("1600") == D("36000.00") and balance("2210") == D("-36000.00")
    fixed_assets.depreciation_run(through=date(2026, 11, 30))
    got = charges(asset)
    # July 2023: 16 days of 31 of a 1,000.00 month; then 35 whole months of 1,000.00; July
    # 2026, 15 days of 31, takes what is left, so the life adds up to the cost exactly.
    assert got["2023-07"] == D("516.13")
    assert {got[m] for m in got if m not in ("2023-07", "2026-07")} == {D("1000.00")}
    assert len(got) == 37 and got["2026-07"] == D("483.87")
    assert sum(got.values()) == D("36000.00")
    assert balance("5400-SITE-A") == D("36000.00") and balance("1690") == D("-36000.00")
    entry = AssetEvent.objects.get(asset=asset, month=date(2023, 7, 1)).entry
    assert entry.effective_date == date(2023, 7, 31) and entry.kind == "asset_depreciation"
    # Running again posts nothing twice.
    assert fixed_assets.depreciation_run(through=date(2026, 11, 30)) == []


def test_only_whole_months_up_to_the_date_are_depreciated(site):
    asset = machines("M-1", "36000.00", date(2025, 7, 1), site)
    fixed_assets.depreciation_run(through=date(2025, 8, 30))
    assert charges(asset) == {"2025-07": D("1000.00")}
    fixed_assets.depreciation_run(through=date(2025, 8, 31))
    assert charges(asset) == {"2025-07": D("1000.00"), "2025-08": D("1000.00")}


def test_a_change_of_useful_life_applies_from_its_month_on(site, staff_user):
    asset = machines("M-1", "36000.00", date(2022, 1, 1), site)
    fixed_assets.depreciation_run(through=date(2022, 12, 31))
    assert sum(charges(asset).values()) == D("12000.00")
    with pytest.raises(LedgerError, match="already depreciated"):
        fixed_assets.asset_change_life(
            asset=asset, from_month=date(2022, 12, 1), useful_life_months=48, by=staff_user
        )
    fixed_assets.asset_change_life(
        asset=asset, from_month=date(2023, 1, 1), useful_life_months=48, by=staff_user
    )
    fixed_assets.depreciation_run(through=date(2026, 11, 30))
    got = charges(asset)
    # 24,000.00 left over the 36 months left: 666.67, the last month taking what is left.
    assert got["2022-12"] == D("1000.00") and got["2023-01"] == D("666.67")
    assert max(got) == "2025-12" and len(got) == 48
    assert sum(got.values()) == D("36000.00")
    assert asset_state(asset).life_end == date(2026, 1, 1)


def test_an_impairment_is_booked_by_an_approver_with_its_evidence(site, staff_user, approver_user):
    asset = machines("M-1", "36000.00", date(2025, 1, 1), site)
    fixed_assets.depreciation_run(through=date(2025, 6, 30))
    arguments = {"asset": asset, "on": date(2025, 6, 30), "fair_value": D("15000.00")}
    with pytest.raises(Forbidden):
        fixed_assets.asset_impair(**arguments, evidence="hashprice", by=staff_user)
    with pytest.raises(LedgerError, match="evidence"):
        fixed_assets.asset_impair(**arguments, evidence=" ", by=approver_user)
    with pytest.raises(LedgerError, match="month end"):
        fixed_assets.asset_impair(
            **{**arguments, "on": date(2025, 6, 29)}, evidence="x", by=approver_user
        )
    with pytest.raises(LedgerError, match="below the net book value"):
        fixed_assets.asset_impair(
            **{**arguments, "fair_value": D("30000.00")}, evidence="x", by=approver_user
        )
    event = fixed_assets.asset_impair(
        **arguments, evidence="Broker quotes of 2025-06-30: 150 USD a machine", by=approver_user
    )
    # Net book value 30,000.00 written down to 15,000.00; 6,000.00 of depreciation closed out.
    assert (event.amount, event.accumulated, event.carrying_value) == (
        D("15000.00"),
        D("6000.00"),
        D("15000.00"),
    )
    assert balance("5500-SITE-A") == D("15000.00")
    assert balance("1600") == D("15000.00") and balance("1690") == 0
    # The new basis over the 30 months left: 500.00 a month.
    fixed_assets.depreciation_run(through=date(2025, 7, 31))
    assert charges(asset)["2025-07"] == D("500.00")


def test_a_disposal_books_the_months_depreciation_then_the_gain_or_loss(site, staff_user):
    asset = machines("M-1", "36000.00", date(2025, 1, 1), site)
    with pytest.raises(LedgerError, match="depreciate"):
        fixed_assets.asset_dispose(
            asset=asset, on=date(2025, 4, 16), proceeds=D("30000.00"), by=staff_user
        )
    fixed_assets.depreciation_run(through=date(2025, 3, 31))
    event = fixed_assets.asset_dispose(
        asset=asset, on=date(2025, 4, 16), proceeds=D("30000.00"), by=staff_user
    )
    # April: 15 days of 30 in service, half of 1,000.00; net book value 32,500.00.
    assert charges(asset)["2025-04"] == D("500.00")
    assert (event.accumulated, event.carrying_value, event.amount) == (
        D("3500.00"),
        D("32500.00"),
        D("-2500.00"),
    )
    assert balance("1000") == D("30000.00") and balance("4300") == D("2500.00")  # a loss
    assert balance("1600") == 0 and balance("1690") == 0
    asset.refresh_from_db()
    assert asset.disposed_on == date(2025, 4, 16)
    assert fixed_assets.depreciation_run(through=date(2025, 12, 31)) == []
    with pytest.raises(LedgerError, match="disposed"):
        fixed_assets.asset_dispose(asset=asset, on=date(2025, 5, 1), proceeds=D("1.00"))


def test_the_roll_forward_ties_to_the_trial_balance(site, approver_user, staff_user):
    fund("10000.00")
    deposit = fixed_assets.vendor_deposit_record(
        vendor="Bitmain", reference="DEP-1", amount=D("10000.00"), paid_on=date(2024, 12, 15)
    )
    assert balance("1500") == D("10000.00") and balance("1000") == 0
    first = fixed_assets.asset_receive(
        code="M-1",
        asset_class="ASIC",
        cost=D("36000.00"),
        received_on=date(2025, 1, 1),
        deposit=deposit,
        deposit_applied=D("10000.00"),
    )
    assert balance("1500") == 0 and balance("2210") == D("-26000.00")
    with pytest.raises(LedgerError, match="left"):
        fixed_assets.asset_receive(
            code="M-X",
            asset_class="ASIC",
            cost=D("5.00"),
            received_on=date(2025, 1, 1),
            deposit=deposit,
            deposit_applied=D("1.00"),
        )
    fixed_assets.asset_place_in_service(asset=first, site=site, on=date(2025, 1, 1))
    second = machines("M-2", "36000.00", date(2025, 1, 1), site)
    machines("M-3", "7200.00", date(2025, 5, 1), site, useful_life_months=12)
    fixed_assets.depreciation_run(through=date(2025, 6, 30))
    fixed_assets.asset_impair(
        asset=first,
        on=date(2025, 6, 30),
        fair_value=D("15000.00"),
        evidence="quotes",
        by=approver_user,
    )
    fixed_assets.asset_dispose(asset=second, on=date(2025, 6, 30), proceeds=D("31000.00"))
    fixed_assets.depreciation_run(through=date(2025, 9, 30))
    (asic, gpu) = asset_rollforward(start=date(2025, 4, 1), end=date(2025, 9, 30))
    assert asic.ties_to_trial_balance and gpu.ties_to_trial_balance
    assert asic.opening_cost == D("72000.00") and asic.additions == D("7200.00")
    assert asic.impairments == D("21000.00") and asic.disposals_cost == D("36000.00")
    assert asic.closing_cost == D("22200.00")  # 15,000.00 impaired basis + 7,200.00
    assert (
        asic.opening_cost + asic.additions - asic.impairments - asic.disposals_cost
        == asic.closing_cost
    )
    assert (
        asic.opening_accumulated
        + asic.depreciation
        - asic.impairment_closed
        - asic.disposals_accumulated
        == asic.closing_accumulated
    )
    # M-1: 500.00 a month for July to September; M-3: 600.00 a month for May to September.
    assert asic.closing_accumulated == D("1500.00") + D("3000.00")
    register = {row.asset.code: row for row in asset_register(as_of=date(2025, 9, 30))}
    assert set(register) == {"M-1", "M-3"}
    assert register["M-1"].net_book_value == D("13500.00")
    assert sum(r.net_book_value for r in register.values()) == balance(
        "1600", date(2025, 9, 30)
    ) + balance("1690", date(2025, 9, 30))


def test_an_assets_documents_are_cancelled_latest_first(site, staff_user, approver_user):
    asset = machines("M-1", "36000.00", date(2025, 1, 1), site)
    fixed_assets.depreciation_run(through=date(2025, 2, 28))
    january, february = AssetEvent.objects.filter(
        asset=asset, kind=AssetEventKind.DEPRECIATION
    ).order_by("month")
    with pytest.raises(LedgerError, match="cancel that first"):
        ledger_services.cancellation_request(entry=january.entry, reason="x", by=staff_user)
    cancellation, _ = ledger_services.cancellation_request(
        entry=february.entry, reason="wrong month", by=staff_user
    )
    assert cancellation.document == f"depreciation of asset M-1 of {date(2025, 2, 28)}"
    ledger_services.cancellation_approve(cancellation=cancellation, by=approver_user)
    assert asset_state(asset).depreciated_through == date(2025, 1, 1)
    # The month is depreciated again by the next run.
    (again,) = fixed_assets.depreciation_run(through=date(2025, 2, 28))
    assert again.month == date(2025, 2, 1) and again.amount == D("1000.00")
    with pytest.raises(LedgerError, match="events after its receipt"):
        ledger_services.cancellation_request(entry=asset.receipt_entry, reason="x", by=staff_user)


def test_machines_owned_at_the_opening_date_come_in_against_opening_equity(site):
    asset = fixed_assets.asset_receive(
        code="OPEN-1",
        asset_class="ASIC",
        cost=D("36000.00"),
        received_on=date(2025, 6, 30),
        units=10,
        opening=True,
    )
    assert asset.receipt_entry.memo.startswith("Owned at the opening date OPEN-1")
    assert (balance("1600"), balance("3000"), balance("2210")) == (D("36000.00"), D("-36000.00"), 0)
    fixed_assets.asset_place_in_service(asset=asset, site=site, on=date(2025, 7, 1))
    fixed_assets.depreciation_run(through=date(2025, 9, 30))
    assert charges(asset) == {m: D("1000.00") for m in ("2025-07", "2025-08", "2025-09")}


@pytest.mark.parametrize("extra", [{"paid": True}, {"deposit": "DEP-1"}])
def test_an_asset_owned_at_the_opening_date_is_neither_paid_nor_from_a_deposit(site, extra):
    with pytest.raises(LedgerError, match="opening date") as caught:
        fixed_assets.asset_receive(
            code="OPEN-2",
            asset_class="ASIC",
            cost=D("100.00"),
            received_on=date(2025, 6, 30),
            opening=True,
            **extra,
        )
    assert caught.value.field == "opening"
    assert balance("1600") == 0
