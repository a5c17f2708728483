"""Back-dated fair value remeasurement: a month end remeasured after later movements, the
adjustment following the units that left the lots."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from holdings import chart
from holdings.errors import RemeasurementError
from holdings.models import Lot, LotMovement, LotMovementKind
from holdings.selectors import lots
from holdings.services import fair_value, loans, treasury
from holdings.valuation import allocate, share
from ledger import selectors as ledger_selectors
from ledger import services as ledger_services
from ledger.models import JournalEntry
from tests.holdings.conftest import ADDRESS, f2pool_file, price_on, run_import

D = Decimal
JAN = [date(2026, 1, d) for d in range(1, 32)]
DAYS = [date(2025, 12, 31) + timedelta(days=n) for n in range(40)]


def mined(world, payouts=()) -> None:
    """0.5, 0.25 and 0.25 BTC mined on January 1 to 3, with the payouts given."""
    content = f2pool_file([(JAN[0], "0.5"), (JAN[1], "0.25"), (JAN[2], "0.25")], payouts)
    assert run_import("f2pool", content).status == "succeeded"


def adjustments_as_of(day: date) -> dict[str, Decimal]:
    """The lots' adjustment per adjustment account at the end of `day`."""
    targets = {True: chart.COLLATERAL_ADJUSTMENT, False: chart.FAIR_VALUE_ADJUSTMENT["BTC"]}
    totals: dict[str, Decimal] = {}
    for lot in lots.lots(as_of=day, commodity="BTC", open_only=False):
        target = targets[lot.account.code.startswith(chart.COLLATERAL_RECEIVABLE)]
        totals[target] = totals.get(target, D(0)) + lot.held_adjustment
    return totals


def lots_equal_journal_every_day() -> None:
    """Units and cost per account, and the adjustment per adjustment account, equal the
    ledger at the end of every day, today included."""
    for day in [*DAYS, ledger_selectors.closed_through() or DAYS[-1], date.today()]:
        assert lots.lot_differences(as_of=day) == [], day
        for account in ("1290", "1490"):
            ledger = ledger_selectors.account_balance(account=account, as_of=day).value
            assert ledger == adjustments_as_of(day).get(account, D(0)), (day, account)
    for lot in Lot.objects.all():
        moved = LotMovement.objects.filter(lot=lot)
        assert lot.fair_value_adjustment == sum(m.fair_value_adjustment for m in moved)
        if lot.quantity == 0:
            assert lot.fair_value_adjustment == 0 and lot.cost == 0


def sell(units: str, day: date, reference: str = "S-1"):
    return treasury.sale_record(
        reference=reference,
        wallet="HOT-1",
        units=D(units),
        sold_at=datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=12),
        proceeds_commodity="USD",
        gross_proceeds=(D(units) * price_on(day)).quantize(D("0.01")),
    )


@pytest.mark.django_db
def test_later_production_is_left_out_of_a_back_dated_remeasurement(world):
    mined(world)
    result = fair_value.remeasure(commodity="BTC", as_of=JAN[1])

    # Held at the end of January 2: 0.5 at 100,000 and 0.25 at 101,000.
    assert (result.units, result.carrying_value_before) == (D("0.75"), D("75250.00"))
    assert result.fair_value == D("0.75") * price_on(JAN[1]) == D("75750.00")
    assert result.adjustment == D("500.00") and result.lots == 2
    third = Lot.objects.get(movements__effective_date=JAN[2], movements__kind="open")
    assert third.fair_value_adjustment == 0
    assert sorted(Lot.objects.values_list("fair_value_adjustment", flat=True)) == [
        D(0),
        *sorted(allocate(D("500.00"), [D("0.5"), D("0.25")])),
    ]
    assert JournalEntry.objects.filter(kind="fair_value_remeasurement").count() == 1
    lots_equal_journal_every_day()


@pytest.mark.django_db
def test_a_payout_after_the_date_carries_the_adjustment_into_the_wallet_lots(world):
    mined(world, [(1, datetime(2026, 1, 3, 3, tzinfo=UTC), "0.6", ADDRESS)])
    result = fair_value.remeasure(commodity="BTC", as_of=JAN[1])
    assert result.adjustment == D("500.00")
    first, second = allocate(D("500.00"), [D("0.5"), D("0.25")])

    by_lot = [
        (lot.account.code, lot.original_quantity, lot.fair_value_adjustment)
        for lot in Lot.objects.select_related("account").order_by("pk")
    ]
    moved = share(second, D("0.1"), D("0.25"))
    assert sorted(by_lot) == sorted(
        [
            ("1300-F2P-A", D("0.5"), D(0)),  # paid out whole: its part left with the units
            ("1300-F2P-A", D("0.25"), second - moved),
            ("1300-F2P-A", D("0.25"), D(0)),  # mined on January 3, after the date
            ("1220-HOT-1", D("0.5"), first),
            ("1220-HOT-1", D("0.1"), moved),
        ]
    )
    # One adjustment account: no correcting entry, adjustment-only movements on Jan 3.
    assert JournalEntry.objects.filter(kind="fair_value_remeasurement").count() == 1
    on_payout = LotMovement.objects.filter(
        kind=LotMovementKind.REMEASUREMENT, effective_date=JAN[2]
    )
    assert sorted(m.fair_value_adjustment for m in on_payout) == sorted(
        [-first, first, -moved, moved]
    )
    assert all(m.quantity == 0 and m.cost == 0 for m in on_payout)
    lots_equal_journal_every_day()


@pytest.mark.django_db
def test_a_later_sale_gets_a_correcting_entry_on_its_date(world):
    mined(world, [(1, datetime(2026, 1, 3, 3, tzinfo=UTC), "0.6", ADDRESS)])
    sale = sell("0.55", JAN[5])
    gain_on_sale = ledger_selectors.account_balance(account="4100", as_of=JAN[5]).value
    assert gain_on_sale == sale.gain_on_carrying_value * -1 != 0

    result = fair_value.remeasure(commodity="BTC", as_of=JAN[1])
    first, second = allocate(D("500.00"), [D("0.5"), D("0.25")])
    moved = share(second, D("0.1"), D("0.25"))
    # The sale took the 0.5 lot whole and 0.05 of the 0.1 lot, FIFO.
    sold = first + share(moved, D("0.05"), D("0.1"))
    correction = JournalEntry.objects.get(
        kind="fair_value_remeasurement", effective_date=sale.sold_at.date()
    )
    assert f"#{sale.entry.sequence}" in correction.memo
    lines = {p.account.code: p.value for p in correction.postings.select_related("account")}
    assert lines == {"1290": -sold, "4100": sold}
    assert ledger_selectors.account_balance(account="1290", as_of=JAN[1]).value == D("500.00")
    assert (
        ledger_selectors.account_balance(account="1290", as_of=JAN[5]).value == D("500.00") - sold
    )
    # The gain on the sale's carrying value was overstated by the adjustment it carried.
    gain = ledger_selectors.account_balance(account="4100", as_of=JAN[5]).value
    assert gain == gain_on_sale - result.adjustment + sold
    lots_equal_journal_every_day()

    # Idempotent: a second call changes nothing.
    assert fair_value.remeasure(commodity="BTC", as_of=JAN[1]) == result
    assert JournalEntry.objects.filter(kind="fair_value_remeasurement").count() == 2


@pytest.mark.django_db
def test_a_back_dated_remeasurement_before_a_later_one_is_still_refused(world):
    mined(world, [(1, datetime(2026, 1, 3, 3, tzinfo=UTC), "0.6", ADDRESS)])
    fair_value.remeasure(commodity="BTC", as_of=JAN[4])
    with pytest.raises(RemeasurementError, match="already remeasured at 2026-01-05"):
        fair_value.remeasure(commodity="BTC", as_of=JAN[1])


@pytest.mark.django_db
def test_a_later_cancellation_is_refused_by_name(world, staff_user, approver_user):
    mined(world, [(1, datetime(2026, 1, 3, 3, tzinfo=UTC), "0.6", ADDRESS)])
    sale = sell("0.2", JAN[5])
    requested, _ = ledger_services.cancellation_request(
        entry=sale.entry, reason="never settled", by=staff_user
    )
    ledger_services.cancellation_approve(cancellation=requested, by=approver_user)
    reversing = f"a cancellation reversing entry #{sale.entry.pk}"
    with pytest.raises(RemeasurementError, match=reversing):
        fair_value.remeasure(commodity="BTC", as_of=JAN[1])
    assert not JournalEntry.objects.filter(kind="fair_value_remeasurement").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_lots_equal_the_journal_on_every_day_whatever_moves_later(world, seed):
    """Random payouts, transfers with fees and sales after a month end, then the month end
    remeasured, then a later month end: lots equal the journal every day."""
    pick = random.Random(seed)
    earnings = [(JAN[n], str(D(pick.randint(5, 60)) / 100)) for n in range(0, 20)]
    paid = [
        (10 + n, datetime(2026, 1, day, 6, tzinfo=UTC), str(D(pick.randint(20, 60)) / 100), ADDRESS)
        for n, day in enumerate(sorted(pick.sample(range(3, 21), 4)))
    ]
    content = f2pool_file(earnings, paid)
    assert run_import("f2pool", content).status == "succeeded"
    for n, day in enumerate(sorted(pick.sample(range(12, 25), 4))):
        held = ledger_selectors.account_balance(account="1220", as_of=JAN[day - 1]).quantity
        units = (held * D(pick.randint(10, 60)) / 100).quantize(D("0.00000001"))
        if units <= D("0.001"):
            continue
        when = datetime(2026, 1, day, 9 + n, tzinfo=UTC)
        if pick.random() < 0.5:
            treasury.transfer_record(
                txid=f"{seed:02x}{n:02x}" * 16,
                from_wallet="HOT-1",
                to_wallet="COLD-1",
                units=units,
                sent_at=when,
                fee_units=D("0.0001"),
            )
        else:
            sell(str(units), JAN[day - 1], reference=f"P-{seed}-{n}")
    fair_value.remeasure(commodity="BTC", as_of=JAN[9])
    lots_equal_journal_every_day()
    fair_value.remeasure(commodity="BTC", as_of=JAN[30])
    lots_equal_journal_every_day()
    carrying = sum(lot.carrying_value for lot in Lot.objects.filter(quantity__gt=0))
    held = sum(lot.quantity for lot in Lot.objects.filter(quantity__gt=0))
    assert carrying == (held * price_on(JAN[30])).quantize(D("0.01"))


@pytest.mark.django_db
def test_collateral_lent_after_the_date_takes_its_adjustment_to_1490_and_back(world):
    mined(world, [(1, datetime(2026, 1, 3, 3, tzinfo=UTC), "0.6", ADDRESS)])
    loan = loans.loan_create(
        code="L-1",
        lender="Lender Ltd",
        principal_commodity="USD",
        annual_rate=D("0.10"),
        day_count="ACT/365",
        start_date=JAN[0],
        maturity_date=date(2026, 6, 30),
        warning_ltv=D("0.60"),
        margin_call_ltv=D("0.70"),
        liquidation_ltv=D("0.80"),
    )
    loans.loan_pledge(
        loan=loan, units=D("0.55"), from_wallet="HOT-1", on=JAN[5], control="transferred"
    )
    loans.loan_release(
        loan=loan, units=D("0.2"), to_wallet="COLD-1", on=JAN[7], control="transferred"
    )

    fair_value.remeasure(commodity="BTC", as_of=JAN[1])
    first, second = allocate(D("500.00"), [D("0.5"), D("0.25")])
    moved = share(second, D("0.1"), D("0.25"))
    lent = first + share(moved, D("0.05"), D("0.1"))
    pledge_fix = JournalEntry.objects.get(kind="fair_value_remeasurement", effective_date=JAN[5])
    lines = {p.account.code: p.value for p in pledge_fix.postings.select_related("account")}
    assert lines == {"1290": -lent, "1490": lent}
    # The release took 0.2 of the 0.5 lot back (FIFO): its share of the 1490 part returns.
    back = share(first, D("0.2"), D("0.5"))
    release_fix = JournalEntry.objects.get(kind="fair_value_remeasurement", effective_date=JAN[7])
    lines = {p.account.code: p.value for p in release_fix.postings.select_related("account")}
    assert lines == {"1490": -back, "1290": back}
    lots_equal_journal_every_day()
