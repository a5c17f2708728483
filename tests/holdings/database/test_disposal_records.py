"""What PostgreSQL refuses of a disposal record beyond its lot movements, whoever writes it:
a record of no units, a record dated off its entry's day or counting other days held than its
lot's, a record of another document than its entry's, a fee sold for something, a mirror that
is not its original turned round, and a sale or a transfer's fee its records do not add up to.

A writer gone wrong is played by the services with their records altered on the way to the
database; raw SQL by `execute`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from holdings.models import Disposal, DisposalTotal, Lot, Sale, Transfer
from holdings.selectors import treasury as treasury_selectors
from holdings.selectors.treasury import TreasuryBreak
from holdings.services import setup, treasury
from holdings.services.reconciliation import reconcile
from ledger import services as ledger_services
from ledger.models import JournalEntry
from tests.holdings.database.test_disposals import disposal_sql, entry_of_the_lots_day
from tests.holdings.database.test_rules import execute
from tests.holdings.services.test_treasury import holdings_at_fair_value, sell

D = Decimal


def records_written_as(monkeypatch, change: Callable[[list[Disposal]], None]) -> None:
    """Every disposal record the services write from now on passes through `change`."""
    write = Disposal.objects.bulk_create

    def altered(records, *args, **kwargs):
        records = list(records)
        change(records)
        return write(records, *args, **kwargs)

    monkeypatch.setattr(Disposal.objects, "bulk_create", altered)


def at_commit() -> None:
    """Fire the checks PostgreSQL defers to commit (the test's transaction never commits),
    then defer them again, as a new transaction would."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def first(change: Callable[[Disposal], None]) -> Callable[[list[Disposal]], None]:
    return lambda records: change(records[0])


def nothing_written() -> None:
    assert not Sale.objects.exists() and not Disposal.objects.exists()
    assert not DisposalTotal.objects.filter(disposals__gt=0).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("units", "cost", "proceeds", "gain"),
    [
        # A gain of 12,000.00 for nothing sold: the sums of 0043 do not move.
        ("0", "0", "12000.00", "12000.00"),
        ("-0.1", "-10000.00", "-12000.00", "-2000.00"),
        ("0.1", "10000.00", "-12000.00", "-22000.00"),
    ],
)
def test_a_record_relieves_units_at_a_cost_and_proceeds_of_their_sign(
    earning, units, cost, proceeds, gain
):
    entry = entry_of_the_lots_day(earning[2])
    with pytest.raises(IntegrityError, match="holdings_disposal_signed"):
        execute(disposal_sql(entry.pk, Lot.objects.get(), units, cost, proceeds, gain))
    assert not Disposal.objects.exists()


@pytest.mark.django_db
def test_a_record_is_dated_its_entrys_day(world, monkeypatch):
    """A day later, the gain would fall in another period of the realized gains."""
    holdings_at_fair_value()
    records_written_as(monkeypatch, first(lambda r: setattr(r, "disposed_on", date(2026, 1, 11))))
    with pytest.raises(
        IntegrityError,
        match=r"holdings_disposal_on_its_entrys_day: entry #\d+ of 2026-01-10 records a "
        r"disposal of lot \d+ on 2026-01-11: a disposal is dated its entry's day",
    ):
        sell()
    nothing_written()


@pytest.mark.django_db
def test_a_record_counts_the_days_from_its_lots_acquisition(world, monkeypatch):
    holdings_at_fair_value()
    records_written_as(monkeypatch, first(lambda r: setattr(r, "days_held", 1)))
    with pytest.raises(
        IntegrityError,
        match=r"holdings_disposal_days_held: entry #\d+ of 2026-01-10 records lot \d+ as held 1 "
        r"days, but the lot was acquired on 2025-03-01, 315 days before",
    ):
        sell()
    nothing_written()


@pytest.mark.django_db
def test_the_days_held_are_counted_between_utc_dates(world):
    """A lot acquired late in a UTC day and sold early the next: one day, whatever the clock."""
    holdings_at_fair_value()
    setup.opening_lots_load(
        as_of=date(2026, 1, 1),
        rows=[
            {
                "wallet": "COLD-1",
                "acquired_at": "2026-01-01T23:30:00Z",
                "quantity": "5",
                "cost_usd": "450000.00",
            }
        ],
    )
    sale = sell(units=D("3.5"), sold_at=datetime(2026, 1, 2, 0, 30, tzinfo=UTC), fee=D("0"))
    at_commit()
    assert sorted(sale.disposals.values_list("days_held", flat=True)) == [1, 215, 307]


@pytest.mark.django_db
def test_a_record_names_the_sale_its_entry_posts(world, monkeypatch):
    holdings_at_fair_value()
    records_written_as(monkeypatch, lambda records: [setattr(r, "sale", None) for r in records])
    with pytest.raises(
        IntegrityError,
        match=r"holdings_disposal_of_its_document: entry #\d+ of 2026-01-10 records a disposal "
        r"of lot \d+ for no document, but the entry posts sale \d+",
    ):
        sell()
    nothing_written()


@pytest.mark.django_db
def test_a_sale_equals_its_records_at_commit(world, monkeypatch):
    """A hundred dollars more proceeds, and gain, on one lot: each record in order with its
    lot movements, the sale's proceeds no longer what its records add up to."""

    def richer(record: Disposal) -> None:
        record.proceeds += D("100.00")
        record.realized_gain += D("100.00")

    holdings_at_fair_value()
    records_written_as(monkeypatch, first(richer))
    sale = sell()
    with pytest.raises(
        IntegrityError,
        match=r"holdings_sale_matches_disposals: sale T-1 \(entry #\d+ of 2026-01-10\) is of "
        r"1\.5 BTC at a cost of 132500\.00 USD, a carrying value of 136000\.00 and proceeds of "
        r"150000\.00, but its disposal records come to 1\.5 at a cost of 132500\.00, a "
        r"carrying value of 136000\.00 and proceeds of 150100\.00",
    ):
        at_commit()
    assert sale.pk


@pytest.mark.django_db
def test_a_sales_gain_is_its_proceeds_less_its_cost(world, monkeypatch):
    holdings_at_fair_value()
    gain = treasury.SalePlan.realized_gain.fget
    monkeypatch.setattr(
        treasury.SalePlan, "realized_gain", property(lambda plan: gain(plan) + D("100.00"))
    )
    sell()
    with pytest.raises(
        IntegrityError,
        match=r"holdings_sale_matches_disposals: sale T-1 \(entry #\d+ of 2026-01-10\) gains "
        r"17600\.00 USD on its cost and 14000\.00 on its carrying value, but its proceeds of "
        r"150000\.00 less its cost of 132500\.00 and its carrying value of 136000\.00 make "
        r"17500\.00 and 14000\.00",
    ):
        at_commit()


@pytest.mark.django_db
def test_a_sales_records_relieve_its_lots_by_its_method(world, monkeypatch):
    holdings_at_fair_value()
    records_written_as(monkeypatch, first(lambda r: setattr(r, "method", "specific")))
    sell()
    with pytest.raises(
        IntegrityError,
        match=r"holdings_sale_matches_disposals: sale T-1 \(entry #\d+ of 2026-01-10\) "
        r"relieves its lots by fifo, but a disposal record of it by another method",
    ):
        at_commit()


@pytest.mark.django_db
def test_a_transfers_fee_is_a_disposal_for_nothing(world, monkeypatch):
    holdings_at_fair_value()

    def sold(record: Disposal) -> None:
        record.proceeds = D("50.00")
        record.realized_gain = record.proceeds - record.cost

    records_written_as(monkeypatch, first(sold))
    with pytest.raises(
        IntegrityError,
        match=r"holdings_disposal_of_its_document: entry #\d+ of 2026-01-05 records proceeds of "
        r"50\.00 USD for lot \d+, spent on transfer \d+'s network fee: a fee is a disposal for "
        r"nothing",
    ):
        transfer_fee(commodity="BTC")
    assert not Transfer.objects.exists() and not Disposal.objects.exists()


def transfer_fee(commodity: str) -> Transfer:
    wallets = {"BTC": ("COLD-1", "HOT-1")}.get(commodity)
    if wallets is None:
        wallets = (f"SRC-{commodity}", f"DST-{commodity}")
        for code in wallets:
            setup.wallet_create(code=code, name=code, commodity=commodity)
        setup.opening_lots_load(
            as_of=date(2025, 12, 30),
            rows=[
                {
                    "wallet": wallets[0],
                    "acquired_at": "2025-06-01T10:00:00Z",
                    "quantity": "1000",
                    "cost_usd": "1000.00",
                }
            ],
        )
    return treasury.transfer_record(
        txid="ef" * 32,
        from_wallet=wallets[0],
        to_wallet=wallets[1],
        units=D("0.5"),
        fee_units=D("0.0001"),
        sent_at=datetime(2026, 1, 5, 8, tzinfo=UTC),
    )


@pytest.mark.django_db
def test_a_transfers_fee_units_are_its_records_at_commit(world, monkeypatch):
    """USDT is carried at cost: its disposals need no record for the lots' sake (0043), but a
    transfer's fee has its records all the same."""
    records_written_as(monkeypatch, lambda records: records.clear())
    transfer_fee(commodity="USDT")
    with pytest.raises(
        IntegrityError,
        match=r"holdings_transfer_fee_matches_disposals: transfer efef.* \(entry #\d+ of "
        r"2026-01-05\) pays a network fee of 0\.0001, but its disposal records come to 0",
    ):
        at_commit()


def cancel(entry: JournalEntry, maker, approver) -> None:
    requested, _ = ledger_services.cancellation_request(entry=entry, reason="wrong", by=maker)
    ledger_services.cancellation_approve(cancellation=requested, by=approver)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        lambda r: setattr(r, "days_held", r.days_held + 1),
        lambda r: setattr(r, "proceeds", r.proceeds - 1),
        lambda r: setattr(r, "method", "specific"),
    ],
    ids=["days held", "proceeds", "method"],
)
def test_a_cancellation_mirrors_each_record_as_it_was(
    world, staff_user, approver_user, monkeypatch, change
):
    holdings_at_fair_value()
    sale = sell()
    at_commit()
    records = Disposal.objects.count()
    records_written_as(monkeypatch, first(change))
    with pytest.raises(
        IntegrityError,
        match=r"holdings_disposal_mirrors_its_original: entry #\d+ of \d{4}-\d\d-\d\d reverses "
        r"disposal \d+ otherwise than it was",
    ):
        cancel(sale.entry, staff_user, approver_user)
    assert Disposal.objects.count() == records


@pytest.mark.django_db
def test_a_cancellation_records_only_mirrors(world, staff_user, approver_user, monkeypatch):
    holdings_at_fair_value()
    sale = sell()
    at_commit()

    def original(record: Disposal) -> None:
        """The mirror written as a record of its own, the sale's figures over again."""
        record.reversal_of = None
        for figure in ("units", "cost", "carrying_value", "proceeds", "realized_gain"):
            setattr(record, figure, -getattr(record, figure))

    records_written_as(monkeypatch, first(original))
    with pytest.raises(
        IntegrityError,
        match=r"holdings_disposal_mirrors_its_original: entry #\d+ of \d{4}-\d\d-\d\d cancels "
        r"entry #\d+ and records a disposal of lot \d+ that reverses none",
    ):
        cancel(sale.entry, staff_user, approver_user)


@pytest.mark.django_db
def test_a_mirror_reverses_a_record_of_the_entry_it_cancels(earning):
    """Raw SQL: a mirror under an entry that cancels nothing."""
    entry = entry_of_the_lots_day(earning[2])
    lot = Lot.objects.get()
    with transaction.atomic(), connection.cursor() as cursor:
        # The original alone is refused at commit (0043): its mirror comes before that.
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(disposal_sql(entry.pk, lot, "0.1", "10000.00", "12000.00", "2000.00"))
        cursor.execute("SELECT max(id) FROM holdings_disposal")
        (original,) = cursor.fetchone()
        with pytest.raises(
            IntegrityError,
            match=rf"holdings_disposal_mirrors_its_original: entry #\d+ of 2026-01-02 reverses "
            rf"disposal {original} of entry #\d+, which it does not cancel",
        ):
            cursor.execute(
                disposal_sql(entry.pk, lot, "-0.1", "-10000.00", "-12000.00", "-2000.00")
                .replace("created_at)", "created_at, reversal_of_id)")
                .replace("now())", f"now(), {original})")
            )
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_record_is_written_after_its_entry(earning):
    """Before the foreign key's check at commit: the record could not be dated."""
    lot = Lot.objects.get()
    with (
        pytest.raises(
            IntegrityError,
            match=r"holdings_disposal_after_its_entry: the disposal of lot \d+ names entry "
            r"999999999, which is not written",
        ),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(disposal_sql(999999999, lot, "0.1", "10000.00", "12000.00", "2000.00"))


@pytest.mark.django_db
def test_legitimate_records_pass_every_rule(world, staff_user, approver_user):
    """A sale, a transfer's fee, and the sale's cancellation: every record as the services
    write it, checked at commit."""
    holdings_at_fair_value()
    sale = sell()
    transfer = transfer_fee(commodity="BTC")
    at_commit()
    cancel(sale.entry, staff_user, approver_user)
    at_commit()
    mirrors = Disposal.objects.filter(reversal_of__isnull=False)
    assert mirrors.count() == sale.disposals.filter(reversal_of__isnull=True).count() == 2
    assert transfer.fee_disposals.get().proceeds == 0
    assert all(m.disposed_on == m.entry.effective_date for m in mirrors)


def behind_the_triggers(sql: str) -> None:
    """As a ledger of an earlier release may hold it, or a superuser with the triggers off:
    after the checks the books' own writes left for the commit."""
    at_commit()
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(sql)
            assert cursor.rowcount == 1
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")


@pytest.mark.django_db
def test_the_nightly_check_names_a_record_held_other_days_and_a_sale_off_its_records(world):
    holdings_at_fair_value()
    sale = sell()
    assert treasury_selectors.treasury_breaks() == []
    record = sale.disposals.order_by("lot__acquired_at").first()
    behind_the_triggers(f"UPDATE holdings_disposal SET days_held = 1 WHERE id = {record.pk}")
    behind_the_triggers(
        f"UPDATE holdings_sale SET proceeds_value = proceeds_value + 1 WHERE id = {sale.pk}"
    )

    sequence = sale.entry.sequence
    assert treasury_selectors.treasury_breaks() == [
        TreasuryBreak(
            "disposal",
            str(record.pk),
            sequence,
            f"holds lot {record.lot_id} 1 days, acquired on 2025-03-01",
        ),
        TreasuryBreak(
            "sale",
            "T-1",
            sequence,
            "is of 1.5 at a cost of 132500.00, a carrying value of 136000.00 and proceeds of "
            "150001.00 by fifo; its records: 1.5 at 132500.00, 136000.00 and 150000.00; its "
            "gains 17500.00 and 14000.00",
        ),
        TreasuryBreak(
            "sale",
            "T-1",
            sequence,
            f"makes 149850 at 149851.00 of account {sale.proceeds_account.code}; its entry posts "
            "149850 at 149850.00",
        ),
    ]
    [run] = reconcile(as_of=date(2026, 1, 10), kinds=["internal"])
    found = run.items.filter(checked="treasury").order_by("id")
    assert [(i.subject_type, i.subject, i.status) for i in found] == [
        ("disposal", str(record.pk), "unmatched"),
        ("sale", "T-1", "unmatched"),
        ("sale", "T-1", "unmatched"),
    ]
    assert found[0].message == (
        f"disposal {record.pk} (entry #{sequence}) holds lot {record.lot_id} 1 days, acquired "
        "on 2025-03-01"
    )
