"""Set-up, prices, opening balances and fair value remeasurement."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from holdings.errors import InvalidSetup, MissingPrice, PriceConflict, RemeasurementError
from holdings.importers.records import PriceQuote
from holdings.models import Lot, LotMovement, Remeasurement
from holdings.selectors import lots, prices
from holdings.services import fair_value, setup
from holdings.services import prices as prices_services
from holdings.valuation import allocate, share
from ledger import selectors as ledger_selectors
from ledger.models import JournalEntry
from tests.holdings.conftest import ADDRESS, f2pool_file, price_on, run_import

D = Decimal
JAN = [date(2026, 1, d) for d in range(1, 32)]


def quote(day: str, price: str, base: str = "BTC") -> PriceQuote:
    return PriceQuote(
        datetime.fromisoformat(day).replace(tzinfo=UTC), base, "USD", D(price), "test", 1
    )


# --- allocation --------------------------------------------------------------------------


def test_allocation_is_pro_rata_to_the_cent_and_adds_up_exactly():
    assert allocate(D("3250.00"), [D("0.5"), D("0.1"), D("0.15"), D("0.25")]) == [
        D("1625.00"),
        D("325.00"),
        D("487.50"),
        D("812.50"),
    ]
    assert allocate(D("0.10"), [D(1), D(1), D(1)]) == [D("0.04"), D("0.03"), D("0.03")]
    assert allocate(D("-0.10"), [D(1), D(1), D(1)]) == [D("-0.03"), D("-0.03"), D("-0.04")]
    assert sum(allocate(D("-7.77"), [D("0.3"), D("0.00000001"), D("12")])) == D("-7.77")
    assert share(D("100.00"), D("1"), D("3")) == D("33.33")
    assert share(D("100.00"), D("3"), D("3")) == D("100.00")


# --- set-up ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_pool_account_gets_its_own_guarded_receivable_under_the_commoditys_parent(world):
    account = world["account"]
    assert account.receivable_account.code == "1300-F2P-A"
    assert account.receivable_account.parent.code == "1300"
    assert account.receivable_account.must_not_go_negative
    assert world["hot"].account.parent.code == "1220"
    with pytest.raises(InvalidSetup, match="pool account F2P-A already exists"):
        setup.pool_account_create(code="F2P-A", pool="f2pool", name="again")
    with pytest.raises(InvalidSetup, match="no pool receivables account for USDT"):
        setup.pool_account_create(code="X", pool="f2pool", name="x", commodity="USDT")
    with pytest.raises(InvalidSetup, match="already belongs to wallet HOT-1"):
        setup.wallet_address_add(wallet="COLD-1", address=ADDRESS)
    with pytest.raises(InvalidSetup, match="sits under one of 1210, 1220, 1230, not 1300"):
        setup.wallet_create(code="W", name="w", parent_account="1300")


# --- prices ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_prices_are_stored_once_and_never_overwritten(chart):
    rows = [quote("2026-01-01T00:00:00", "87512.34"), quote("2026-01-02T00:00:00", "88000")]
    assert prices_services.prices_import(quotes=rows) == (2, 0)
    with pytest.raises(PriceConflict, match=r"2026-01-01T00:00:00Z is already recorded"):
        prices_services.prices_import(quotes=rows)
    assert prices_services.prices_import(quotes=rows, skip_identical=True) == (0, 2)
    conflict = r"BTC/USD at 2026-01-01T00:00:00Z is already 87512\.34"
    for skip in (False, True):
        with pytest.raises(PriceConflict, match=conflict):
            prices_services.prices_import(
                quotes=[
                    quote("2026-01-03T00:00:00", "1"),
                    quote("2026-01-01T00:00:00", "87512.35"),
                ],
                skip_identical=skip,
            )
    assert prices.prices(base="BTC").count() == 2  # the first row was not written either
    with pytest.raises(InvalidSetup, match="unknown commodity DOGE"):
        prices_services.prices_import(quotes=[quote("2026-01-03T00:00:00", "1", base="DOGE")])


# --- opening balances --------------------------------------------------------------------


OPENING = [
    {
        "wallet": "COLD-1",
        "acquired_at": "2025-03-01T10:00:00Z",
        "quantity": "10.5",
        "cost_usd": "900000.00",
    },
    {
        "wallet": "COLD-1",
        "acquired_at": "2025-06-01T10:00:00Z",
        "quantity": "2.00000001",
        "cost_usd": "210000.01",
    },
    {
        "wallet": "HOT-1",
        "acquired_at": "2025-12-30T23:00:00Z",
        "quantity": "0.5",
        "cost_usd": "45000.00",
    },
]


@pytest.mark.django_db
def test_opening_lots_come_in_once_against_opening_equity(world):
    assert setup.opening_lots_load(as_of=date(2025, 12, 31), rows=OPENING) == (3, True)
    assert setup.opening_lots_load(as_of=date(2025, 12, 31), rows=OPENING) == (3, False)

    cold = ledger_selectors.account_balance(account="1210", as_of=date(2025, 12, 31))
    assert (cold.quantity, cold.value) == (D("12.50000001"), D("1110000.01"))
    equity = ledger_selectors.account_balance(account="3000", as_of=date(2025, 12, 31))
    assert equity.value == D("-1155000.01")
    assert Lot.objects.filter(origin="opening").count() == 3
    assert lots.lot_differences(as_of=date(2025, 12, 31)) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"wallet": "NOPE"}, "row 3, field wallet: unknown wallet 'NOPE'"),
        ({"acquired_at": "2025-06-01T10:00:00"}, "row 3, field acquired_at: .* not a UTC"),
        ({"acquired_at": "2026-01-01T00:00:00Z"}, "row 3, field acquired_at: after 2025-12-31"),
        ({"quantity": "0.123456789"}, "row 3, field quantity: .* at most 8 decimals"),
        ({"quantity": "-1"}, "row 3, field quantity"),
        ({"cost_usd": "1.001"}, "row 3, field cost_usd"),
        ({"cost_usd": ""}, "row 3: missing cost_usd"),
    ],
)
def test_bad_opening_rows_are_refused_by_name_and_nothing_is_written(world, change, message):
    rows = [OPENING[0], {**OPENING[1], **change}]
    with pytest.raises(InvalidSetup, match=message):
        setup.opening_lots_load(as_of=date(2025, 12, 31), rows=rows)
    assert not JournalEntry.objects.exists() and not Lot.objects.exists()


@pytest.mark.django_db
def test_opening_cash_comes_in_once_against_opening_equity(world):
    day = date(2025, 6, 30)
    assert setup.opening_cash_load(as_of=day, amount=D("180000000.00")) is True
    assert setup.opening_cash_load(as_of=day, amount=D("180000000.00")) is False
    cash = ledger_selectors.account_balance(account="1000", as_of=day)
    equity = ledger_selectors.account_balance(account="3000", as_of=day)
    assert (cash.value, equity.value) == (D("180000000.00"), D("-180000000.00"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"account": "1210"}, "'1210' is not a USD asset account"),
        ({"account": "3000"}, "'3000' is not a USD asset account"),
        ({"amount": D("0")}, "not a positive amount of USD to the cent"),
        ({"amount": D("1.001")}, "not a positive amount of USD to the cent"),
    ],
)
def test_bad_opening_cash_is_refused_by_name_and_nothing_is_written(world, change, message):
    with pytest.raises(InvalidSetup, match=message):
        setup.opening_cash_load(as_of=date(2025, 6, 30), **{"amount": D("10.00"), **change})
    assert not JournalEntry.objects.exists()


# --- fair value --------------------------------------------------------------------------


def mined_and_partly_paid(world) -> None:
    content = f2pool_file(
        [(JAN[0], "0.5"), (JAN[1], "0.25"), (JAN[2], "0.25")],
        [(1, datetime(2026, 1, 3, 3, tzinfo=UTC), "0.6", ADDRESS)],
    )
    assert run_import("f2pool", content).status == "succeeded"


@pytest.mark.django_db
def test_remeasurement_spreads_the_difference_over_open_lots_by_units(world):
    mined_and_partly_paid(world)
    # Carrying: 0.5 x 100,000 + 0.25 x 101,000 + 0.25 x 102,000 = 100,750.00.
    result = fair_value.remeasure(commodity="BTC", as_of=JAN[4])

    assert price_on(JAN[4]) == D("104000.00")
    assert result.price.timestamp == datetime(2026, 1, 6, tzinfo=UTC)
    assert (result.units, result.carrying_value_before) == (D("1"), D("100750.00"))
    assert (result.fair_value, result.adjustment, result.lots) == (D("104000.00"), D("3250.00"), 4)
    adjustments = {
        (lot.account.code, lot.quantity): lot.fair_value_adjustment
        for lot in Lot.objects.filter(quantity__gt=0).select_related("account")
    }
    assert adjustments == {
        ("1220-HOT-1", D("0.5")): D("1625.00"),
        ("1220-HOT-1", D("0.1")): D("325.00"),
        ("1300-F2P-A", D("0.15")): D("487.50"),
        ("1300-F2P-A", D("0.25")): D("812.50"),
    }
    assert ledger_selectors.account_balance(account="1290", as_of=JAN[4]).value == D("3250.00")
    assert ledger_selectors.account_balance(account="4100", as_of=JAN[4]).value == D("-3250.00")
    assert result.entry.kind == "fair_value_remeasurement"
    assert LotMovement.objects.filter(kind="remeasurement").count() == 4

    # Idempotent per commodity and date.
    assert fair_value.remeasure(commodity="BTC", as_of=JAN[4]) == result
    assert JournalEntry.objects.filter(kind="fair_value_remeasurement").count() == 1


@pytest.mark.django_db
def test_a_later_remeasurement_takes_carrying_value_to_the_new_fair_value(world):
    mined_and_partly_paid(world)
    fair_value.remeasure(commodity="BTC", as_of=JAN[4])
    later = fair_value.remeasure(commodity="BTC", as_of=JAN[9])
    assert later.carrying_value_before == D("104000.00")
    assert later.fair_value == price_on(JAN[9]) == D("109000.00")
    assert later.adjustment == D("5000.00")
    carrying = sum(lot.carrying_value for lot in Lot.objects.filter(quantity__gt=0))
    assert carrying == D("109000.00")


@pytest.mark.django_db
def test_remeasurement_refuses_dates_it_cannot_measure_exactly(world):
    mined_and_partly_paid(world)
    fair_value.remeasure(commodity="BTC", as_of=JAN[4])
    with pytest.raises(RemeasurementError, match="already remeasured at 2026-01-05"):
        fair_value.remeasure(commodity="BTC", as_of=JAN[3])
    with pytest.raises(MissingPrice, match="no BTC/USD price at 2026-06-02T00:00:00Z"):
        fair_value.remeasure(commodity="BTC", as_of=date(2026, 6, 1))
    with pytest.raises(RemeasurementError, match="USDT is measured at Cost"):
        fair_value.remeasure(commodity="USDT", as_of=JAN[4])
    assert Remeasurement.objects.count() == 1


@pytest.mark.django_db
def test_remeasuring_with_no_lots_records_the_evidence_and_posts_nothing(world):
    result = fair_value.remeasure(commodity="BTC", as_of=JAN[0])
    assert (result.units, result.adjustment, result.entry) == (0, 0, None)
    assert fair_value.remeasure_all(as_of=JAN[1]) == []  # no commodity holds lots


@pytest.mark.django_db
def test_remeasuring_all_at_a_date_leaves_out_a_commodity_whose_lots_came_later(world):
    mined_and_partly_paid(world)
    fair_value.remeasure(commodity="BTC", as_of=JAN[4])
    # A month end before the first lot, as when a year's data is loaded again: nothing to
    # remeasure then, where remeasuring BTC itself is refused (remeasured later already).
    assert fair_value.remeasure_all(as_of=date(2025, 12, 31)) == []
    with pytest.raises(RemeasurementError, match="already remeasured at 2026-01-05"):
        fair_value.remeasure(commodity="BTC", as_of=date(2025, 12, 31))
    assert [r.as_of for r in fair_value.remeasure_all(as_of=JAN[4])] == [JAN[4]]


@pytest.mark.django_db
def test_lots_as_of_a_date_are_summed_from_their_movements(world):
    mined_and_partly_paid(world)
    fair_value.remeasure(commodity="BTC", as_of=JAN[4])
    on_jan_2 = {
        (lot.account.code, lot.held_quantity, lot.held_adjustment)
        for lot in lots.lots(as_of=JAN[1])
    }
    assert on_jan_2 == {("1300-F2P-A", D("0.5"), 0), ("1300-F2P-A", D("0.25"), 0)}
    now = list(lots.lots(account="1220"))
    assert [lot.held_quantity for lot in now] == [D("0.5"), D("0.1")]
    assert lots.lots(as_of=JAN[0] - timedelta(days=1)).count() == 0
