"""Through the API, as a finance user would try it: a document's entries change only through
the document's cancellation (asked for by one person, approved by another), lots are taken
only as they stand on the operation's day and after, and retried writes are recorded once.
After every refused attempt the lots equal the ledger and the beancount export passes."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from holdings.models import Lot, Sale, Transfer
from holdings.selectors import lots as lots_selectors
from holdings.services import loans, setup, treasury
from ledger import services as ledger_services
from ledger.models import Cancellation, CancellationStatus, JournalEntry
from tests.holdings.beancount_checks import export_text, load_checked
from tests.holdings.services.test_loans import make_loan
from tests.holdings.services.test_treasury import OPENING, holdings_at_fair_value, sell

API = "/api/v1"
D = Decimal


def books_hold(*days: date) -> None:
    for day in days or (date(2026, 1, 31), date(2026, 2, 28)):
        assert lots_selectors.lot_differences(as_of=day) == [], day
        load_checked(export_text(day))


def post(client: Any, url: str, body: Any, **headers: str) -> Any:
    return client.post(f"{API}{url}", body, format="json", headers=headers)


@pytest.fixture
def loan_world(world):
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    return make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))


# --- finding 1: an entry is undone only through its document -------------------------------


@pytest.mark.django_db
def test_a_sale_is_undone_only_by_its_approved_cancellation(world, api_client_for):
    holdings_at_fair_value()
    sale = sell()
    staff, approver = api_client_for("staff"), api_client_for("approver")

    assert post(staff, f"/journal-entries/{sale.entry_id}/reverse/", {}).status_code == 404
    asked = post(staff, "/cancellations/", {"entry": sale.entry_id, "reason": "not settled"})
    assert asked.status_code == 201, asked.json()
    assert asked.json()["document"] == "sale T-1" and asked.json()["reversal"] is None
    # The one who asked cannot approve; an approver can.
    mine = post(staff, f"/cancellations/{asked.json()['id']}/approve/", {})
    assert mine.status_code == 403
    done = post(approver, f"/cancellations/{asked.json()['id']}/approve/", {})
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == CancellationStatus.APPROVED

    lots = staff.get(f"{API}/lots/?account=1210-COLD-1&as_of=2026-01-31").json()
    rows = lots["results"] if isinstance(lots, dict) else lots
    assert sum(D(lot["quantity"]) for lot in rows) == D("3")
    books_hold()


@pytest.mark.django_db
def test_a_loan_accrual_is_cancelled_with_its_interest(loan_world, api_client_for):
    staff, approver = api_client_for("staff"), api_client_for("approver")
    assert (
        post(
            staff,
            "/loans/L-1/pledges/",
            {"units": "3", "from_wallet": "COLD-1", "on": "2026-01-01"},
        ).status_code
        == 201
    )
    assert (
        post(staff, "/loans/L-1/draws/", {"amount": "150000.00", "on": "2026-01-01"}).status_code
        == 201
    )
    accrual = post(staff, "/loans/L-1/accruals/", {"on": "2026-01-02"}).json()
    entry = JournalEntry.objects.get(loan_event__pk=accrual["id"])
    asked = post(staff, "/cancellations/", {"entry": entry.pk, "reason": "wrong rate"}).json()
    post(approver, f"/cancellations/{asked['id']}/approve/", {})
    loan = staff.get(f"{API}/loans/L-1/?as_of=2026-01-02").json()
    assert D(loan["status"]["interest"]) == 0
    books_hold(date(2026, 1, 2))


# --- finding 2: lots are taken as they stand on the day and every day after -------------------


@pytest.mark.django_db
def test_a_back_dated_pledge_cannot_take_lots_the_wallet_did_not_hold(loan_world, api_client_for):
    staff = api_client_for("staff")
    setup.wallet_create(code="USDT-1", name="USDT", commodity="USDT", parent_account="1110")
    treasury.sale_record(
        reference="S-1",
        wallet="COLD-1",
        units=D("2.5"),
        sold_at=datetime(2026, 1, 20, tzinfo=UTC),
        proceeds_commodity="USD",
        gross_proceeds=D("250000"),
    )
    before = Lot.objects.filter(quantity__gt=0).count()
    for body in (
        # The wallet held 3 on the 5th, but kept only 0.5 from the 20th on.
        {"units": "1", "from_wallet": "COLD-1", "on": "2026-01-05"},
        # Before the loan's start.
        {"units": "0.5", "from_wallet": "COLD-1", "on": "2025-12-31"},
    ):
        response = post(staff, "/loans/L-1/pledges/", body)
        assert response.status_code == 400, response.json()
        assert response.json()["field"] in ("units", "on")
    assert Lot.objects.filter(quantity__gt=0).count() == before
    assert (
        post(
            staff,
            "/loans/L-1/pledges/",
            {"units": "0.5", "from_wallet": "COLD-1", "on": "2026-01-05"},
        ).status_code
        == 201
    )
    books_hold(date(2026, 1, 5), date(2026, 1, 31))


# --- finding 3: a retried write is recorded once -------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "body", "other"),
    [
        ("/loans/L-1/draws/", {"amount": "100.00", "on": "2026-01-02"}, {"amount": "101.00"}),
        (
            "/loans/L-1/pledges/",
            {"units": "1", "from_wallet": "COLD-1", "on": "2026-01-02"},
            {"units": "2"},
        ),
        ("/loans/L-1/accruals/", {"on": "2026-01-03"}, {"on": "2026-01-04"}),
    ],
)
def test_a_loan_event_retried_with_its_key_is_recorded_once(
    loan_world, api_client_for, url, body, other
):
    staff = api_client_for("staff")
    if "draws" in url or "accruals" in url:
        loans.loan_pledge(loan=loan_world, units=D("3"), from_wallet="COLD-1", on=date(2026, 1, 1))
    first = post(staff, url, body, **{"Idempotency-Key": "retry-1"})
    assert first.status_code == 201, first.json()
    events = loan_world.events.exclude(kind="tier").count()
    again = post(staff, url, body, **{"Idempotency-Key": "retry-1"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert loan_world.events.exclude(kind="tier").count() == events
    clash = post(staff, url, {**body, **other}, **{"Idempotency-Key": "retry-1"})
    assert clash.status_code == 409, clash.json()
    assert loan_world.events.exclude(kind="tier").count() == events


@pytest.mark.django_db
def test_a_transfer_retried_with_its_key_is_recorded_once(loan_world, api_client_for):
    staff = api_client_for("staff")
    body = {
        "txid": "cd" * 32,
        "from_wallet": "COLD-1",
        "to_wallet": "HOT-1",
        "units": "0.5",
        "fee_units": "0.0001",
        "sent_at": "2026-01-05T10:00:00Z",
    }
    first = post(staff, "/transfers/", body, **{"Idempotency-Key": "t-1"})
    assert first.status_code == 201, first.json()
    again = post(staff, "/transfers/", body, **{"Idempotency-Key": "t-1"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert (
        post(
            staff, "/transfers/", {**body, "units": "0.6"}, **{"Idempotency-Key": "t-1"}
        ).status_code
        == 409
    )
    assert Transfer.objects.count() == 1
    books_hold(date(2026, 1, 5))


# --- concurrency: a cancellation racing a sale ---------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_a_cancellation_racing_a_sale_of_its_lots_leaves_the_books_whole(
    tx_world, staff_user, approver_user
):
    """A transfer's lots arrive in HOT-1; one connection cancels the transfer while another
    sells from HOT-1. Whichever commits first wins; the other is refused or takes what is
    left, and the lots equal the ledger on every day."""
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    transfer = treasury.transfer_record(
        txid="ef" * 32,
        from_wallet="COLD-1",
        to_wallet="HOT-1",
        units=D("3"),
        sent_at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    asked, _ = ledger_services.cancellation_request(
        entry=transfer.entry, reason="sent in error", by=staff_user
    )
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def run(name: str, work: Any) -> None:
        try:
            barrier.wait()
            work()
            outcomes[name] = "done"
        except Exception as exc:  # the refusal is the outcome under test
            outcomes[name] = type(exc).__name__
        finally:
            connection.close()

    threads = [
        threading.Thread(
            target=run,
            args=(
                "cancel",
                lambda: ledger_services.cancellation_approve(cancellation=asked, by=approver_user),
            ),
        ),
        threading.Thread(
            target=run,
            args=(
                "sale",
                lambda: treasury.sale_record(
                    reference="RACE",
                    wallet="HOT-1",
                    units=D("1"),
                    sold_at=datetime(2026, 1, 10, tzinfo=UTC),
                    proceeds_commodity="USD",
                    gross_proceeds=D("100000"),
                ),
            ),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes.values()).count("done") == 1, outcomes
    cancelled = Cancellation.objects.get(pk=asked.pk).status == CancellationStatus.APPROVED
    assert cancelled != Sale.objects.filter(reference="RACE").exists()
    for day in (date(2026, 1, 5) + timedelta(days=n) for n in range(10)):
        assert lots_selectors.lot_differences(as_of=day) == [], day


# --- below the application -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_sale_of_a_lot_changed_below_the_application_is_refused_not_a_500(
    tx_world, api_client_for
):
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    lot = Lot.objects.filter(account__code="1210-COLD-1").order_by("acquired_at").first()
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "UPDATE holdings_lot SET quantity = quantity - 0.5, cost = cost - 40000 WHERE id = %s",
            [lot.pk],
        )
        cursor.execute("SET session_replication_role = DEFAULT")
    response = post(
        api_client_for("staff"),
        "/sales/",
        {
            "reference": "TAMPERED",
            "wallet": "COLD-1",
            "units": "1.5",
            "sold_at": "2026-01-10T15:30:00Z",
            "proceeds_commodity": "USD",
            "gross_proceeds": "150000",
        },
    )
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "holdings_lot_matches_movements"
    assert f"lot {lot.pk}" in response.json()["detail"]
    assert not Sale.objects.filter(reference="TAMPERED").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_two_accruals_of_one_day_at_once_accrue_it_once(tx_world):
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))
    loans.loan_draw(loan=loan, amount=D("1000000.00"), on=date(2026, 1, 1))
    barrier = threading.Barrier(2)
    created: list[bool] = []

    def accrue() -> None:
        try:
            barrier.wait()
            created.append(loans.loan_accrue_once(loan=loan, on=date(2026, 1, 2))[1])
        finally:
            connection.close()

    threads = [threading.Thread(target=accrue) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(created) == [False, True]
    assert loan.events.filter(kind="accrual").count() == 1
