"""Loans: interest by day count, repayment allocation, collateral and LTV tier crossings."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from holdings.errors import HoldingsError
from holdings.models import Loan, LoanEvent, LoanEventKind
from holdings.selectors import loans as loans_selectors
from holdings.selectors import lots
from holdings.services import fair_value, loan_ltv, loans, prices, setup
from ledger import selectors as ledger_selectors
from ledger.models import JournalEntry
from tests.holdings.services.test_treasury import OPENING

D = Decimal


def make_loan(
    code: str = "L-1",
    *,
    day_count: str = "ACT/365",
    start=date(2028, 2, 27),
    maturity=date(2028, 3, 31),
    principal: str = "USD",
) -> Loan:
    return loans.loan_create(
        code=code,
        lender="Lender Ltd",
        principal_commodity=principal,
        annual_rate=D("0.10"),
        day_count=day_count,
        start_date=start,
        maturity_date=maturity,
        warning_ltv=D("0.60"),
        margin_call_ltv=D("0.70"),
        liquidation_ltv=D("0.80"),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("day_count", "daily"), [("ACT/365", "273.97"), ("ACT/360", "277.78")])
def test_interest_accrues_daily_by_day_count_across_a_leap_day_and_a_month_end(
    chart, settings, day_count, daily
):
    settings.POSTING_HORIZON_DAYS = 3660  # the next leap day lies past the default horizon
    loan = make_loan(day_count=day_count)
    loans.loan_draw(loan=loan, amount=D("1000000.00"), on=date(2028, 2, 27))
    events = loans.loan_accrue_through(loan=loan, through=date(2028, 3, 2))

    assert [e.effective_date.day for e in events] == [27, 28, 29, 1, 2]
    assert {e.amount for e in events} == {D(daily)}
    interest = ledger_selectors.account_balance(
        account=loan.interest_account, as_of=date(2028, 3, 2)
    )
    assert interest.quantity == -5 * D(daily)
    # Once per loan and day.
    assert loans.loan_accrue_through(loan=loan, through=date(2028, 3, 2)) == []
    assert loans.loan_accrue(loan=loan, on=date(2028, 2, 29)) == events[2]
    assert JournalEntry.objects.filter(kind="loan_interest").count() == 5


@pytest.mark.django_db
def test_a_repayment_pays_interest_first_then_principal(chart, settings):
    settings.POSTING_HORIZON_DAYS = 3660  # the loan's days lie past the default horizon
    loan = make_loan()
    loans.loan_draw(loan=loan, amount=D("1000000.00"), on=date(2028, 2, 27))
    loans.loan_accrue_through(loan=loan, through=date(2028, 3, 2))  # 1,369.85 of interest

    # The day after the last accrual (one dated under it is refused: AccruedDay).
    event = loans.loan_repay(loan=loan, amount=D("1500.00"), on=date(2028, 3, 3))

    assert event.details == {"interest": "1369.85", "principal": "130.15"}
    status = loans_selectors.loan_status(loan=loan, as_of=date(2028, 3, 3))
    assert (status.principal, status.interest) == (D("999869.85"), D("0"))
    with pytest.raises(HoldingsError, match="exceeds what loan L-1 owes"):
        loans.loan_repay(loan=loan, amount=D("1000000.00"), on=date(2028, 3, 3))


@pytest.mark.django_db
def test_each_ltv_tier_crossing_is_recorded_once(world):
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))

    def tiers() -> list[str]:
        return [e.details["tier"] for e in loan.events.filter(kind=LoanEventKind.TIER)]

    # Collateral first, then the draw: 3 BTC at 100,000 against 150,000.00, LTV 0.5000.
    loans.loan_pledge(loan=loan, units=D("3"), from_wallet="COLD-1", on=date(2026, 1, 1))
    loans.loan_draw(loan=loan, amount=D("150000.00"), on=date(2026, 1, 1))
    assert tiers() == []
    assert loans_selectors.loan_status(loan=loan, as_of=date(2026, 1, 1)).ltv == D("0.5000")
    # 2 BTC at 102,000: 0.7353, margin call.
    loans.loan_release(loan=loan, units=D("1"), to_wallet="COLD-1", on=date(2026, 1, 3))
    assert tiers() == ["margin_call"]
    assert loan_ltv.loan_check_ltv(loan=loan, as_of=date(2026, 1, 3)) is None
    # 1.9 BTC at 103,000: 0.7665, still a margin call: nothing new.
    loans.loan_release(loan=loan, units=D("0.1"), to_wallet="COLD-1", on=date(2026, 1, 4))
    assert tiers() == ["margin_call"]
    # Topped up to 2.9 BTC at 104,000: 0.4973, back to ok.
    top_up = loans.loan_pledge(loan=loan, units=D("1"), from_wallet="COLD-1", on=date(2026, 1, 5))
    assert top_up.details["top_up"] is True
    assert tiers() == ["margin_call", "ok"]
    # Checking an earlier day again (a reload, a late price) compares with that day's tier.
    assert loan_ltv.loan_check_ltv(loan=loan, as_of=date(2026, 1, 4)) is None
    assert tiers() == ["margin_call", "ok"]
    status = loans_selectors.loan_status(loan=loan, as_of=date(2026, 1, 5))
    assert (status.collateral_units, status.ltv, status.tier) == (D("2.9"), D("0.4973"), "ok")
    assert ledger_selectors.account_balance(account="1230", as_of=date(2026, 1, 5)).quantity == (
        D("2.9")
    )
    assert lots.lot_differences(as_of=date(2026, 1, 5)) == []


@pytest.mark.django_db
def test_collateral_whose_control_passes_takes_its_fair_value_adjustment_to_1490(world):
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    fair_value.remeasure(commodity="BTC", as_of=date(2025, 12, 31))  # +2,333.33 on lot A
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))
    loans.loan_draw(loan=loan, amount=D("50000.00"), on=date(2026, 1, 1))

    loans.loan_pledge(
        loan=loan, units=D("1"), from_wallet="COLD-1", on=date(2026, 1, 2), control="transferred"
    )

    balance = ledger_selectors.account_balance
    assert balance(account="1400-L-1", as_of=date(2026, 1, 2)).quantity == D("1")
    assert balance(account="1490", as_of=date(2026, 1, 2)).value == D("2333.33")
    assert balance(account="1290", as_of=date(2026, 1, 2)).value == D("4666.67")
    # The next remeasurement measures the receivable into 1490.
    fair_value.remeasure(commodity="BTC", as_of=date(2026, 1, 2))
    assert balance(account="1490", as_of=date(2026, 1, 2)).value == D("101000.00") - D("80000")
    assert LoanEvent.objects.filter(kind="pledge").get().details["control"] == "transferred"


@pytest.mark.django_db
def test_a_liquidation_disposes_of_collateral_and_settles_interest_first(world):
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))
    loans.loan_draw(loan=loan, amount=D("150000.00"), on=date(2026, 1, 1))
    loans.loan_pledge(loan=loan, units=D("3"), from_wallet="COLD-1", on=date(2026, 1, 2))
    loans.loan_accrue_through(loan=loan, through=date(2026, 1, 3))  # 3 x 41.10 = 123.30

    # The day after the last accrual (one dated under it is refused: AccruedDay).
    event = loans.loan_liquidate(
        loan=loan, units=D("1"), proceeds=D("90000.00"), on=date(2026, 1, 4)
    )

    assert event.details["interest"] == "123.30"
    assert event.details["principal"] == "89876.70"
    # Lot A (1 BTC at cost 80,000.00) sold for 90,000.00: 10,000.00 to 4100.
    assert event.details["gain_on_carrying_value"] == "10000.00"
    [disposal] = event.entry.disposals.all()
    assert (disposal.units, disposal.cost, disposal.proceeds) == (
        D("1"),
        D("80000.00"),
        D("90000.00"),
    )
    status = loans_selectors.loan_status(loan=loan, as_of=date(2026, 1, 4))
    assert (status.principal, status.interest, status.collateral_units) == (
        D("60123.30"),
        D("0"),
        D("2"),
    )
    assert lots.lot_differences(as_of=date(2026, 1, 4)) == []
    assert ledger_selectors.trial_balance(as_of=date(2026, 1, 4)).total_value == 0


@pytest.mark.django_db
def test_the_nightly_jobs_accrue_and_a_price_import_rechecks_ltv(
    world, django_capture_on_commit_callbacks
):
    from holdings.importers.records import PriceQuote
    from holdings.tasks import accrue_interest, check_ltv

    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))
    loans.loan_pledge(loan=loan, units=D("3"), from_wallet="COLD-1", on=date(2026, 1, 1))
    loans.loan_draw(loan=loan, amount=D("150000.00"), on=date(2026, 1, 1))

    assert accrue_interest.apply(kwargs={"day": "2026-01-04"}).get()["accruals"] == 4
    assert check_ltv.apply(kwargs={"day": "2026-01-04"}).get()["crossings"] == []
    # BTC falls to 60,000 for 2026-03-01: 180,000 of collateral, LTV 0.8338.
    from datetime import UTC, datetime

    with django_capture_on_commit_callbacks(execute=True):
        prices.prices_import(
            quotes=[
                PriceQuote(datetime(2026, 3, 2, tzinfo=UTC), "BTC", "USD", D("60000"), "test", 1)
            ]
        )
    [crossing] = loan.events.filter(kind=LoanEventKind.TIER)
    assert crossing.details["tier"] == "liquidation" and crossing.effective_date == date(2026, 3, 1)


@pytest.mark.django_db
def test_a_draw_against_no_collateral_stands_at_the_liquidation_tier(world):
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))
    loans.loan_draw(loan=loan, amount=D("150000.00"), on=date(2026, 1, 1))
    status = loans_selectors.loan_status(loan=loan, as_of=date(2026, 1, 1))
    assert (status.collateral_units, status.ltv, status.tier) == (0, None, "liquidation")
    [crossing] = loan.events.filter(kind=LoanEventKind.TIER)
    assert crossing.details == {"tier": "liquidation", "previous": "ok", "ltv": None, "price": None}


@pytest.mark.django_db
def test_events_settled_together_check_ltv_once_at_the_end(world):
    """Collateral released to be sold and the loan repaid the same day: no tier in between."""
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))
    loans.loan_pledge(loan=loan, units=D("3"), from_wallet="COLD-1", on=date(2026, 1, 1))
    loans.loan_draw(loan=loan, amount=D("150000.00"), on=date(2026, 1, 1))

    with loan_ltv.settlement():
        loans.loan_release(loan=loan, units=D("2"), to_wallet="COLD-1", on=date(2026, 1, 2))
        # 1 BTC at 101,000 against 150,000.00 would be a liquidation, were it checked now.
        assert not loan.events.filter(kind=LoanEventKind.TIER).exists()
        loans.loan_repay(loan=loan, amount=D("100000.00"), on=date(2026, 1, 2), from_wallet=None)

    # Checked once, at the end: 50,000.00 against 101,000.00 is 0.4950, still ok.
    assert not loan.events.filter(kind=LoanEventKind.TIER).exists()
    assert loans_selectors.loan_status(loan=loan, as_of=date(2026, 1, 2)).ltv == D("0.4950")
    # Had it stood at a tier at the end, that is recorded once.
    with loan_ltv.settlement():
        loans.loan_release(loan=loan, units=D("0.3"), to_wallet="COLD-1", on=date(2026, 1, 3))
    assert [e.details["tier"] for e in loan.events.filter(kind=LoanEventKind.TIER)] == [
        "margin_call"
    ]


@pytest.mark.django_db
def test_a_settlement_that_fails_writes_nothing(world):
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))
    loans.loan_pledge(loan=loan, units=D("3"), from_wallet="COLD-1", on=date(2026, 1, 1))
    before = LoanEvent.objects.count()
    with pytest.raises(HoldingsError), loan_ltv.settlement():
        loans.loan_release(loan=loan, units=D("1"), to_wallet="COLD-1", on=date(2026, 1, 2))
        loans.loan_repay(loan=loan, amount=D("1.00"), on=date(2026, 1, 2))
    assert LoanEvent.objects.count() == before


@pytest.mark.django_db
def test_a_loan_against_kas_collateral_has_its_own_accounts_ltv_and_roll_forward(world):
    """KAS pledged with control retained (1231) then lent (1401, its adjustment in 1491):
    valued at the KAS price, remeasured with it, and no BTC account involved."""
    from datetime import UTC, datetime, timedelta

    from holdings.importers.records import PriceQuote
    from holdings.selectors import reports

    start = datetime(2026, 1, 1, tzinfo=UTC)
    quotes = [
        PriceQuote(start + timedelta(days=n), "KAS", "USD", D("0.05"), "test-close", n + 1)
        for n in range(40)
    ]
    prices.prices_import(quotes=quotes, file_name="kas")
    setup.wallet_create(code="KAS-1", name="KAS", commodity="KAS")
    setup.opening_lots_load(
        as_of=date(2025, 12, 30),
        rows=[
            {
                "wallet": "KAS-1",
                "acquired_at": "2025-06-01T10:00:00Z",
                "quantity": "2000000",
                "cost_usd": "90000.00",
            }
        ],
    )
    loan = loans.loan_create(
        code="L-KAS",
        lender="Lender Ltd",
        principal_commodity="USD",
        annual_rate=D("0.10"),
        day_count="ACT/365",
        start_date=date(2026, 1, 2),
        maturity_date=date(2026, 12, 31),
        warning_ltv=D("0.60"),
        margin_call_ltv=D("0.70"),
        liquidation_ltv=D("0.80"),
        collateral_commodity="KAS",
    )
    assert (loan.pledged_account.code, loan.lent_account.code) == ("1231-L-KAS", "1401-L-KAS")
    loans.loan_pledge(loan=loan, units=D("1500000"), from_wallet="KAS-1", on=date(2026, 1, 2))
    loans.loan_pledge(
        loan=loan,
        units=D("500000"),
        from_wallet="KAS-1",
        on=date(2026, 1, 2),
        control=loans.TRANSFERRED,
    )
    loans.loan_draw(loan=loan, amount=D("50000.00"), on=date(2026, 1, 2))
    status = loans_selectors.loan_status(loan=loan, as_of=date(2026, 1, 2))
    # 50,000.00 (no interest accrued yet) against 2,000,000 KAS at 0.05.
    assert (status.collateral_units, status.collateral_value) == (D("2000000"), D("100000.00"))
    assert status.ltv == D("0.5000")
    result = fair_value.remeasure(commodity="KAS", as_of=date(2026, 1, 31))
    assert result.adjustment == D("10000.00")  # 90,000.00 at cost to 100,000.00
    balance = ledger_selectors.account_balance
    assert balance(account="1491", as_of=date(2026, 1, 31)).value == D("2500.00")
    assert balance(account="1490", as_of=date(2026, 1, 31)).value == 0  # BTC's untouched
    assert lots.lot_differences(as_of=date(2026, 1, 31)) == []
    roll = reports.rollforward(commodity="KAS", start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert roll.ties_to_trial_balance
    assert roll.adjustment_accounts == ["1291", "1491"]
    restricted = roll.line("restricted.closing")
    assert restricted.units == D("1500000") and "(1231)" in restricted.label
    lent = roll.line("collateral_receivable.closing")
    assert lent.units == D("500000") and "(1401, 1491)" in lent.label
    with pytest.raises(HoldingsError, match="collateral is one of BTC, KAS, ETC"):
        loans.loan_create(
            code="L-USDT",
            lender="Lender Ltd",
            principal_commodity="USD",
            annual_rate=D("0.10"),
            day_count="ACT/365",
            start_date=date(2026, 1, 2),
            maturity_date=date(2026, 12, 31),
            warning_ltv=D("0.60"),
            margin_call_ltv=D("0.70"),
            liquidation_ltv=D("0.80"),
            collateral_commodity="USDT",
        )


@pytest.mark.django_db(transaction=True)
def test_two_checks_of_one_day_at_once_record_the_crossing_once(world, monkeypatch):
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))
    # Pledged and drawn unchecked: 2 BTC at 100,000 against 150,000.00 is a margin call
    # no check has recorded yet.
    with monkeypatch.context() as unchecked:
        unchecked.setattr(loans, "balances_changed", lambda loan, on: None)
        loans.loan_pledge(loan=loan, units=D("2"), from_wallet="COLD-1", on=date(2026, 1, 1))
        loans.loan_draw(loan=loan, amount=D("150000.00"), on=date(2026, 1, 1))
    assert not loan.events.filter(kind=LoanEventKind.TIER).exists()

    # Both checks work out the tier before either records it (the nightly check and the
    # one after a price import, overlapping).
    barrier = threading.Barrier(2, timeout=30)
    status_of = loan_ltv.loan_status

    def at_once(**kwargs):
        status = status_of(**kwargs)
        barrier.wait()
        return status

    monkeypatch.setattr(loan_ltv, "loan_status", at_once)
    recorded: list[object] = []

    def check() -> None:
        try:
            recorded.append(loan_ltv.loan_check_ltv(loan=loan, as_of=date(2026, 1, 1)))
        finally:
            connection.close()

    threads = [threading.Thread(target=check) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(event is None for event in recorded) == [False, True]
    tiers = loan.events.filter(kind=LoanEventKind.TIER)
    assert [event.details["tier"] for event in tiers] == ["margin_call"]
