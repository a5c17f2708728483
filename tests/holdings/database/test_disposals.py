"""What PostgreSQL refuses of the disposal records, whoever writes: per entry and lot, the
units, cost and carrying value its lot movements relieved, and a gain of proceeds less cost."""

from __future__ import annotations

import pytest
from django.db import IntegrityError

from holdings import chart
from holdings.models import Disposal, Lot, LotMovement
from ledger.models import Account, JournalEntry
from tests.holdings.database.test_rules import entry_sql, execute, run_together

# The imported earning's lot was acquired at the end of its day, on 2026-01-02 (UTC).
LOT_DAY = "2026-01-02"


def disposal_sql(entry_id: int, lot: Lot, units: str, cost: str, proceeds: str, gain: str) -> str:
    """A record dated LOT_DAY, held 0 days."""
    return (
        "INSERT INTO holdings_disposal (lot_id, entry_id, disposed_on, units, cost,"
        " carrying_value, proceeds, realized_gain, days_held, method, created_at) VALUES"
        f" ({lot.pk}, {entry_id}, '{LOT_DAY}', {units}, {cost}, {cost}, {proceeds}, {gain}, 0,"
        " 'fifo', now())"
    )


def entry_of_the_lots_day(income: Account) -> JournalEntry:
    """An entry of LOT_DAY that moves no lot: a dollar of fees out of the mining income."""
    fees = Account.objects.get(code=chart.NETWORK_FEES)
    execute(
        entry_sql(LOT_DAY, [(fees.pk, "USD", 2, "1.00", "1.00"), (income.pk, "USD", 2, "-1", "-1")])
    )
    return JournalEntry.objects.latest("id")


@pytest.mark.django_db
def test_a_disposal_record_no_lot_movement_relieved_is_refused(earning):
    """A sale's record added to an entry that disposed of nothing: a realized gain the lots
    never gave."""
    _earning, _receivable, income = earning
    entry = entry_of_the_lots_day(income)
    lot = Lot.objects.get()
    with pytest.raises(
        IntegrityError,
        match=r"holdings_disposal_matches_lots: entry #\d+ of 2026-01-02 records the disposal of "
        r"0\.1 BTC of lot \d+ at a cost of 10000\.00 USD and a carrying value of 10000\.00, but "
        r"its lot movements dispose of 0 at a cost of 0 and a carrying value of 0",
    ):
        execute(disposal_sql(entry.pk, lot, "0.1", "10000.00", "12000.00", "2000.00"))
    assert not Disposal.objects.exists()


@pytest.mark.django_db
def test_a_disposal_records_gain_is_its_proceeds_less_its_cost(earning):
    entry = entry_of_the_lots_day(earning[2])
    lot = Lot.objects.get()
    with pytest.raises(
        IntegrityError,
        match=r"holdings_disposal_matches_lots: .* whose realized gain is not its proceeds less",
    ):
        execute(disposal_sql(entry.pk, lot, "0.1", "10000.00", "12000.00", "5000.00"))
    assert not Disposal.objects.exists()


@pytest.mark.django_db
def test_a_disposal_of_a_lot_at_fair_value_has_its_record(earning):
    """Units disposed of with no record, the entry and the lot otherwise in order: gone from
    the lots and missing from the realized gains."""
    _entry, receivable, _income = earning
    lot = Lot.objects.get()
    fees = Account.objects.get(code=chart.NETWORK_FEES)
    movements = LotMovement.objects.count()
    disposed = [
        entry_sql(
            "2026-01-02",
            [(receivable.pk, "BTC", 8, "-0.1", "-10000.00"), (fees.pk, "USD", 2, "10000", "10000")],
        ),
        f"UPDATE holdings_lot SET quantity = quantity - 0.1, cost = cost - 10000 WHERE id={lot.pk}",
        "INSERT INTO holdings_lotmovement (lot_id, entry_id, effective_date, kind, quantity, cost,"
        f" fair_value_adjustment, created_at) SELECT {lot.pk}, max(id), '2026-01-02', 'disposal',"
        " -0.1, -10000.00, 0, now() FROM ledger_journalentry",
    ]
    with pytest.raises(
        IntegrityError,
        match=r"holdings_disposal_matches_lots: .* records the disposal of 0 BTC .* but its lot "
        r"movements dispose of 0\.1",
    ):
        run_together(disposed)
    assert LotMovement.objects.count() == movements
