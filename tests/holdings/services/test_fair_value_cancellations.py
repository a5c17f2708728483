"""A back-dated remeasurement is one document: its entry at the month end and the entries
correcting the disposals and transfers after it. It is cancelled whole, by cancelling its
entry; none of its corrections is cancelled alone; and a disposal a standing correction
corrects is cancelled only once the remeasurement is."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from holdings.errors import RemeasurementError
from holdings.models import Lot, LotMovement, Remeasurement
from holdings.services import fair_value, loans, setup, treasury
from holdings.services.cancellations import CancellationRefused
from ledger import selectors as ledger_selectors
from ledger import services as ledger_services
from ledger.cancellations import document_of
from ledger.errors import Conflict
from ledger.models import Cancellation, CancellationStatus, JournalEntry
from tests.holdings.services.test_cancellations import cancel, lots_equal_ledger_every_day
from tests.holdings.services.test_fair_value import lots_equal_journal_every_day
from tests.holdings.services.test_loans import make_loan
from tests.holdings.services.test_treasury import OPENING

D = Decimal
MONTH_END = date(2025, 12, 31)
SALE_DAY = date(2026, 1, 10)
TRANSFER_DAY = date(2026, 1, 12)


def opening() -> None:
    """Lot 1: 1 BTC at 80,000.00; lot 2: 2 BTC at 210,000.00, in COLD-1 on 2025-12-30."""
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)


def sale() -> JournalEntry:
    return treasury.sale_record(
        reference="S1",
        wallet="COLD-1",
        units=D("0.5"),
        sold_at=datetime(2026, 1, 10, 12, tzinfo=UTC),
        proceeds_commodity="USD",
        gross_proceeds=D("55000.00"),
    ).entry


def transfer(fee: str = "0") -> JournalEntry:
    return treasury.transfer_record(
        txid="ef" * 32,
        from_wallet="COLD-1",
        to_wallet="HOT-1",
        units=D("0.25"),
        fee_units=D(fee),
        sent_at=datetime(2026, 1, 12, 9, tzinfo=UTC),
    ).entry


def remeasured() -> Remeasurement:
    """BTC at 99,000.00 on 2025-12-31: +7,000.00 (lot 1 +2,333.33, lot 2 +4,666.67)."""
    result = fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    assert result.adjustment == D("7000.00")
    return result


def corrections() -> list[JournalEntry]:
    return list(
        JournalEntry.objects.filter(kind="fair_value_remeasurement", reversal_of__isnull=True)
        .exclude(remeasurement__isnull=False)
        .order_by("effective_date", "id")
    )


def balance(account: str, day: date) -> Decimal:
    return ledger_selectors.account_balance(account=account, as_of=day).value


def books_agree(standing: Remeasurement | None, cancelled_on: date = MONTH_END) -> None:
    """Lots equal the journal on every day (units, cost, adjustments, roll-ups), and 1290
    holds at the month end what the standing remeasurement says it posted; a cancelled one
    left it as it posted until the day of its cancellation, nothing from then on."""
    lots_equal_journal_every_day()
    lots_equal_ledger_every_day()
    if standing is not None:
        assert balance("1290", MONTH_END) == standing.adjustment
        return
    posted = Remeasurement.objects.filter(as_of=MONTH_END).first()
    if posted is not None and cancelled_on > MONTH_END:
        assert balance("1290", MONTH_END) == posted.adjustment
    assert balance("1290", cancelled_on) == 0
    assert not Lot.objects.exclude(fair_value_adjustment=0).exists()


def cancelled(entry: JournalEntry) -> bool:
    return Cancellation.objects.filter(entry=entry, status=CancellationStatus.APPROVED).exists()


@pytest.mark.django_db
def test_a_correction_is_not_cancelled_alone(world, staff_user):
    """2b: the correction entry belongs to its remeasurement; asking to cancel it alone is
    refused, naming the remeasurement to cancel instead."""
    opening()
    sale()
    result = remeasured()
    [correction] = corrections()
    assert correction.effective_date == SALE_DAY

    assert document_of(correction) == "remeasurement of BTC at 2025-12-31"
    with pytest.raises(CancellationRefused) as refused:
        ledger_services.cancellation_request(entry=correction, reason="wrong", by=staff_user)
    message = str(refused.value)
    assert "remeasurement of BTC at 2025-12-31" in message
    assert f"entry #{result.entry.sequence}" in message and "cancel that instead" in message
    assert not Cancellation.objects.exists()
    books_agree(result)


@pytest.mark.django_db
def test_a_correction_asked_for_before_is_not_approved_alone(world, staff_user, approver_user):
    """A request for a correction alone made before the rule (written here as it was) is
    refused at approval, with nothing posted."""
    opening()
    sale()
    result = remeasured()
    [correction] = corrections()
    requested = Cancellation.objects.create(
        entry=correction,
        document="remeasurement of entry #x",
        effective_date=SALE_DAY,
        reason="old request",
        requested_by=staff_user,
    )
    with pytest.raises(CancellationRefused, match="cancel that instead"):
        ledger_services.cancellation_approve(cancellation=requested, by=approver_user)
    assert not JournalEntry.objects.filter(reversal_of__isnull=False).exists()
    # While it is pending, the remeasurement waits for it to be rejected.
    with pytest.raises(Conflict, match=f"cancellation #{requested.pk}"):
        ledger_services.cancellation_request(entry=result.entry, reason="x", by=staff_user)
    books_agree(result)


@pytest.mark.django_db
def test_a_corrected_sale_waits_for_its_remeasurement_then_all_is_undone(
    world, staff_user, approver_user
):
    """2a: the remeasurement was made knowing the sale; while its correction of the sale
    stands the sale is not cancelled. Cancelling the remeasurement reverses its entry and
    the correction together; then the sale goes, and the month end is remeasured again."""
    opening()
    sold = sale()
    result = remeasured()
    [correction] = corrections()
    lot_1 = Lot.objects.get(original_quantity=1)
    assert lot_1.fair_value_adjustment == D("1166.67")
    assert balance("1290", SALE_DAY) == D("5833.34")
    books_agree(result)

    with pytest.raises(CancellationRefused) as refused:
        ledger_services.cancellation_request(entry=sold, reason="never settled", by=staff_user)
    message = str(refused.value)
    assert "sale S1 cannot be cancelled" in message
    assert "remeasurement of BTC at 2025-12-31" in message
    assert f"entry #{result.entry.sequence}" in message and "cancel that first" in message
    assert not Cancellation.objects.exists()

    done = cancel(result.entry, staff_user, approver_user)
    assert cancelled(result.entry) and cancelled(correction)
    part = Cancellation.objects.get(entry=correction)
    assert part.document == done.document == "remeasurement of BTC at 2025-12-31"
    assert part.requested_by_id == staff_user.pk and part.decided_by_id == approver_user.pk
    assert part.effective_date == part.reversal.effective_date == SALE_DAY
    assert done.reversal.effective_date == MONTH_END
    for day in (MONTH_END, SALE_DAY, TRANSFER_DAY):
        assert balance("1290", day) == 0
    lot_1.refresh_from_db()
    assert lot_1.fair_value_adjustment == 0
    assert not Lot.objects.exclude(fair_value_adjustment=0).exists()
    books_agree(None)

    # The sale now stands alone: it is cancelled, and its units come back.
    cancel(sold, staff_user, approver_user)
    lot_1.refresh_from_db()
    assert lot_1.quantity == 1
    books_agree(None)

    # The cancelled remeasurement is not returned as if the day stood measured; nor is the
    # day measured again while a later cancellation gave units back it cannot place.
    with pytest.raises(RemeasurementError, match=r"a cancellation reversing entry #\d+"):
        fair_value.remeasure(commodity="BTC", as_of=MONTH_END)


@pytest.mark.django_db
def test_a_remeasurement_with_a_sale_and_a_transfer_after_it_is_cancelled_whole(
    world, staff_user, approver_user
):
    """3a: the remeasurement's own entries (its correction of the sale, its adjustment
    carried with the transfer) do not stop its cancellation."""
    opening()
    sold = sale()
    moved = transfer()
    result = remeasured()
    [correction] = corrections()
    carried = LotMovement.objects.filter(entry=result.entry, effective_date=TRANSFER_DAY)
    assert carried.count() == 2
    books_agree(result)

    # Each later document waits for the remeasurement.
    for entry in (sold, moved):
        with pytest.raises(CancellationRefused, match="remeasurement of BTC at 2025-12-31"):
            ledger_services.cancellation_request(entry=entry, reason="wrong", by=staff_user)
    with pytest.raises(CancellationRefused, match="cancel that instead"):
        ledger_services.cancellation_request(entry=correction, reason="wrong", by=staff_user)

    cancel(result.entry, staff_user, approver_user)
    assert cancelled(correction)
    assert not Lot.objects.exclude(fair_value_adjustment=0).exists()
    books_agree(None)

    cancel(moved, staff_user, approver_user)
    cancel(sold, staff_user, approver_user)
    books_agree(None)


@pytest.mark.django_db
@pytest.mark.parametrize("on", [None, date(2026, 1, 5), TRANSFER_DAY, date(2026, 1, 20)], ids=str)
def test_a_remeasurement_carried_by_a_later_transfer_is_cancelled_on_any_date(
    world, staff_user, approver_user, on
):
    """3b: what the remeasurement carried into the transfer's new lot (dated the transfer's
    day) is mirrored on the later of that day and the cancellation's: accepted when asked,
    approved, and the books agree on every day."""
    opening()
    moved = transfer()
    result = remeasured()
    assert corrections() == []  # COLD-1 and HOT-1 share 1290: no entry, only lot moves
    lot_3 = Lot.objects.get(opened_by_entry=moved)
    assert lot_3.fair_value_adjustment == D("583.33")

    options = {"effective_date": on} if on else {}
    done = cancel(result.entry, staff_user, approver_user, **options)
    assert done.reversal.effective_date == (on or MONTH_END)
    mirrored = LotMovement.objects.filter(entry=done.reversal, lot=lot_3).get()
    assert mirrored.effective_date == max(on or MONTH_END, TRANSFER_DAY)
    books_agree(None, on or MONTH_END)

    cancel(moved, staff_user, approver_user)
    books_agree(None, on or MONTH_END)


@pytest.mark.django_db
def test_a_transfer_fee_corrected_waits_for_the_remeasurement(world, staff_user, approver_user):
    opening()
    moved = transfer(fee="0.001")
    result = remeasured()
    [correction] = corrections()
    assert correction.idempotency_key.endswith(f":after:{moved.pk}")
    with pytest.raises(CancellationRefused, match="remeasurement of BTC at 2025-12-31"):
        ledger_services.cancellation_request(entry=moved, reason="wrong", by=staff_user)

    cancel(result.entry, staff_user, approver_user)
    assert cancelled(correction)
    books_agree(None)
    cancel(moved, staff_user, approver_user)
    books_agree(None)


@pytest.mark.django_db
def test_a_corrected_liquidation_waits_for_the_remeasurement(world, staff_user, approver_user):
    opening()
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))
    loans.loan_draw(loan=loan, amount=D("150000.00"), on=date(2026, 1, 1))
    loans.loan_pledge(loan=loan, units=D("3"), from_wallet="COLD-1", on=date(2026, 1, 2))
    event = loans.loan_liquidate(
        loan=loan, units=D("1"), proceeds=D("90000.00"), on=date(2026, 1, 3)
    )
    result = remeasured()
    assert any(c.idempotency_key.endswith(f":after:{event.entry_id}") for c in corrections())
    books_agree(result)
    with pytest.raises(CancellationRefused, match="remeasurement of BTC at 2025-12-31"):
        ledger_services.cancellation_request(entry=event.entry, reason="wrong", by=staff_user)

    cancel(result.entry, staff_user, approver_user)
    assert all(cancelled(c) for c in corrections())
    books_agree(None)
    cancel(event.entry, staff_user, approver_user)
    books_agree(None)
