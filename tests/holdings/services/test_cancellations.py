"""A document's entries change only through the document: cancellations, asked for by one
person and approved by another, undo the journal and the subledger together; everything
else that would reverse an entry is refused, by the services and by PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from holdings.errors import InsufficientLots, InvalidSetup
from holdings.models import (
    Disposal,
    Lot,
    LotMovement,
    LotMovementKind,
    ProductionMonthTotal,
    ProductionRecord,
    Sale,
)
from holdings.selectors import loans as loans_selectors
from holdings.selectors import lots
from holdings.selectors.production import ProducedMonth, production_by_month, production_report
from holdings.services import loans, setup, treasury
from holdings.services.cancellations import CancellationRefused
from ledger import services as ledger_services
from ledger.errors import Conflict, Forbidden, InvalidEntry, InvalidState, LedgerError
from ledger.models import Cancellation, CancellationStatus, JournalEntry
from ledger.posting import EntryInput, PostingInput, post
from tests.holdings.conftest import f2pool_file, run_import
from tests.holdings.services.test_loans import make_loan
from tests.holdings.services.test_treasury import OPENING, SOLD_AT, holdings_at_fair_value, sell

D = Decimal
JAN = date(2026, 1, 1)
DAYS = [date(2025, 12, 30) + timedelta(days=n) for n in range(45)]


def lots_equal_ledger_every_day() -> None:
    for day in DAYS:
        assert lots.lot_differences(as_of=day) == [], day
        # The lots open at the day, found by their spans, are those whose movements sum to
        # units then (a cancelled disposal opens its lot again).
        held = (
            LotMovement.objects.filter(effective_date__lte=day)
            .values("lot_id")
            .annotate(units=Sum("quantity"))
            .filter(units__gt=0)
        )
        assert set(lots.lots(as_of=day).values_list("pk", flat=True)) == {
            row["lot_id"] for row in held
        }, day
    # The movements' daily totals, which the roll-forward reads, are the movements' own.
    assert daily_totals() == movement_totals()
    # So are the totals per entry that the realized gains and the roll-forward read.
    assert disposal_totals() == disposals_per_entry()


def disposals_per_entry() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT entry_id, commodity_id, day, sum(mq), sum(mc), sum(ma), sum(mn)::bigint,"
            " sum(dn)::bigint, sum(u), sum(c), sum(cv), sum(p), sum(g) FROM ("
            " SELECT m.entry_id, l.commodity_id, m.effective_date AS day, m.quantity AS mq,"
            " m.cost AS mc, m.fair_value_adjustment AS ma, 1 AS mn, 0 AS dn, 0 AS u, 0 AS c,"
            " 0 AS cv, 0 AS p, 0 AS g"
            " FROM holdings_lotmovement m JOIN holdings_lot l ON l.id = m.lot_id"
            " WHERE m.kind = 'disposal'"
            " UNION ALL SELECT d.entry_id, l.commodity_id, d.disposed_on, 0, 0, 0, 0, 1,"
            " d.units, d.cost, d.carrying_value, d.proceeds, d.realized_gain"
            " FROM holdings_disposal d JOIN holdings_lot l ON l.id = d.lot_id) r"
            " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
        return cursor.fetchall()


def disposal_totals() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT entry_id, commodity_id, day, moved_quantity, moved_cost, moved_adjustment,"
            " movements, disposals, units, cost, carrying_value, proceeds, realized_gain"
            " FROM holdings_disposaltotal ORDER BY 1, 2, 3"
        )
        return cursor.fetchall()


def movement_totals() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.account_id, l.commodity_id, l.origin, m.kind, m.effective_date,"
            " sum(m.quantity), sum(m.cost), sum(m.fair_value_adjustment), count(*)"
            " FROM holdings_lotmovement m JOIN holdings_lot l ON l.id = m.lot_id"
            " GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
        )
        return cursor.fetchall()


def daily_totals() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT account_id, commodity_id, origin, kind, day, quantity, cost,"
            " fair_value_adjustment, movements FROM holdings_lotmovementdaily"
            " ORDER BY 1, 2, 3, 4, 5"
        )
        return cursor.fetchall()


def cancel(entry: JournalEntry, maker, approver, **options) -> Cancellation:
    requested, created = ledger_services.cancellation_request(
        entry=entry, reason="booked in error", by=maker, **options
    )
    assert created and requested.status == CancellationStatus.REQUESTED
    return ledger_services.cancellation_approve(cancellation=requested, by=approver)


@pytest.mark.django_db
def test_a_cancelled_sale_restores_its_lots_and_offsets_its_disposals(
    world, staff_user, approver_user
):
    holdings_at_fair_value()
    before = {
        lot.pk: (lot.quantity, lot.cost, lot.fair_value_adjustment) for lot in Lot.objects.all()
    }
    sale = sell()
    requested, _ = ledger_services.cancellation_request(
        entry=sale.entry, reason="the desk never settled it", by=staff_user
    )
    assert requested.document == "sale T-1"
    # Nothing is undone before a second person approves.
    assert not JournalEntry.objects.filter(reversal_of=sale.entry).exists()

    done = ledger_services.cancellation_approve(cancellation=requested, by=approver_user)

    assert done.status == CancellationStatus.APPROVED
    assert done.reversal.reversal_of_id == sale.entry_id
    assert done.reversal.created_by_id == staff_user.pk
    assert done.reversal.approved_by_id == approver_user.pk
    after = {
        lot.pk: (lot.quantity, lot.cost, lot.fair_value_adjustment)
        for lot in Lot.objects.filter(pk__in=before)
    }
    assert after == before
    proceeds_lot = Lot.objects.get(origin="proceeds")
    assert proceeds_lot.quantity == 0 and proceeds_lot.cost == 0
    disposals = Disposal.objects.filter(sale=sale)
    assert disposals.count() == 4
    assert sum(d.units for d in disposals) == 0
    assert sum(d.realized_gain for d in disposals) == 0
    assert all(d.reversal_of_id for d in disposals if d.units < 0)
    lots_equal_ledger_every_day()


@pytest.mark.django_db
def test_maker_checker_and_once_only(world, staff_user, approver_user, second_approver):
    holdings_at_fair_value()
    sale = sell()
    requested, _ = ledger_services.cancellation_request(
        entry=sale.entry, reason="duplicate", by=approver_user
    )
    with pytest.raises(Forbidden, match="nobody approves their own"):
        ledger_services.cancellation_approve(cancellation=requested, by=approver_user)
    with pytest.raises(Forbidden, match="only a finance approver"):
        ledger_services.cancellation_approve(cancellation=requested, by=staff_user)
    with pytest.raises(Conflict, match="already being cancelled"):
        ledger_services.cancellation_request(entry=sale.entry, reason="again", by=staff_user)
    ledger_services.cancellation_approve(cancellation=requested, by=second_approver)
    with pytest.raises(InvalidState, match="already approved"):
        ledger_services.cancellation_approve(cancellation=requested, by=second_approver)
    with pytest.raises(Conflict, match="already cancelled"):
        ledger_services.cancellation_request(entry=sale.entry, reason="again", by=staff_user)
    reversal = JournalEntry.objects.get(reversal_of=sale.entry)
    with pytest.raises(InvalidEntry, match="never undone"):
        ledger_services.cancellation_request(entry=reversal, reason="undo", by=staff_user)


@pytest.mark.django_db
def test_a_rejected_cancellation_posts_nothing_and_may_be_asked_again(
    world, staff_user, approver_user
):
    holdings_at_fair_value()
    sale = sell()
    requested, _ = ledger_services.cancellation_request(
        entry=sale.entry, reason="wrong", by=staff_user
    )
    with pytest.raises(InvalidEntry, match="needs a reason"):
        ledger_services.cancellation_reject(cancellation=requested, by=approver_user, reason=" ")
    rejected = ledger_services.cancellation_reject(
        cancellation=requested, by=approver_user, reason="the sale stands"
    )
    assert rejected.status == CancellationStatus.REJECTED
    assert not JournalEntry.objects.filter(reversal_of=sale.entry).exists()
    again, created = ledger_services.cancellation_request(
        entry=sale.entry, reason="it really was wrong", by=staff_user
    )
    assert created and again.pk != requested.pk


@pytest.mark.django_db
def test_an_idempotent_request_replays_and_other_content_is_refused(world, staff_user):
    holdings_at_fair_value()
    sale = sell()
    first, created = ledger_services.cancellation_request(
        entry=sale.entry, reason="wrong", by=staff_user, idempotency_key="k-1"
    )
    again, replayed = ledger_services.cancellation_request(
        entry=sale.entry, reason="wrong", by=staff_user, idempotency_key="k-1"
    )
    assert created and not replayed and again.pk == first.pk
    with pytest.raises(Conflict, match="different content"):
        ledger_services.cancellation_request(
            entry=sale.entry, reason="other", by=staff_user, idempotency_key="k-1"
        )


@pytest.mark.django_db
def test_a_cancellation_that_later_events_depend_on_is_refused_naming_them(
    world, staff_user, approver_user
):
    holdings_at_fair_value()
    remeasurement_entry = JournalEntry.objects.get(kind="fair_value_remeasurement")
    sale = sell()
    with pytest.raises(CancellationRefused, match=f"entry #{sale.entry.sequence}"):
        ledger_services.cancellation_request(
            entry=remeasurement_entry, reason="wrong price", by=staff_user
        )
    # The opening lots were sold from since: their document stands too.
    opening = JournalEntry.objects.get(kind="opening_balance")
    with pytest.raises(CancellationRefused, match="cancel that first"):
        ledger_services.cancellation_request(entry=opening, reason="wrong", by=staff_user)
    # Undo the later event first, and the earlier one can go.
    cancel(sale.entry, staff_user, approver_user)
    cancel(remeasurement_entry, staff_user, approver_user)
    lots_equal_ledger_every_day()


@pytest.mark.django_db
def test_a_cancelled_accrual_takes_its_interest_back(world, staff_user, approver_user):
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 6, 30))
    loans.loan_draw(loan=loan, amount=D("1000000.00"), on=date(2026, 1, 1))
    first, _second = loans.loan_accrue_through(loan=loan, through=date(2026, 1, 2))
    assert first.entry is not None
    owed = loans_selectors.loan_status(loan=loan, as_of=date(2026, 1, 2)).interest
    cancel(first.entry, staff_user, approver_user)
    assert loans_selectors.loan_status(loan=loan, as_of=date(2026, 1, 2)).interest == (
        owed - first.amount
    )
    # The draw has accruals after it that build on it.
    draw = loan.events.get(kind="draw")
    with pytest.raises(CancellationRefused, match="interest accrued"):
        ledger_services.cancellation_request(entry=draw.entry, reason="x", by=staff_user)


@pytest.mark.django_db
def test_postgresql_refuses_a_reversal_no_cancellation_names(world):
    holdings_at_fair_value()
    sale = sell()
    mirror = [PostingInput(p.account_id, -p.quantity, -p.value) for p in sale.entry.postings.all()]
    with (
        pytest.raises(IntegrityError, match="ledger_reversal_by_cancellation"),
        transaction.atomic(),
    ):
        post(
            [EntryInput(effective_date=SOLD_AT.date(), memo="undo", postings=mirror)],
            reversal_of=sale.entry,
        )
        with connection.cursor() as cursor:  # what COMMIT would check first
            # (the wallet's lots, which the mirror does not move, would refuse it too)
            cursor.execute("SET CONSTRAINTS ledger_reversal_by_cancellation IMMEDIATE")
    assert Sale.objects.count() == 1
    assert not JournalEntry.objects.filter(reversal_of=sale.entry).exists()


@pytest.mark.django_db
def test_postgresql_refuses_a_reversal_of_a_reversal(world, staff_user, approver_user):
    holdings_at_fair_value()
    sale = sell()
    reversal = cancel(sale.entry, staff_user, approver_user).reversal
    lines = [PostingInput(p.account_id, -p.quantity, -p.value) for p in reversal.postings.all()]
    with pytest.raises(LedgerError, match="ledger_reversal_not_reversed"), transaction.atomic():
        post(
            [EntryInput(effective_date=SOLD_AT.date(), memo="again", postings=lines)],
            reversal_of=reversal,
        )


@pytest.mark.django_db
def test_postgresql_keeps_a_cancellation_as_decided(world, staff_user, approver_user):
    holdings_at_fair_value()
    done = cancel(sell().entry, staff_user, approver_user)
    for statement in (
        "UPDATE ledger_cancellation SET status = 'requested' WHERE id = %s",
        "UPDATE ledger_cancellation SET reason = 'other' WHERE id = %s",
        "DELETE FROM ledger_cancellation WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="ledger_cancellation_"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [done.pk])


# --- time runs one way for lots ------------------------------------------------------------


@pytest.mark.django_db
def test_a_back_dated_pledge_takes_only_what_the_lots_keep_on_every_later_day(world):
    holdings_at_fair_value()  # 3 BTC in COLD-1 from 2025-12-30
    sell()  # 1.5 BTC sold on 2026-01-10
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 6, 30))
    with pytest.raises(InsufficientLots, match="kept on every day"):
        loans.loan_pledge(loan=loan, units=D("2"), from_wallet="COLD-1", on=date(2026, 1, 5))
    # Only what the sale left can be pledged back on the 5th, and the lots never go below.
    event = loans.loan_pledge(loan=loan, units=D("1.5"), from_wallet="COLD-1", on=date(2026, 1, 5))
    assert event.units == D("1.5")
    lots_equal_ledger_every_day()
    # Lots acquired after the date are never taken for it.
    with pytest.raises(InsufficientLots):
        loans.loan_pledge(loan=loan, units=D("1"), from_wallet="COLD-1", on=date(2026, 1, 2))


@pytest.mark.django_db
def test_a_sale_dated_before_a_lot_reached_the_wallet_cannot_take_it(world):
    holdings_at_fair_value()
    treasury.transfer_record(
        txid="ab" * 32,
        from_wallet="COLD-1",
        to_wallet="HOT-1",
        units=D("1"),
        sent_at=datetime(2026, 1, 20, tzinfo=UTC),
    )
    with pytest.raises(InsufficientLots):
        treasury.sale_record(
            reference="EARLY",
            wallet="HOT-1",
            units=D("0.5"),
            sold_at=datetime(2026, 1, 15, tzinfo=UTC),
            proceeds_commodity="USD",
            gross_proceeds=D("50000"),
        )
    lots_equal_ledger_every_day()


@pytest.mark.django_db
def test_loan_events_outside_the_term_are_refused(world):
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 6, 30))
    for on in (date(2025, 12, 31), date(2026, 7, 1)):
        with pytest.raises(InvalidSetup, match="outside it"):
            loans.loan_draw(loan=loan, amount=D("1.00"), on=on)
        with pytest.raises(InvalidSetup, match="outside it"):
            loans.loan_pledge(loan=loan, units=D("1"), from_wallet="COLD-1", on=on)


@pytest.mark.django_db
def test_postgresql_refuses_a_lot_moved_before_it_opened_or_below_zero(world):
    holdings_at_fair_value()
    lot = Lot.objects.filter(account__code__startswith="1210").order_by("pk").first()
    entry = JournalEntry.objects.get(kind="opening_balance")
    insert = (
        "INSERT INTO holdings_lotmovement (lot_id, entry_id, effective_date, kind, quantity, "
        "cost, fair_value_adjustment, created_at) VALUES (%s, %s, %s, %s, %s, %s, 0, now())"
    )
    update = "UPDATE holdings_lot SET quantity = quantity + %s, cost = cost + %s WHERE id = %s"
    cases = [
        # Units out before the lot was in the account, on a day since remeasured: the
        # remeasured day speaks first (tests/holdings/database/test_rules.py has the opening
        # rule alone).
        (date(2025, 12, 1), D("-0.1"), D("-8000.00"), "holdings_lot_measured_days_kept"),
        # Units out on a day, back the next: below zero for a day.
        (date(2026, 1, 3), -lot.quantity - 1, -lot.cost - 1, "holdings_lot_never_negative"),
    ]
    for day, quantity, cost, rule in cases:
        with (
            pytest.raises(IntegrityError, match=rule),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(insert, [lot.pk, entry.pk, day, "disposal", quantity, cost])
            if rule == "holdings_lot_never_negative":
                cursor.execute(
                    insert,
                    [lot.pk, entry.pk, date(2026, 1, 4), "transfer_in", -quantity, -cost],
                )
            else:
                cursor.execute(update, [quantity, cost, lot.pk])
            # What COMMIT would check of the lot (the entry, which posts none of this,
            # would be refused too: holdings_entry_matches_lots).
            cursor.execute("SET CONSTRAINTS holdings_lot_matches_movements IMMEDIATE")
    assert LotMovement.objects.filter(kind=LotMovementKind.DISPOSAL).count() == 0


@pytest.mark.django_db
def test_a_reason_is_printable_text(world, staff_user):
    holdings_at_fair_value()
    sale = sell()
    for reason in ("spoofed \u202e reason", "bell \x07", "c1 \x85"):
        with pytest.raises(InvalidEntry, match="only printable text"):
            ledger_services.cancellation_request(entry=sale.entry, reason=reason, by=staff_user)
    assert not Cancellation.objects.exists()


@pytest.mark.django_db
def test_a_lot_given_back_by_a_cancellation_is_not_taken_before_it(
    world, staff_user, approver_user
):
    """Lot A is sold whole on 01-01 and the sale cancelled the same day: a sale dated 12-31
    cannot take lot A, which the journal's order empties at the 01-01 sale, and takes lot B."""
    from tests.holdings.beancount_checks import export_text, load_checked

    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    _lot_a, lot_b = Lot.objects.filter(account__code="1210-COLD-1").order_by("acquired_at")
    first = treasury.sale_record(
        reference="WHOLE-A",
        wallet="COLD-1",
        units=D("1"),
        sold_at=datetime(2026, 1, 1, 12, tzinfo=UTC),
        proceeds_commodity="USD",
        gross_proceeds=D("90000"),
    )
    cancel(first.entry, staff_user, approver_user)
    early = treasury.sale_record(
        reference="EARLY",
        wallet="COLD-1",
        units=D("0.01"),
        sold_at=datetime(2025, 12, 31, 12, tzinfo=UTC),
        proceeds_commodity="USD",
        gross_proceeds=D("900"),
    )
    assert [d.lot_id for d in early.disposals.all()] == [lot_b.pk]
    lots_equal_ledger_every_day()
    load_checked(export_text(date(2026, 1, 31)))


@pytest.mark.django_db
def test_a_cancellation_cannot_take_back_units_a_cancelled_later_transfer_held_meanwhile(
    world, staff_user, approver_user
):
    """A transfer on 01-30 moves 1.63 BTC to HOT-1; one on 02-05 takes 1.16 of them back to
    COLD-1 and is cancelled (its reversal dated 02-05 too). Cancelling the first on its own
    date would take the 1.63 out of HOT-1's lots on 01-30, while the second still held 1.16
    of them until its reversal on 02-05: refused, naming the lot, the entry and the date
    from which it can be done, with nothing written. Dated 02-05, it is done."""
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    out = treasury.transfer_record(
        txid="01" * 32,
        from_wallet="COLD-1",
        to_wallet="HOT-1",
        units=D("1.63"),
        fee_units=D("0.0001"),
        sent_at=datetime(2026, 1, 30, 12, tzinfo=UTC),
    )
    back = treasury.transfer_record(
        txid="02" * 32,
        from_wallet="HOT-1",
        to_wallet="COLD-1",
        units=D("1.16"),
        fee_units=D("0.0001"),
        sent_at=datetime(2026, 2, 5, 12, tzinfo=UTC),
    )
    cancel(back.entry, staff_user, approver_user)
    written = (JournalEntry.objects.count(), LotMovement.objects.count())

    with pytest.raises(
        CancellationRefused,
        match=(
            rf"lot \d+ in 1220-HOT-1, which holds only 0\.00000000 after entry "
            rf"#{back.entry.sequence} \(wallet_transfer on 2026-02-05\); date the "
            r"cancellation on or after 2026-02-05"
        ),
    ):
        ledger_services.cancellation_request(entry=out.entry, reason="wrong", by=staff_user)
    assert not Cancellation.objects.filter(entry=out.entry).exists()
    assert (JournalEntry.objects.count(), LotMovement.objects.count()) == written

    cancel(out.entry, staff_user, approver_user, effective_date=date(2026, 2, 5))
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what COMMIT would check
    assert Lot.objects.filter(account__code="1220-HOT-1", quantity__gt=0).count() == 0
    lots_equal_ledger_every_day()


@pytest.mark.django_db
def test_a_cancelled_pool_record_was_not_mined(world, staff_user, approver_user):
    """The month's totals, the production report and a month read from its records all
    leave a cancelled pool record out, as the cost of mining did already."""
    january = [(date(2026, 1, 1), "0.5"), (date(2026, 1, 2), "0.25")]
    assert run_import("f2pool", f2pool_file(january)).status == "succeeded"
    kept, wrong = ProductionRecord.objects.order_by("day")
    whole = {"commodity": "BTC", "start": date(2026, 1, 1), "end": date(2026, 1, 31)}
    running = {**whole, "end": date(2026, 1, 20)}
    both = ProducedMonth(D("0.75"), kept.value + wrong.value, D("2.4e18"))
    assert production_by_month(**whole) == production_by_month(**running) == {JAN: both}

    cancel(wrong.entry, staff_user, approver_user)

    total = ProductionMonthTotal.objects.get(month=JAN)
    assert (total.records, total.net, total.value, total.hashrate_records) == (
        1,
        D("0.5"),
        kept.value,
        1,
    )
    one = ProducedMonth(D("0.5"), kept.value, D("1.2e18"))
    assert production_by_month(**whole) == production_by_month(**running) == {JAN: one}
    [report] = production_report(start=JAN, end=date(2026, 1, 31))
    assert report.mined == D("0.5")
