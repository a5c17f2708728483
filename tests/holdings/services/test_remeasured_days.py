"""A remeasurement measures its commodity's lots as they stood at the end of its day. While
it stands, nothing moves those lots on or before that day but the remeasurement's own
entries (a back-dated sale, record or cancellation is refused, by the services and by
PostgreSQL); once it is cancelled on its day, the day is remeasured again, as its next
attempt."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from holdings.errors import RemeasuredDay, RemeasurementError
from holdings.models import (
    BatchStatus,
    Disposal,
    Lot,
    LotMovement,
    ProductionRecord,
    Remeasurement,
    Sale,
)
from holdings.selectors import fair_value as fair_value_selectors
from holdings.selectors.close import FAIR_VALUE, close_checks
from holdings.services import fair_value, setup, treasury
from holdings.services.cancellations import CancellationRefused
from ledger import services as ledger_services
from ledger.models import Cancellation, JournalEntry
from tests.holdings.api.test_treasury import post, sale_body
from tests.holdings.conftest import csv_file, run_import
from tests.holdings.services.test_cancellations import cancel
from tests.holdings.services.test_fair_value_cancellations import (
    MONTH_END,
    balance,
    books_agree,
    opening,
    sale,
)
from tests.holdings.services.test_treasury import OPENING

D = Decimal
JANUARY_END = date(2026, 1, 31)


def sell_on(day: date, reference: str = "S9") -> Sale:
    return treasury.sale_record(
        reference=reference,
        wallet="COLD-1",
        units=D("0.5"),
        sold_at=datetime(day.year, day.month, day.day, 10, tzinfo=UTC),
        proceeds_commodity="USD",
        gross_proceeds=D("55000.00"),
    )


def written() -> tuple[int, ...]:
    return (
        JournalEntry.objects.count(),
        LotMovement.objects.count(),
        Disposal.objects.count(),
        Sale.objects.count(),
        Cancellation.objects.count(),
    )


def usd_sale_body(sold_at: str) -> dict[str, object]:
    """Half a BTC of COLD-1 sold for USD at `sold_at`, as the API takes it."""
    return sale_body(
        sold_at=sold_at,
        units="0.5",
        proceeds_commodity="USD",
        gross_proceeds="50000.00",
        fee="0",
        proceeds_value=...,
        proceeds_wallet=...,
    )


def fair_value_closed(month: date) -> bool:
    return next(c for c in close_checks(month=month) if c.key == FAIR_VALUE).ok


@pytest.mark.django_db
def test_a_day_is_remeasured_again_once_its_remeasurement_is_cancelled(
    world, staff_user, approver_user
):
    opening()
    sale()
    first = fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    assert first.attempt == 1 and first.entry.idempotency_key == "remeasure:BTC:2025-12-31"
    assert fair_value_closed(date(2025, 12, 1))

    cancel(first.entry, staff_user, approver_user)
    books_agree(None)
    # Cancelled, the month end stands unmeasured: the close says so.
    assert not fair_value_closed(date(2025, 12, 1))

    again = fair_value.remeasure(commodity="BTC", as_of=MONTH_END, created_by=staff_user)
    assert again.pk != first.pk and again.attempt == 2
    assert again.entry.idempotency_key == "remeasure:BTC:2025-12-31:attempt-2"
    assert (again.units, again.adjustment) == (first.units, first.adjustment)
    # Its correction of the sale after it has a key of its own attempt.
    assert JournalEntry.objects.filter(
        idempotency_key__startswith="remeasure:BTC:2025-12-31:attempt-2:after:"
    ).exists()
    books_agree(again)
    assert fair_value_closed(date(2025, 12, 1))
    # Idempotent again: the standing attempt is returned.
    assert fair_value.remeasure(commodity="BTC", as_of=MONTH_END) == again
    assert Remeasurement.objects.count() == 2


@pytest.mark.django_db
def test_a_remeasurement_cancelled_after_its_day_is_not_made_again(
    world, staff_user, approver_user
):
    """Cancelled on a later day, its adjustment stood at the end of its own: measured again
    there, the day would carry both."""
    opening()
    first = fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    cancel(first.entry, staff_user, approver_user, effective_date=date(2026, 1, 5))
    before = written()
    with pytest.raises(RemeasurementError, match="cancelled on 2026-01-05") as refused:
        fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    assert refused.value.field == "as_of"
    assert written() == before


@pytest.mark.django_db
def test_a_cancelled_later_remeasurement_no_longer_stops_an_earlier_one(
    world, staff_user, approver_user
):
    opening()
    january = fair_value.remeasure(commodity="BTC", as_of=JANUARY_END)
    with pytest.raises(RemeasurementError, match="already remeasured at 2026-01-31"):
        fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    cancel(january.entry, staff_user, approver_user)
    december = fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    assert december.attempt == 1 and december.entry is not None
    books_agree(december)


@pytest.mark.django_db
def test_a_back_dated_sale_is_refused_while_its_day_stands_remeasured(
    world, staff_user, approver_user
):
    opening()
    first = fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    before = written()
    for day in (MONTH_END, date(2025, 12, 30)):
        with pytest.raises(RemeasuredDay) as refused:
            sell_on(day)
        assert refused.value.field == "sold_at"
        message = str(refused.value)
        assert "BTC was remeasured at 2025-12-31" in message
        assert f"entry #{first.entry.sequence}" in message and str(day) in message
        assert written() == before
    books_agree(first)

    # Cancelled on its day, the remeasurement lets the back-dated sale in, and the day is
    # measured again with it.
    cancel(first.entry, staff_user, approver_user)
    sell_on(MONTH_END)
    again = fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    assert again.attempt == 2 and again.units == first.units - D("0.5")
    assert balance("1290", MONTH_END) == again.adjustment
    books_agree(again)


@pytest.mark.django_db
def test_a_cancellation_dated_on_a_remeasured_day_is_refused(world, staff_user, approver_user):
    """A sale before the month end, cancelled on the month end after it was remeasured:
    the units would come back into lots the remeasurement measured without them."""
    opening()
    sold = sell_on(date(2025, 12, 31))
    remeasured = fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    assert remeasured.units == D("2.5")
    before = written()
    with pytest.raises(CancellationRefused) as refused:
        ledger_services.cancellation_request(
            entry=sold.entry, reason="never settled", by=staff_user, effective_date=MONTH_END
        )
    assert refused.value.field == "effective_date"
    message = str(refused.value)
    assert "sale S9 cannot be cancelled on 2025-12-31" in message
    assert "remeasured at 2025-12-31" in message and "date the cancellation after" in message
    assert written() == before

    # Dated after it, the units come back then; the month end stays as measured.
    cancel(sold.entry, staff_user, approver_user, effective_date=date(2026, 1, 1))
    assert Lot.objects.filter(quantity=D("1")).exists()
    books_agree(remeasured)


@pytest.mark.django_db
def test_a_remeasurement_that_posted_nothing_is_made_again_when_its_lots_changed(world):
    """Nothing held at its day, it posted nothing and cannot be cancelled: holdings brought
    in later with an earlier date are measured by calling it again."""
    empty = fair_value.remeasure(commodity="BTC", as_of=date(2025, 12, 29))
    assert empty.entry is None and empty.units == 0
    assert fair_value.remeasure(commodity="BTC", as_of=date(2025, 12, 29)) == empty
    setup.opening_lots_load(as_of=date(2025, 12, 20), rows=OPENING)
    again = fair_value.remeasure(commodity="BTC", as_of=date(2025, 12, 29))
    assert again.attempt == 2 and again.units == 3 and again.entry is not None
    assert balance("1290", date(2025, 12, 29)) == again.adjustment


@pytest.mark.django_db
def test_the_close_counts_an_empty_remeasurement_only_while_its_lots_are_unchanged(world):
    """The month-end close's fair value check agrees with remeasure: one that posted nothing
    stops counting once lots dated back to its day are brought in (it counted whatever came
    later, and the month closed unmeasured)."""
    empty = fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    assert empty.entry is None
    setup.opening_lots_load(as_of=date(2026, 1, 5), rows=OPENING)  # BTC held from January
    assert fair_value_closed(date(2025, 12, 1))
    setup.opening_lots_load(
        as_of=date(2025, 12, 30),
        rows=[{**OPENING[0], "acquired_at": "2025-12-30T10:00:00Z"}],
    )
    (check,) = [c for c in close_checks(month=date(2025, 12, 1)) if c.key == FAIR_VALUE]
    assert not check.ok and check.problems == ["BTC is not remeasured at 2025-12-31"]
    again = fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    assert again.attempt == 2 and again.entry is not None
    assert fair_value_closed(date(2025, 12, 1))


@pytest.mark.django_db
def test_postgresql_keeps_the_remeasured_days(world, staff_user, approver_user):
    opening()
    first = fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    lot = Lot.objects.order_by("pk").first()
    entry = JournalEntry.objects.get(kind="opening_balance")
    moved = (
        "INSERT INTO holdings_lotmovement (lot_id, entry_id, effective_date, kind, quantity, "
        "cost, fair_value_adjustment, created_at) VALUES (%s, %s, %s, 'disposal', 0, 0, 0, now())"
    )
    remeasured = (
        "INSERT INTO holdings_remeasurement (commodity_id, as_of, price_id, units, "
        "carrying_value_before, fair_value, adjustment, lots, attempt, created_at) "
        "SELECT commodity_id, as_of, price_id, units, carrying_value_before, fair_value, "
        "adjustment, lots, %s, now() FROM holdings_remeasurement WHERE id = %s"
    )
    cases = [
        (moved, [lot.pk, entry.pk, MONTH_END], "holdings_lot_measured_days_kept"),
        (remeasured, [2, first.pk], "holdings_remeasurement_attempt_follows"),
        (remeasured, [3, first.pk], "holdings_remeasurement_attempt_follows"),
        (remeasured, [1, first.pk], "holdings_remeasurement_attempt_once"),
        (remeasured, [0, first.pk], "holdings_remeasurement_attempt_counted"),
    ]
    for sql, params, rule in cases:
        with (
            pytest.raises(IntegrityError, match=rule),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, params)
    # After its day, or once it is cancelled on its day, the same rows are taken.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(moved, [lot.pk, entry.pk, date(2026, 1, 1)])
        transaction.set_rollback(True)
    cancel(first.entry, staff_user, approver_user)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(moved, [lot.pk, entry.pk, MONTH_END])
        cursor.execute(remeasured, [2, first.pk])
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_remeasurements_own_entry_moves_only_adjustments_on_its_day(world):
    """The entries of a remeasurement's kind move lots on a measured day, but adjustments
    alone: units or cost moved there under that kind are refused like any other."""
    opening()
    first = fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    lot = Lot.objects.order_by("pk").first()
    moved = (
        "INSERT INTO holdings_lotmovement (lot_id, entry_id, effective_date, kind, quantity, "
        "cost, fair_value_adjustment, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, now())"
    )
    for kind, quantity, cost in [("disposal", "-0.1", "-1000.00"), ("transfer_out", "-0.1", 0)]:
        with (
            pytest.raises(IntegrityError, match="holdings_lot_measured_days_kept"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(moved, [lot.pk, first.entry_id, MONTH_END, kind, quantity, cost, 0])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(moved, [lot.pk, first.entry_id, MONTH_END, "remeasurement", 0, 0, "12.00"])
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_late_pool_file_names_its_rows_dated_on_a_remeasured_day(
    world, staff_user, approver_user
):
    opening()
    first = fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    content = csv_file(
        [
            (date(2025, 12, 30), "OTH-B", "0.11", "0.01", "0.1"),
            (MONTH_END, "OTH-B", "0.11", "0.01", "0.1"),
            (date(2026, 1, 1), "OTH-B", "0.11", "0.01", "0.1"),
        ]
    )
    batch = run_import("csv", content, pool_account=None, file_name="late.csv")
    assert batch.status == BatchStatus.FAILED
    assert [(e["row"], e["field"]) for e in batch.errors] == [(2, "day"), (3, "day")]
    assert "BTC was remeasured at 2025-12-31" in batch.errors[0]["message"]
    assert "a record of 2025-12-30 would change them" in batch.errors[0]["message"]
    assert not ProductionRecord.objects.exists()

    # Cancel the remeasurement, import the file, remeasure the day again.
    cancel(first.entry, staff_user, approver_user)
    batch = run_import("csv", content, pool_account=None, file_name="late-again.csv")
    assert batch.status == BatchStatus.SUCCEEDED
    again = fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    assert again.attempt == 2 and again.units == first.units + D("0.2")
    books_agree(again)


@pytest.mark.django_db
def test_the_api_answers_409_naming_the_date_field(world, api_client_for):
    opening()
    fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    before = written()
    response = post(api_client_for("staff"), "/sales/", usd_sale_body("2025-12-31T15:30:00Z"))
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["field"]) == ("remeasured_day", "sold_at")
    assert "BTC was remeasured at 2025-12-31" in body["detail"]
    assert written() == before


@pytest.mark.django_db
def test_a_sales_preview_says_what_the_sale_would_on_a_remeasured_day(world, api_client_for):
    """The preview is refused as the sale itself would be, naming sold_at (it used to show
    the lots and the gain of a sale the ledger then refused); the day after, it plans."""
    opening()
    fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    before = written()
    with pytest.raises(RemeasuredDay) as refused:
        treasury.sale_preview(
            wallet="COLD-1",
            units=D("0.5"),
            sold_at=datetime(2025, 12, 31, 10, tzinfo=UTC),
            proceeds_commodity="USD",
            gross_proceeds=D("55000.00"),
        )
    assert refused.value.field == "sold_at"
    assert "BTC was remeasured at 2025-12-31" in str(refused.value)

    client = api_client_for("staff")
    response = post(client, "/sales/preview/", usd_sale_body("2025-12-31T15:30:00Z"))
    assert response.status_code == 409
    assert (response.json()["code"], response.json()["field"]) == ("remeasured_day", "sold_at")
    assert written() == before

    response = post(client, "/sales/preview/", usd_sale_body("2026-01-01T15:30:00Z"))
    assert response.status_code == 200, response.json()
    assert written() == before


@pytest.mark.django_db(transaction=True)
def test_a_late_file_imported_while_the_day_is_remeasured_waits_and_is_refused(
    tx_world, monkeypatch
):
    """The remeasurement has read the lots and not committed yet; a pool file with a record
    of the day before, imported meanwhile, would see no remeasurement and be measured by
    none. It waits for the remeasurement, then names its rows."""
    opening()
    barrier = threading.Barrier(2, timeout=30)
    held_at = fair_value_selectors.held_at

    def held_then_slow(code: str, as_of: date):
        held = held_at(code, as_of)
        barrier.wait()
        time.sleep(1.0)  # the import starts meanwhile
        return held

    monkeypatch.setattr(fair_value_selectors, "held_at", held_then_slow)
    made: list[Remeasurement] = []

    def remeasure() -> None:
        try:
            made.append(fair_value.remeasure(commodity="BTC", as_of=MONTH_END))
        finally:
            connection.close()

    thread = threading.Thread(target=remeasure)
    thread.start()
    barrier.wait()
    content = csv_file([(date(2025, 12, 30), "OTH-B", "0.11", "0.01", "0.1")])
    batch = run_import("csv", content, pool_account=None, file_name="late.csv")
    thread.join()
    [remeasured] = made
    assert remeasured.units == 3
    assert batch.status == BatchStatus.FAILED
    assert [(e["row"], e["field"]) for e in batch.errors] == [(2, "day")]
    assert "BTC was remeasured at 2025-12-31" in batch.errors[0]["message"]
    assert not ProductionRecord.objects.exists()
    books_agree(remeasured)


@pytest.mark.django_db(transaction=True)
def test_postgresql_has_lot_movements_wait_for_a_remeasurement_in_progress(tx_world):
    opening()
    lot = Lot.objects.order_by("pk").first()
    entry = JournalEntry.objects.get(kind="opening_balance")
    params = connection.get_connection_params()
    with psycopg.connect(**params) as measuring, psycopg.connect(**params) as moving:
        measuring.execute("SELECT pg_advisory_xact_lock(hashtext('holdings:lots-measured'))")
        moving.execute("SET lock_timeout = '1s'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            moving.execute(
                "INSERT INTO holdings_lotmovement (lot_id, entry_id, effective_date, kind, "
                "quantity, cost, fair_value_adjustment, created_at) "
                "VALUES (%s, %s, '2026-01-05', 'disposal', 0, 0, 0, now())",
                [lot.pk, entry.pk],
            )
        moving.rollback()
        measuring.rollback()


@pytest.mark.django_db
def test_the_command_remeasures_a_cancelled_day_again_and_says_so(world, staff_user, approver_user):
    opening()
    out = StringIO()
    call_command("remeasure", "--date", "2025-12-31", "--commodity", "BTC", stdout=out)
    assert out.getvalue().startswith("BTC at 2025-12-31: 3 units")
    cancel(Remeasurement.objects.get().entry, staff_user, approver_user)
    out = StringIO()
    call_command("remeasure", "--date", "2025-12-31", stdout=out)
    assert out.getvalue().startswith("BTC at 2025-12-31 (attempt 2): 3 units")
