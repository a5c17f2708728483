"""A loan's payments go in date order. A repayment or liquidation is split interest first on
what the loan owes on its day and capped by it; dated before a later standing payment, it
would be split and capped on what that one already paid (the loan repaid twice, its
principal account left in debit). Refused by the services (409, naming `on`) and by
PostgreSQL; cancelling the later payment lets it in."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from holdings.errors import AccruedDay, HoldingsError, PaymentOutOfOrder
from holdings.models import LoanEvent, LoanEventKind
from holdings.services import loans
from ledger import selectors as ledger_selectors
from ledger import services as ledger_services
from tests.holdings.api.test_loans import loan_world, post, running_loan  # noqa: F401
from tests.holdings.api.test_loans import written as loan_rows
from tests.holdings.services.test_cancellations import cancel
from tests.holdings.services.test_loans import make_loan

D = Decimal


def owed_principal(loan, on: date) -> Decimal:
    return -ledger_selectors.account_balance(account=loan.principal_account, as_of=on).quantity


@pytest.fixture
def repaid_loan(chart, settings):
    """A USD loan L-1 (2028-02-27 to 2028-03-31): 1,000.00 drawn on 02-27, all of it repaid
    on 03-10, with 5,000.00 of cash to pay from."""
    settings.POSTING_HORIZON_DAYS = 3660
    loan = make_loan()
    ledger_services.entry_post(
        effective_date=date(2028, 2, 27),
        memo="Capital",
        postings=[("1000", D("5000.00"), D("5000.00")), ("3000", D("-5000.00"), D("-5000.00"))],
    )
    loans.loan_draw(loan=loan, amount=D("1000.00"), on=date(2028, 2, 27))
    loans.loan_repay(loan=loan, amount=D("1000.00"), on=date(2028, 3, 10))
    return loan


@pytest.mark.django_db
def test_a_payment_dated_before_a_later_one_is_refused(repaid_loan, staff_user, approver_user):
    loan = repaid_loan
    with pytest.raises(HoldingsError, match="exceeds"):
        loans.loan_repay(loan=loan, amount=D("1000.00"), on=date(2028, 3, 12))
    before = loan_rows()
    # Dated before the repayment of 03-10, it would have repaid the loan a second time.
    with pytest.raises(PaymentOutOfOrder) as refused:
        loans.loan_repay(loan=loan, amount=D("1000.00"), on=date(2028, 3, 1))
    assert refused.value.field == "on"
    repayment = LoanEvent.objects.get(loan=loan, kind=LoanEventKind.REPAYMENT)
    message = str(refused.value)
    assert "repayment of 2028-03-10" in message and f"#{repayment.entry.sequence}" in message
    assert "date it on or after 2028-03-10" in message
    assert loan_rows() == before
    assert owed_principal(loan, date(2028, 3, 31)) == 0

    # Once the later repayment is cancelled, the earlier one goes in, and the loan is repaid
    # once.
    cancel(repayment.entry, staff_user, approver_user)
    loans.loan_repay(loan=loan, amount=D("1000.00"), on=date(2028, 3, 1))
    assert owed_principal(loan, date(2028, 3, 31)) == 0
    # On the day of the last payment, or after it, is in order.
    loans.loan_draw(loan=loan, amount=D("500.00"), on=date(2028, 3, 5))
    loans.loan_repay(loan=loan, amount=D("200.00"), on=date(2028, 3, 5))
    loans.loan_repay(loan=loan, amount=D("100.00"), on=date(2028, 3, 5))  # the same day
    loans.loan_repay(loan=loan, amount=D("200.00"), on=date(2028, 3, 6))
    assert owed_principal(loan, date(2028, 3, 31)) == 0


@pytest.mark.django_db
def test_the_api_answers_409_naming_on(running_loan, api_client_for):  # noqa: F811
    client = api_client_for("staff")
    first = post(client, "/loans/L-1/repayments/", {"amount": "100.00", "on": "2026-01-05"})
    assert first.status_code == 201, first.content
    before = loan_rows()
    response = post(client, "/loans/L-1/repayments/", {"amount": "100.00", "on": "2026-01-04"})
    assert response.status_code == 409, response.content
    body = response.json()
    assert (body["code"], body["field"]) == ("payment_out_of_order", "on")
    assert "repayment of 2026-01-05" in body["detail"]
    assert loan_rows() == before


def raw_entry(cursor, kind: str, day: str) -> int:
    """An entry of the loan event's own kind (two USD postings) for a raw event to name, as
    every event that moves money has (holdings migration 0037): the rules tried here refuse
    the event before the check at commit would hold it to its entry."""
    cursor.execute(
        "WITH e AS (INSERT INTO ledger_journalentry (effective_date, memo, kind, status,"
        " payload_hash, created_at) VALUES (%s, 'raw', %s, 'posted', '', now()) RETURNING id),"
        " p AS (INSERT INTO ledger_posting (entry_id, account_id, commodity_id, scale,"
        " effective_date, quantity, value) SELECT e.id, a.id, 'USD', 2, %s, v.q, v.q"
        " FROM e, ledger_account a JOIN (VALUES ('1000', 1.00), ('3000', -1.00)) v(code, q)"
        " ON v.code = a.code) SELECT id FROM e",
        [day, f"loan_{kind}", day],
    )
    return cursor.fetchone()[0]


@pytest.mark.django_db
def test_postgresql_keeps_payments_in_order(repaid_loan):
    loan = repaid_loan
    later = LoanEvent.objects.get(loan=loan, kind=LoanEventKind.REPAYMENT)
    for kind in ("repayment", "liquidation"):
        with (
            pytest.raises(IntegrityError, match="holdings_loan_payments_in_order") as refused,
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                "INSERT INTO holdings_loanevent (loan_id, kind, effective_date, amount, "
                "units, entry_id, details, created_at) "
                "VALUES (%s, %s, '2028-03-01', 1000.00, 0, %s, '{}', now())",
                [loan.pk, kind, raw_entry(cursor, kind, "2028-03-01")],
            )
        assert f"comes before its repayment of 2028-03-10 (entry #{later.entry.sequence})" in str(
            refused.value
        )
    # A draw is no payment: dated before the repayment, it is let in by this rule.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO holdings_loanevent (loan_id, kind, effective_date, amount, units, "
            "entry_id, details, created_at) "
            "VALUES (%s, 'draw', '2028-03-01', 1000.00, 0, %s, '{}', now())",
            [loan.pk, raw_entry(cursor, "draw", "2028-03-01")],
        )
        transaction.set_rollback(True)


# --- what changes the principal is not dated under its interest accrued -----------------


def accrued(loan) -> list[tuple[date, int, Decimal, str]]:
    """The loan's accruals (day, attempt, interest, principal found), in order."""
    return [
        (event.effective_date, event.attempt, event.amount, event.details["outstanding"])
        for event in LoanEvent.objects.filter(loan=loan, kind=LoanEventKind.ACCRUAL).order_by(
            "effective_date", "attempt"
        )
    ]


def interest_owed(loan, on: date) -> Decimal:
    return -ledger_selectors.account_balance(account=loan.interest_account, as_of=on).quantity


@pytest.mark.django_db
def test_a_draw_dated_under_standing_accruals_waits_for_their_cancellation(
    chart, settings, staff_user, approver_user
):
    """Each day's interest is computed on the principal it ends with: a draw dated under
    accruals left them computed on the old one (interest understated, the accruals
    disagreeing with the journal). Refused, naming `on`; once the accruals from its day are
    cancelled, it goes in and those days are accrued again on what the loan owes."""
    settings.POSTING_HORIZON_DAYS = 3660
    loan = make_loan()  # 10% ACT/365
    loans.loan_draw(loan=loan, amount=D("1000000.00"), on=date(2028, 2, 27))
    loans.loan_accrue_through(loan=loan, through=date(2028, 3, 2))  # 273.97 a day
    before = loan_rows()
    with pytest.raises(AccruedDay) as refused:
        loans.loan_draw(loan=loan, amount=D("1000000.00"), on=date(2028, 3, 1))
    assert refused.value.field == "on"
    assert "accrued through 2028-03-02" in str(refused.value)
    assert "cancel its accruals from 2028-03-01 first" in str(refused.value)
    assert loan_rows() == before

    for event in LoanEvent.objects.filter(
        loan=loan, kind=LoanEventKind.ACCRUAL, effective_date__gte=date(2028, 3, 1)
    ):
        cancel(event.entry, staff_user, approver_user)
    loans.loan_draw(loan=loan, amount=D("1000000.00"), on=date(2028, 3, 1))
    redone = loans.loan_accrue_through(loan=loan, through=date(2028, 3, 2))
    assert [(e.effective_date, e.attempt, e.amount) for e in redone] == [
        (date(2028, 3, 1), 2, D("547.95")),
        (date(2028, 3, 2), 2, D("547.95")),
    ]
    # Every standing accrual agrees with the journal's principal of its day, and the interest
    # owed is what they add up to.
    for day, attempt, _interest, found in accrued(loan):
        if attempt == 2 or day < date(2028, 3, 1):
            assert D(found) == owed_principal(loan, day), day
    assert interest_owed(loan, date(2028, 3, 2)) == 3 * D("273.97") + 2 * D("547.95")
    # Nothing more to accrue: the nightly job finds every day as the loan owes it.
    assert loans.loan_accrue_through(loan=loan, through=date(2028, 3, 2)) == []


@pytest.mark.django_db
def test_days_accrued_at_nothing_are_accrued_again_once_the_principal_changes(chart, settings):
    """A loan set up before its first draw accrues nothing (no entry, nothing to cancel):
    a draw recorded late, dated back to its start, is let in, and those days are accrued
    again on it."""
    settings.POSTING_HORIZON_DAYS = 3660
    loan = make_loan()
    loans.loan_accrue_through(loan=loan, through=date(2028, 2, 29))
    assert [(a, i) for _d, a, i, _o in accrued(loan)] == [(1, D("0"))] * 3
    loans.loan_draw(loan=loan, amount=D("1000000.00"), on=date(2028, 2, 27))
    loans.loan_accrue_through(loan=loan, through=date(2028, 2, 29))
    assert [(a, i) for _d, a, i, _o in accrued(loan)] == [(1, D("0")), (2, D("273.97"))] * 3
    assert interest_owed(loan, date(2028, 2, 29)) == 3 * D("273.97")


@pytest.mark.django_db
def test_the_api_answers_409_accrued_day(running_loan, api_client_for):  # noqa: F811
    client = api_client_for("staff")
    accrual = post(client, "/loans/L-1/accruals/", {"on": "2026-01-02"})
    assert accrual.status_code == 201, accrual.content
    before = loan_rows()
    for url, body in [
        ("/loans/L-1/draws/", {"amount": "10.00", "on": "2026-01-02"}),
        ("/loans/L-1/repayments/", {"amount": "10.00", "on": "2026-01-01"}),
    ]:
        response = post(client, url, body)
        assert response.status_code == 409, response.content
        assert (response.json()["code"], response.json()["field"]) == ("accrued_day", "on")
    assert loan_rows() == before
    assert (
        post(client, "/loans/L-1/draws/", {"amount": "10.00", "on": "2026-01-03"}).status_code
        == 201
    )


@pytest.mark.django_db
def test_postgresql_keeps_accruals_and_what_changes_the_principal_in_order(
    chart, settings, staff_user, approver_user
):
    settings.POSTING_HORIZON_DAYS = 3660
    loan = make_loan()
    loans.loan_draw(loan=loan, amount=D("1000.00"), on=date(2028, 2, 27))
    first = loans.loan_accrue(loan=loan, on=date(2028, 2, 28))

    def insert(kind: str, day: str, attempt: int = 1) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            # An accrual of nothing posts no entry; anything else has its own.
            entry = None if kind == "accrual" else raw_entry(cursor, kind, day)
            cursor.execute(
                "INSERT INTO holdings_loanevent (loan_id, kind, effective_date, amount, units, "
                "details, created_at, attempt, entry_id) "
                "VALUES (%s, %s, %s, 0, 0, '{}', now(), %s, %s)",
                [loan.pk, kind, day, attempt, entry],
            )

    for kind in ("draw", "repayment", "liquidation"):
        with pytest.raises(IntegrityError, match="holdings_loan_events_follow_accruals"):
            insert(kind, "2028-02-28")
    with pytest.raises(IntegrityError, match="holdings_loan_accrual_attempt_follows"):
        insert("accrual", "2028-02-28", attempt=2)  # the first stands
    with pytest.raises(IntegrityError, match="holdings_loan_accrual_attempt_follows"):
        insert("accrual", "2028-03-01", attempt=2)  # no first to follow
    with pytest.raises(IntegrityError, match="holdings_loan_event_attempt_counted"):
        insert("draw", "2028-03-05", attempt=2)
    cancel(first.entry, staff_user, approver_user)
    insert("draw", "2028-02-28")  # the accrual cancelled: let in
