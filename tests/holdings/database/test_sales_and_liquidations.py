"""What PostgreSQL refuses at commit of a sale's entry that is not what the sale makes of
each account, and of a liquidation whose disposal records claim other proceeds than its entry
settles. A writer gone wrong is played by the services with their postings or proceeds altered
on the way to the database."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError

from holdings import chart, migrations
from holdings.selectors import treasury as treasury_selectors
from holdings.services import loans, setup, treasury
from ledger.models import AccountType, JournalEntry
from ledger.services import PostingInput, account_create
from tests.holdings.database.test_disposal_records import at_commit, behind_the_triggers
from tests.holdings.services.test_loans import OPENING as LOAN_OPENING
from tests.holdings.services.test_loans import make_loan
from tests.holdings.services.test_treasury import holdings_at_fair_value, sell

D = Decimal


def postings_written_as(monkeypatch, change) -> None:
    """The sale's postings pass through `change` on their way to the journal."""
    plan_postings = treasury._sale_postings
    monkeypatch.setattr(treasury, "_sale_postings", lambda plan: change(plan_postings(plan)))


def posting(account: str, value: Decimal) -> PostingInput:
    return PostingInput(account, value, value)


@pytest.mark.django_db
def test_a_sales_fee_is_posted_to_the_trading_fees(world, monkeypatch):
    """The venue's fee booked as a network fee: the entry balances, the lots agree."""
    holdings_at_fair_value()
    postings_written_as(
        monkeypatch,
        lambda postings: [
            dataclasses.replace(p, account=chart.NETWORK_FEES)
            if p.account == chart.TRADING_FEES
            else p
            for p in postings
        ],
    )
    sell()
    with pytest.raises(
        IntegrityError,
        match=r"holdings_sale_matches_its_entry: sale T-1 \(entry #\d+ of 2026-01-10\) posts "
        r"nothing to account 5100, but its entry posts 150\.00 at a value of 150\.00 USD there",
    ):
        at_commit()


@pytest.mark.django_db
def test_a_sales_gain_on_carrying_value_is_posted_to_4100(world, monkeypatch):
    """A hundred dollars of the gain taken as mining revenue instead."""

    def to_revenue(postings):
        result = []
        for line in postings:
            if line.account == chart.FAIR_VALUE_GAIN:
                result.append(posting(chart.FAIR_VALUE_GAIN, line.value + D("100.00")))
                result.append(posting("4000", D("-100.00")))
            else:
                result.append(line)
        return result

    holdings_at_fair_value()
    postings_written_as(monkeypatch, to_revenue)
    sell()
    with pytest.raises(
        IntegrityError,
        match=r"holdings_sale_matches_its_entry: sale T-1 \(entry #\d+ of 2026-01-10\) posts "
        r"nothing to account 4000, but its entry posts -100\.00 at a value of -100\.00 USD",
    ):
        at_commit()


@pytest.mark.django_db
def test_a_sales_proceeds_are_posted_to_its_proceeds_account(world, monkeypatch):
    """Dollar proceeds into another cash account than the sale names."""
    holdings_at_fair_value()
    bank = account_create(
        code="1000-2", name="Second bank", type=AccountType.ASSET, commodity="USD"
    )

    def elsewhere(postings):
        return [
            dataclasses.replace(p, account=bank)
            if getattr(p.account, "commodity_id", None) == "USD"
            else p
            for p in postings
        ]

    postings_written_as(monkeypatch, elsewhere)
    sell(proceeds_commodity="USD", gross_proceeds=D("150000.00"), proceeds_wallet=None)
    with pytest.raises(
        IntegrityError,
        match=r"holdings_sale_matches_its_entry: sale T-1 \(entry #\d+ of 2026-01-10\) posts "
        r"the net proceeds, 149850\.00 at a value of 149850\.00 USD, to account 1000, but "
        r"its entry posts 0 at a value of 0 there",
    ):
        at_commit()


@pytest.mark.django_db
def test_sales_as_the_service_writes_them_pass(world):
    """With a fee and without, for USDT and for dollars, from BTC measured at fair value."""
    holdings_at_fair_value()
    sell()
    sell(
        "T-2",
        units=D("0.5"),
        proceeds_commodity="USD",
        gross_proceeds=D("50000.00"),
        fee=D("0"),
        proceeds_wallet=None,
        proceeds_value=None,
    )
    at_commit()
    assert JournalEntry.objects.filter(kind="sale").count() == 2


def liquidate(**changes):
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=LOAN_OPENING)
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))
    loans.loan_draw(loan=loan, amount=D("150000.00"), on=date(2026, 1, 1))
    loans.loan_pledge(loan=loan, units=D("3"), from_wallet="COLD-1", on=date(2026, 1, 2))
    return loans.loan_liquidate(
        loan=loan, units=D("1.5"), proceeds=D("135000.00"), on=date(2026, 1, 4)
    )


@pytest.mark.django_db
def test_a_liquidations_records_claim_the_proceeds_its_entry_settles(world, monkeypatch):
    """A dollar more proceeds, and gain, on one lot relieved: each record in order with its
    lot movements, their proceeds no longer what the loan was settled by."""
    split = loans.allocate

    def richer(total, weights):
        parts = split(total, weights)
        return [parts[0] + D("1.00"), *parts[1:]]

    monkeypatch.setattr(loans, "allocate", richer)
    liquidate()
    with pytest.raises(
        IntegrityError,
        match=r"holdings_liquidation_matches_disposals: the liquidation of 1\.5 units \(entry "
        r"#\d+ of 2026-01-04\) settles 135000\.00 USD of the loan, but its disposal records "
        r"relieve 1\.5 units for proceeds of 135001\.00",
    ):
        at_commit()


@pytest.mark.django_db
def test_a_liquidation_as_the_service_writes_it_passes(world):
    event = liquidate()
    at_commit()
    assert sum(d.proceeds for d in event.entry.disposals.all()) == D("135000.00")


def test_the_sales_rule_reads_the_charts_own_codes():
    """The migration names the accounts holdings/chart.py names for a sale's fee and gain."""
    sql = (
        Path(migrations.__file__)
        .with_name("0045_sales_and_liquidations_match_their_entries.sql")
        .read_text()
    )
    assert re.findall(r"code = '(\d+)'", sql) == [chart.TRADING_FEES, chart.FAIR_VALUE_GAIN]


THOUSAND = D("1000.00")


def shifted(split, amount=THOUSAND):
    """`allocate` giving `amount` of the first lot's share to the last: the sum kept."""

    def unfair(total, weights):
        parts = split(total, weights)
        return [parts[0] - amount, *parts[1:-1], parts[-1] + amount]

    return unfair


@pytest.mark.django_db
def test_a_sales_proceeds_are_shared_among_its_lots_by_units(world, monkeypatch):
    holdings_at_fair_value()
    monkeypatch.setattr(treasury, "allocate", shifted(treasury.allocate))
    sale = sell()
    first = sale.disposals.order_by("id").first()
    assert sale.disposals.count() > 1
    with pytest.raises(
        IntegrityError,
        match=rf"holdings_disposals_share_proceeds_by_units: disposal record {first.pk} \(entry "
        rf"#{sale.entry.sequence} of 2026-01-10\) relieves 1 of the 1\.5 units from lot "
        rf"{first.lot_id} for proceeds of 99000\.00 USD, but its share by units of the "
        rf"150000\.00 proceeds is 100000\.0000\n",
    ):
        at_commit()


@pytest.mark.django_db
def test_a_cent_either_way_is_a_share(world, monkeypatch):
    """Largest remainder rounds each share up or down to a cent: a cent off is still fair."""
    holdings_at_fair_value()
    monkeypatch.setattr(treasury, "allocate", shifted(treasury.allocate, D("0.01")))
    sell()
    at_commit()


@pytest.mark.django_db
def test_a_liquidations_proceeds_are_shared_among_its_lots_by_units(world, monkeypatch):
    monkeypatch.setattr(loans, "allocate", shifted(loans.allocate))
    event = liquidate()
    assert event.entry.disposals.count() > 1
    with pytest.raises(
        IntegrityError, match=r"holdings_disposals_share_proceeds_by_units: disposal record \d+"
    ):
        at_commit()


@pytest.mark.django_db
def test_the_nightly_check_names_a_record_off_its_share(world):
    holdings_at_fair_value()
    sale = sell()
    first, *_, last = sale.disposals.order_by("id")
    assert treasury_selectors.treasury_breaks() == []
    behind_the_triggers(
        f"UPDATE holdings_disposal SET proceeds = proceeds - 1000, "
        f"realized_gain = realized_gain - 1000 WHERE id = {first.pk}"
    )
    behind_the_triggers(
        f"UPDATE holdings_disposal SET proceeds = proceeds + 1000, "
        f"realized_gain = realized_gain + 1000 WHERE id = {last.pk}"
    )
    found = treasury_selectors.treasury_breaks()
    assert [(b.subject_type, b.subject, b.entry_sequence) for b in found] == [
        ("disposal", str(first.pk), sale.entry.sequence),
        ("disposal", str(last.pk), sale.entry.sequence),
    ]
    assert found[0].detail == (
        f"relieves 1 of the 1.5 units from lot {first.lot_id} for proceeds of 99000.00, but its "
        "share by units of the 150000.00 proceeds is 100000.0000"
    )
