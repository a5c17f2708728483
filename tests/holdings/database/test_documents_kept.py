"""What PostgreSQL refuses of the documents the services write, whoever writes
(holdings/migrations/0028_documents_kept_by_the_database.sql): a loan event changed, deleted
or truncated; a loan's terms or accounts changed once it has events; a site cost decided by
its maker or posted by another kind of entry. And what the services do still passes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from holdings.models import CostStatus, Loan, LoanEvent, SiteCost
from holdings.services import costs, loans, setup
from ledger import services as ledger_services
from ledger.models import Account, JournalEntry
from tests.earlier_ledgers import posted_without_its_document
from tests.holdings.services.test_costs import JULY, _typed
from tests.holdings.services.test_loans import make_loan

D = Decimal


def run_sql(sql: str, params: list | None = None) -> None:
    """Run SQL with the checks deferred to commit fired, as a COMMIT would: first those the
    fixtures' writes left pending (as their commit would have), then the statement's."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(sql, params or [])
    finally:
        # The test's later writes are checked at its end, as a service's are at its commit
        # (a loan event is written after its entry).
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def refused(sql: str, params: list | None = None) -> str:
    """Run SQL that must fail as a rule's refusal (SQLSTATE 23514); return its message."""
    with pytest.raises(IntegrityError) as caught:
        run_sql(sql, params)
    assert caught.value.__cause__.sqlstate == "23514", caught.value
    return str(caught.value)


# --- loans -------------------------------------------------------------------------------


@pytest.fixture
def loan(chart) -> Loan:
    return make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))


@pytest.fixture
def drawn(loan) -> Loan:
    """A loan with a draw, a day's interest and a repayment, each with its entry (and the
    tier its LTV crossed, with no collateral pledged)."""
    loans.loan_draw(loan=loan, amount=D("1000.00"), on=date(2026, 6, 1))
    loans.loan_accrue(loan=loan, on=date(2026, 6, 1))
    loans.loan_repay(loan=loan, amount=D("100.00"), on=date(2026, 6, 2))
    kinds = sorted(loan.events.values_list("kind", flat=True))
    assert kinds == ["accrual", "draw", "repayment", "tier"]
    return loan


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sql", "done"),
    [
        ("UPDATE holdings_loanevent SET amount = amount * 10 WHERE kind = 'draw'", "updated"),
        ("UPDATE holdings_loanevent SET details = '{}' WHERE kind = 'repayment'", "updated"),
        ("UPDATE holdings_loanevent SET entry_id = NULL WHERE kind = 'accrual'", "updated"),
        ("UPDATE holdings_loanevent SET effective_date = effective_date + 1", "updated"),
        ("DELETE FROM holdings_loanevent WHERE kind = 'repayment'", "deleted"),
        ("TRUNCATE holdings_loanevent CASCADE", "truncated"),
    ],
)
def test_a_loan_event_is_evidence_even_to_raw_sql(drawn, sql, done):
    message = refused(sql)
    assert message.startswith(
        f"holdings_loanevent_immutable: holdings_loanevent rows are evidence: they cannot be {done}"
    )
    assert LoanEvent.objects.filter(loan=drawn).count() == 4


# Every column of a loan, each changed alone to another value.
LOAN_COLUMNS = {
    "id": "id = id + 1000000",
    "code": "code = 'L-2'",
    "lender": "lender = 'Another Lender'",
    "principal_commodity_id": "principal_commodity_id = 'USDT'",
    "collateral_commodity_id": "collateral_commodity_id = 'KAS'",
    "annual_rate": "annual_rate = annual_rate + 0.01",
    "day_count": "day_count = 'ACT/360'",
    "start_date": "start_date = start_date + 1",
    "maturity_date": "maturity_date = maturity_date + 1",
    "warning_ltv": "warning_ltv = warning_ltv - 0.01",
    "margin_call_ltv": "margin_call_ltv = margin_call_ltv + 0.01",
    "liquidation_ltv": "liquidation_ltv = liquidation_ltv + 0.01",
    "cure_hours": "cure_hours = cure_hours + 1",
    "principal_account_id": "principal_account_id = (SELECT id FROM ledger_account"
    " WHERE code = '1000')",
    "interest_account_id": "interest_account_id = (SELECT id FROM ledger_account"
    " WHERE code = '1000')",
    "pledged_account_id": "pledged_account_id = (SELECT id FROM ledger_account"
    " WHERE code = '1000')",
    "lent_account_id": "lent_account_id = (SELECT id FROM ledger_account WHERE code = '1000')",
    "created_at": "created_at = created_at - interval '1 day'",
}


EVENT_AGAIN = (
    "INSERT INTO holdings_loanevent (loan_id, kind, effective_date, amount, units, details,"
    " entry_id, created_at, attempt) SELECT loan_id, %s, effective_date, amount, units, details,"
    " %s, now(), 1 FROM holdings_loanevent WHERE kind = 'draw'"
)


@pytest.mark.django_db
def test_a_loan_event_is_posted_by_an_entry_of_its_own_kind(drawn):
    """A draw written by raw SQL with an entry of another kind (any entry no loan event
    names yet), or with none at all, made the loan's events disagree with its accounts."""
    other = ledger_services.entry_post(
        effective_date=date(2026, 6, 3),
        memo="not a draw",
        kind="general",
        postings=[("1000", D("5.00"), D("5.00")), ("3000", D("-5.00"), D("-5.00"))],
    )
    entries = JournalEntry.objects.count()
    message = refused(EVENT_AGAIN, ["draw", other.pk])
    assert "holdings_document_entry_kind: loan event" in message
    assert f"is posted by a loan_draw entry; entry {other.pk} is a general entry" in message
    assert "holdings_loan_event_posted" in refused(EVENT_AGAIN, ["draw", None])
    assert "holdings_loan_event_posted" in refused(EVENT_AGAIN, ["repayment", None])
    assert drawn.events.count() == 4
    assert JournalEntry.objects.count() == entries


def bare_entry(debit: int, credit: int, amount: str, kind: str = "general") -> str:
    """One USD entry of two postings, as raw SQL writes it (returns nothing)."""
    return (
        "WITH e AS (INSERT INTO ledger_journalentry (effective_date, memo, kind, status,"
        f" payload_hash, created_at) VALUES ('2026-06-03', 'raw', '{kind}', 'posted', '',"
        " now()) RETURNING id) INSERT INTO ledger_posting (entry_id, account_id, commodity_id,"
        " scale, effective_date, quantity, value) SELECT id, a, 'USD', 2, '2026-06-03', q, q"
        f" FROM e, (VALUES ({debit}, {amount}::numeric), ({credit}, -{amount}::numeric)) v(a, q)"
    )


@pytest.mark.django_db
def test_a_loans_accounts_move_only_with_its_events(drawn):
    """A bare entry paid down a loan's principal (or accrued its interest) with no event, and
    an event said another amount than its entry posted: the loan no longer equalled its
    accounts."""
    cash = Account.objects.get(code="1000").pk
    principal, interest = drawn.principal_account_id, drawn.interest_account_id
    entries, events = JournalEntry.objects.count(), drawn.events.count()
    message = refused(bare_entry(principal, cash, "100.00"))
    assert "holdings_loan_matches_entries: entry #" in message
    assert "posts 100.00 to the principal and 0 to the interest of loan L-1" in message
    assert "but no loan event of it says 0 and 0" in message
    # Under the loan's own kind, its own rule (holdings 0056) refuses it first.
    message = refused(bare_entry(principal, cash, "100.00", "loan_repayment"))
    assert "is a loan_repayment entry, but no loan event names it" in message
    assert "holdings_loan_matches_entries" in refused(bare_entry(cash, interest, "5.00"))
    with (
        pytest.raises(IntegrityError) as caught,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        raw = bare_entry(principal, cash, "100.00", "loan_repayment")
        cursor.execute(f"{raw} RETURNING entry_id")
        (entry_id,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO holdings_loanevent (loan_id, kind, effective_date, amount, units,"
            " details, entry_id, created_at, attempt) VALUES (%s, 'repayment', '2026-06-03',"
            " 100, 0, %s, %s, now(), 1)",
            [drawn.pk, '{"principal": "60.00", "interest": "40.00"}', entry_id],
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what COMMIT would check
    message = str(caught.value)
    assert "posts 100.00 to the principal and 0 to the interest of loan L-1, but its" in message
    assert "repayment event says 60.00 and 40.00" in message
    assert (JournalEntry.objects.count(), drawn.events.count()) == (entries, events)


def test_every_column_of_a_loan_is_tried():
    assert set(LOAN_COLUMNS) == {field.column for field in Loan._meta.concrete_fields}


@pytest.mark.django_db
@pytest.mark.parametrize(("column", "change"), LOAN_COLUMNS.items(), ids=list(LOAN_COLUMNS))
def test_a_loan_with_events_keeps_its_terms_and_accounts(drawn, column, change):
    message = refused(f"UPDATE holdings_loan SET {change} WHERE id = %s", [drawn.pk])
    assert message.startswith("holdings_loan_terms_kept: loan L-1 has events")
    assert f"({column} would change)" in message


@pytest.mark.django_db
def test_a_loan_is_set_up_until_its_first_event_and_its_events_still_recorded(loan):
    # No event yet: nothing was computed or posted by its terms.
    run_sql(
        "UPDATE holdings_loan SET annual_rate = 0.073, day_count = 'ACT/360' WHERE id = %s",
        [loan.pk],
    )
    loan.refresh_from_db()
    # The services record its events (an accrual locks the loan's row, and changes nothing).
    loans.loan_draw(loan=loan, amount=D("1000000.00"), on=date(2026, 6, 1))
    accrued = loans.loan_accrue(loan=loan, on=date(2026, 6, 1))
    assert accrued.amount == D("202.78")  # 1,000,000 x 7.3% / 360
    loans.loan_repay(loan=loan, amount=D("1000.00"), on=date(2026, 6, 2))
    # An UPDATE that changes nothing is no change.
    run_sql("UPDATE holdings_loan SET annual_rate = annual_rate WHERE id = %s", [loan.pk])
    assert "annual_rate would change" in refused(
        "UPDATE holdings_loan SET annual_rate = 0.10 WHERE id = %s", [loan.pk]
    )


# --- site costs --------------------------------------------------------------------------


@pytest.fixture
def site(chart):
    return setup.site_create(
        code="SITE-A", name="SITE-A", region="North America", deployed_hashrate_hs="1000"
    )


@pytest.fixture
def typed(site, staff_user) -> SiteCost:
    """An invoice a person typed, waiting for another person's approval."""
    return costs.site_cost_submit(line=_typed(), by=staff_user)


def post_entry(kind: str) -> int:
    """An entry of `kind`, no site cost's (nor any document's: as a ledger kept before holdings
    0056 may hold one)."""
    return posted_without_its_document(
        effective_date=date(2025, 7, 31),
        memo=f"a {kind} entry",
        postings=[("1000", D("800.00"), D("800.00")), ("3000", D("-800.00"), D("-800.00"))],
        kind=kind,
    ).pk


@pytest.mark.django_db
def test_a_site_cost_is_not_decided_by_its_maker(typed):
    # Posted by an entry of its kind, approved by the person who typed it.
    entry = post_entry("site_cost")
    for decision in (
        f"status = 'posted', entry_id = {entry}",
        "status = 'rejected', rejection_reason = 'mine'",
    ):
        message = refused(
            f"UPDATE holdings_sitecost SET {decision}, decided_by_id = created_by_id,"
            " decided_at = now() WHERE id = %s",
            [typed.pk],
        )
        assert 'violates check constraint "holdings_site_cost_not_self_decided"' in message
    typed.refresh_from_db()
    assert (typed.status, typed.entry_id, typed.decided_by_id) == ("submitted", None, None)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["general", "sale", "loan_draw", "cost_accrual"])
def test_a_typed_invoice_is_posted_by_a_site_cost_entry_alone(typed, approver_user, kind):
    entry = post_entry(kind)
    message = refused(
        "UPDATE holdings_sitecost SET status = 'posted', entry_id = %s, decided_by_id = %s,"
        " decided_at = now() WHERE id = %s",
        [entry, approver_user.pk, typed.pk],
    )
    assert message.startswith(
        f"holdings_site_cost_entry_kind: site cost {typed.pk} (origin typed) is posted by a "
        f"site_cost entry; entry {entry} is a {kind} entry"
    )


@pytest.mark.django_db
def test_an_accrual_is_posted_by_an_accrual_entry_even_when_inserted(site):
    costs.site_costs_import(content=JULY.replace(b"SITE-B", b"SITE-A"), file_name="july.csv")
    invoice = SiteCost.objects.get(reference="H-07")
    entry = post_entry("site_cost")
    message = refused(
        "INSERT INTO holdings_sitecost (site_id, kind, origin, vendor, reference, period_start,"
        " period_end, energy, demand, taxes, credits, amount, hosting_basis, description, paid,"
        " status, entry_id, created_at, rejection_reason)"
        " SELECT site_id, kind, 'accrual', vendor, 'ACCRUAL-2025-07', period_start, period_end,"
        " 0, 0, 0, 0, amount, '', '', false, 'posted', %s, now(), '' FROM holdings_sitecost"
        " WHERE id = %s",
        [entry, invoice.pk],
    )
    assert message.startswith("holdings_site_cost_entry_kind: site cost ")
    assert f"(origin accrual) is posted by a cost_accrual entry; entry {entry} is a site_cost" in (
        message
    )


@pytest.mark.django_db
def test_the_services_still_post_and_decide_site_costs(site, staff_user, approver_user):
    costs.site_costs_import(content=JULY.replace(b"SITE-B", b"SITE-A"), file_name="july.csv")
    accruals = costs.site_costs_accrue(month=date(2025, 8, 1))
    typed = costs.site_cost_submit(line=_typed("T-8", month="2025-08"), by=staff_user)
    other = costs.site_cost_submit(line=_typed("T-9", month="2025-08"), by=staff_user)
    approved = costs.site_cost_approve(cost=typed, by=approver_user)
    rejected = costs.site_cost_reject(cost=other, by=approver_user, reason="duplicate")
    posted = {
        (cost.origin, cost.entry.kind)
        for cost in SiteCost.objects.filter(status=CostStatus.POSTED).select_related("entry")
    }
    assert posted == {("file", "site_cost"), ("accrual", "cost_accrual"), ("typed", "site_cost")}
    assert len(accruals) == 2 and approved.reverses is not None
    assert (approved.decided_by, rejected.decided_by) == (approver_user, approver_user)


@pytest.mark.django_db(transaction=True)
def test_an_update_racing_a_loans_first_event_waits_for_it_and_is_refused(tx_world):
    """The first event is inserted by a transaction not yet committed; an update of the
    loan's terms meanwhile waits for it (it would otherwise see no event and pass), then is
    refused once the event is committed."""
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))
    params = connection.get_connection_params()
    event = (
        "INSERT INTO holdings_loanevent (loan_id, kind, effective_date, amount, units, details,"
        " created_at) VALUES (%s, 'tier', '2026-06-01', 0, 0, '{}', now())"
    )
    with psycopg.connect(**params) as first, psycopg.connect(**params) as second:
        first.execute(event, [loan.pk])  # left uncommitted
        second.execute("SET lock_timeout = '1s'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            second.execute("UPDATE holdings_loan SET annual_rate = 0.2 WHERE id = %s", [loan.pk])
        second.rollback()
        first.commit()
        with pytest.raises(psycopg.errors.CheckViolation, match="holdings_loan_terms_kept"):
            second.execute("UPDATE holdings_loan SET annual_rate = 0.2 WHERE id = %s", [loan.pk])
    loan.refresh_from_db()
    assert loan.annual_rate == D("0.10") and loan.events.count() == 1
