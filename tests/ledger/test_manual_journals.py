"""Manual journals, maker-checker: drafted and submitted by a maker, approved (and only then
posted) or rejected with a reason by a finance approver who is not the maker.

Through the services and in PostgreSQL itself (raw SQL); the API and the admin have their
own tests (test_api_manual_journals.py, test_admin_manual_journals.py).
"""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, connections, transaction

from ledger import services
from ledger.errors import (
    ClosedPeriod,
    Forbidden,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidEntry,
    InvalidState,
)
from ledger.models import JournalEntry, ManualJournal, ManualJournalLine, Posting
from tests.conftest import UserFactory

D = Decimal
OCT_1 = date(2025, 10, 1)
# BTC units on 5110 (an expense in BTC units): a wallet (1210) holds lots, and no manual
# journal posts to it (tests/holdings/test_manual_journal_subledgers.py).
BUY = [("5110", D("1.5"), D("142500.00")), ("1000", D("-142500.00"), D("-142500.00"))]
OPENING = [("1000", D("500000.00"), D("500000.00")), ("3000", D("-500000.00"), D("-500000.00"))]


def opening_cash() -> JournalEntry:
    return services.entry_post(
        effective_date=date(2025, 9, 30),
        memo="Opening cash",
        postings=OPENING,
        kind="opening_balance",
    )


def draft(by, *, postings=BUY, day=OCT_1, memo="Bought 1.5 BTC", **kwargs) -> ManualJournal:
    journal, created = services.manual_journal_create(
        effective_date=day, memo=memo, postings=postings, by=by, **kwargs
    )
    assert created
    return journal


def submitted(by, **kwargs) -> ManualJournal:
    return draft(by, submit=True, **kwargs)


def run_sql(sql: str, params: list | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def refused(sql: str, params: list | None = None) -> str:
    with pytest.raises(IntegrityError) as caught:
        run_sql(sql, params)
    return str(caught.value)


pytestmark = pytest.mark.django_db


# --- the flow ----------------------------------------------------------------------------


def test_draft_submit_approve_posts_once_as_made_and_approved(chart, staff_user, approver_user):
    opening_cash()
    journal = draft(staff_user)
    assert journal.status == "draft" and journal.entry is None
    assert [(line.account.code, line.quantity, line.value) for line in journal.lines.all()] == [
        ("5110", D("1.5"), D("142500.00")),
        ("1000", D("-142500.00"), D("-142500.00")),
    ]
    entries = JournalEntry.objects.count()

    services.manual_journal_submit(journal=journal, by=staff_user)
    approved = services.manual_journal_approve(journal=journal, by=approver_user)

    assert approved.status == "approved" and approved.approved_by == approver_user
    assert approved.approved_at is not None and approved.submitted_at is not None
    entry = approved.entry
    assert JournalEntry.objects.count() == entries + 1
    assert (entry.created_by, entry.approved_by) == (staff_user, approver_user)
    assert (entry.effective_date, entry.memo, entry.kind) == (OCT_1, "Bought 1.5 BTC", "manual")
    assert sorted((p.account.code, p.quantity, p.value) for p in entry.postings.all()) == sorted(
        (code, quantity, value) for code, quantity, value in BUY
    )
    with pytest.raises(
        InvalidState, match=f"already approved and posted as entry #{entry.sequence}"
    ):
        services.manual_journal_approve(journal=journal, by=approver_user)
    assert JournalEntry.objects.count() == entries + 1


def test_nobody_approves_or_rejects_their_own_journal(chart, approver_user, second_approver):
    opening_cash()
    journal = submitted(approver_user)  # an approver may make a journal too
    entries = JournalEntry.objects.count()
    with pytest.raises(Forbidden, match="nobody approves their own journal"):
        services.manual_journal_approve(journal=journal, by=approver_user)
    with pytest.raises(Forbidden, match="nobody rejects their own journal"):
        services.manual_journal_reject(journal=journal, by=approver_user, reason="oops")
    assert JournalEntry.objects.count() == entries
    assert ManualJournal.objects.get(pk=journal.pk).status == "submitted"
    # Another approver may.
    approved = services.manual_journal_approve(journal=journal, by=second_approver)
    assert approved.entry.created_by == approver_user
    assert approved.entry.approved_by == second_approver


def test_the_posting_service_refuses_self_approval_too(chart, staff_user):
    opening_cash()
    with pytest.raises(Forbidden, match="nobody approves their own entry"):
        services.entry_post(
            effective_date=OCT_1,
            memo="x",
            postings=BUY,
            created_by=staff_user,
            approved_by=staff_user,
        )
    assert not JournalEntry.objects.filter(memo="x").exists()


def test_only_approvers_approve_or_reject(chart, staff_user, auditor_user):
    opening_cash()
    journal = submitted(staff_user)
    colleague = UserFactory(username="staff2", role="Finance staff")
    for user in (colleague, auditor_user):
        with pytest.raises(Forbidden, match="only a finance approver"):
            services.manual_journal_approve(journal=journal, by=user)
        with pytest.raises(Forbidden, match="only a finance approver"):
            services.manual_journal_reject(journal=journal, by=user, reason="no")
    with pytest.raises(Forbidden, match="only finance staff and approvers"):
        services.manual_journal_create(
            effective_date=OCT_1, memo="m", postings=BUY, by=auditor_user
        )


def test_a_rejected_journal_keeps_its_reason_and_posts_nothing(chart, staff_user, approver_user):
    opening_cash()
    journal = submitted(staff_user)
    entries, postings = JournalEntry.objects.count(), Posting.objects.count()
    with pytest.raises(InvalidEntry, match="needs a reason"):
        services.manual_journal_reject(journal=journal, by=approver_user, reason="  ")
    rejected = services.manual_journal_reject(
        journal=journal, by=approver_user, reason=" Wrong account: use 1220 "
    )
    assert rejected.status == "rejected"
    stored = ManualJournal.objects.get(pk=journal.pk)
    assert stored.rejection_reason == "Wrong account: use 1220"
    assert (stored.rejected_by, stored.entry) == (approver_user, None)
    assert (JournalEntry.objects.count(), Posting.objects.count()) == (entries, postings)
    # Final: it cannot be approved, edited or submitted any more.
    with pytest.raises(InvalidState, match="only a submitted journal can be approved"):
        services.manual_journal_approve(journal=journal, by=approver_user)
    with pytest.raises(InvalidState, match="only a draft can be edited"):
        services.manual_journal_update(journal=journal, by=staff_user, memo="again")
    # Its maker drafts a copy instead.
    copy = services.manual_journal_copy(journal=journal, by=staff_user)
    assert (copy.status, copy.memo, copy.lines.count()) == ("draft", journal.memo, 2)


def test_only_the_maker_edits_or_submits_and_only_a_draft(chart, staff_user, approver_user):
    opening_cash()
    journal = draft(staff_user)
    with pytest.raises(Forbidden, match="only its maker can edit it"):
        services.manual_journal_update(journal=journal, by=approver_user, memo="mine now")
    with pytest.raises(Forbidden, match="only its maker can submit it"):
        services.manual_journal_submit(journal=journal, by=approver_user)
    with pytest.raises(InvalidState, match="only a submitted journal can be approved"):
        services.manual_journal_approve(journal=journal, by=approver_user)

    edited = services.manual_journal_update(
        journal=journal,
        by=staff_user,
        memo="Bought 1 BTC",
        effective_date=date(2025, 10, 2),
        postings=[("5110", D("1"), D("95000.00")), ("1000", D("-95000"), D("-95000"))],
    )
    assert (edited.memo, edited.effective_date) == ("Bought 1 BTC", date(2025, 10, 2))
    assert [line.quantity for line in edited.lines.all()] == [D("1"), D("-95000")]
    services.manual_journal_submit(journal=journal, by=staff_user)
    with pytest.raises(InvalidState, match="only a draft can be submitted"):
        services.manual_journal_submit(journal=journal, by=staff_user)
    with pytest.raises(InvalidState, match="only a draft can be edited"):
        services.manual_journal_update(journal=journal, by=staff_user, memo="late")


def test_a_draft_is_checked_as_the_ledger_would_post_it(chart, staff_user):
    opening_cash()
    unbalanced = [("5110", D("1.5"), D("142500.01")), ("1000", D("-142500.00"), D("-142500.00"))]
    with pytest.raises(InvalidEntry, match="does not balance") as caught:
        draft(staff_user, postings=unbalanced)
    assert caught.value.field == "postings"
    with pytest.raises(InvalidEntry, match="more than 8 decimal places") as caught:
        draft(
            staff_user, postings=[("5110", D("0.000000001"), D("1.00")), ("1000", D("-1"), D("-1"))]
        )
    assert caught.value.field == "postings[0].quantity"
    with pytest.raises(InsufficientBalance, match="account 1000 must not go negative"):
        draft(
            staff_user,
            postings=[("5110", D("10"), D("950000.00")), ("1000", D("-950000"), D("-950000"))],
        )
    with pytest.raises(InvalidEntry, match="needs a memo"):
        draft(staff_user, memo="  ")
    with pytest.raises(InvalidEntry, match="reserved"):
        draft(staff_user, kind="reversal")
    assert ManualJournal.objects.count() == 0


def test_a_draft_that_a_later_entry_would_overdraw_is_refused(chart, staff_user):
    opening_cash()
    # Cash is spent on 2025-10-05; drawing it on 2025-10-01 would leave it negative after.
    services.entry_post(
        effective_date=date(2025, 10, 5),
        memo="spent",
        postings=[("1210", D("5"), D("450000.00")), ("1000", D("-450000"), D("-450000"))],
    )
    with pytest.raises(InsufficientBalance, match=r"-92500\.00 USD on 2025-10-05"):
        draft(staff_user)


def test_idempotent_creation(chart, staff_user, approver_user):
    opening_cash()
    journal = draft(staff_user, idempotency_key="req-1")
    again, created = services.manual_journal_create(
        effective_date=OCT_1,
        memo="Bought 1.5 BTC",
        postings=list(reversed(BUY)),
        by=approver_user,
        idempotency_key="req-1",
    )
    assert (again.pk, created) == (journal.pk, False)
    with pytest.raises(IdempotencyConflict, match="req-1"):
        services.manual_journal_create(
            effective_date=OCT_1, memo="other", postings=BUY, by=staff_user, idempotency_key="req-1"
        )
    assert ManualJournal.objects.count() == 1


# --- closed periods ----------------------------------------------------------------------


def test_a_closed_period_refuses_drafts_and_approval(chart, staff_user, approver_user):
    opening_cash()
    journal = submitted(staff_user)
    services.period_close(through=date(2025, 10, 31), by=approver_user)
    entries = JournalEntry.objects.count()
    with pytest.raises(
        ClosedPeriod,
        match="cannot be approved: effective date 2025-10-01 is "
        "inside the period closed through 2025-10-31",
    ) as caught:
        services.manual_journal_approve(journal=journal, by=approver_user)
    assert caught.value.field == "effective_date"
    assert ManualJournal.objects.get(pk=journal.pk).status == "submitted"
    assert JournalEntry.objects.count() == entries
    with pytest.raises(ClosedPeriod, match="2025-10-01 is inside the period closed"):
        draft(staff_user)
    # The service door: entry_post itself.
    with pytest.raises(ClosedPeriod, match="effective date 2025-10-15 is inside the period"):
        services.entry_post(effective_date=date(2025, 10, 15), memo="late", postings=BUY)
    # Reopened, it can be approved.
    services.period_reopen(through=date(2025, 10, 31), by=approver_user, reason="late invoice")
    assert services.manual_journal_approve(journal=journal, by=approver_user).status == "approved"


# --- PostgreSQL keeps the rules whatever the client ---------------------------------------


def test_raw_sql_cannot_approve_ones_own_journal(chart, staff_user, approver_user):
    opening_cash()
    journal = submitted(staff_user)
    # On the journal...
    message = refused(
        "UPDATE ledger_manualjournal SET status = 'approved', approved_by_id = created_by_id, "
        "approved_at = now(), entry_id = (SELECT min(id) FROM ledger_journalentry) WHERE id = %s",
        [journal.pk],
    )
    assert "ledger_mj_not_self_approved" in message
    message = refused(
        "UPDATE ledger_manualjournal SET status = 'rejected', rejected_by_id = created_by_id, "
        "rejected_at = now(), rejection_reason = 'mine' WHERE id = %s",
        [journal.pk],
    )
    assert "ledger_mj_not_self_rejected" in message
    # ...and on the journal entry.
    message = refused(
        "WITH e AS (INSERT INTO ledger_journalentry (effective_date, memo, kind, status, "
        "payload_hash, created_at, created_by_id, approved_by_id) VALUES ('2025-10-02', 'raw', "
        "'manual', 'posted', '', now(), %s, %s) RETURNING id) "
        "INSERT INTO ledger_posting (entry_id, account_id, commodity_id, scale, effective_date, "
        "quantity, value) SELECT e.id, a.id, 'USD', 2, '2025-10-02', v, v FROM e, "
        "(VALUES ('1000', 10.00), ('3000', -10.00)) l(code, v) JOIN ledger_account a "
        "ON a.code = l.code",
        [staff_user.pk, staff_user.pk],
    )
    assert "ledger_entry_not_self_approved" in message


def test_raw_sql_keeps_the_states(chart, staff_user, approver_user):
    assert "ledger_manual_journal_line_frozen" in refused("TRUNCATE ledger_manualjournalline")
    assert "ledger_manual_journal_kept" in refused("TRUNCATE ledger_manualjournal CASCADE")
    opening_cash()
    journal = draft(staff_user)
    line = journal.lines.first()
    # Created as a draft only; no skipping to approved; no deleting.
    assert "ledger_manual_journal_transition" in refused(
        "INSERT INTO ledger_manualjournal (status, effective_date, memo, kind, payload_hash, "
        "created_by_id, created_at, updated_at, submitted_at, rejection_reason) VALUES "
        "('submitted', '2025-10-01', 'm', 'manual', '', %s, now(), now(), now(), '')",
        [staff_user.pk],
    )
    assert "ledger_manual_journal_transition" in refused(
        "UPDATE ledger_manualjournal SET status = 'approved' WHERE id = %s", [journal.pk]
    )
    assert "ledger_mj_state_complete" in refused(  # submitted, but not saying when
        "UPDATE ledger_manualjournal SET status = 'submitted' WHERE id = %s", [journal.pk]
    )
    assert "ledger_manual_journal_kept" in refused(
        "DELETE FROM ledger_manualjournal WHERE id = %s", [journal.pk]
    )
    # A draft's lines may change, but it cannot be submitted unbalanced.
    run_sql("UPDATE ledger_manualjournalline SET value = 1 WHERE id = %s", [line.pk])
    assert "ledger_manual_journal_balanced" in refused(
        "UPDATE ledger_manualjournal SET status = 'submitted', submitted_at = now() WHERE id = %s",
        [journal.pk],
    )


def test_raw_sql_cannot_change_a_submitted_or_decided_journal(chart, staff_user, approver_user):
    opening_cash()
    journal = submitted(staff_user)
    line = journal.lines.first()
    assert "ledger_manual_journal_line_frozen" in refused(
        "UPDATE ledger_manualjournalline SET quantity = 2 WHERE id = %s", [line.pk]
    )
    assert "ledger_manual_journal_line_frozen" in refused(
        "DELETE FROM ledger_manualjournalline WHERE id = %s", [line.pk]
    )
    assert "ledger_manual_journal_transition" in refused(
        "UPDATE ledger_manualjournal SET memo = 'changed' WHERE id = %s", [journal.pk]
    )
    assert "ledger_manual_journal_transition" in refused(
        "UPDATE ledger_manualjournal SET status = 'draft', submitted_at = NULL WHERE id = %s",
        [journal.pk],
    )
    services.manual_journal_approve(journal=journal, by=approver_user)
    assert "ledger_manual_journal_transition" in refused(
        "UPDATE ledger_manualjournal SET rejection_reason = '' WHERE id = %s", [journal.pk]
    )


def test_raw_sql_cannot_approve_with_an_entry_other_than_the_lines(
    chart, staff_user, approver_user
):
    opening_cash()
    journal = submitted(staff_user)
    other = services.entry_post(
        effective_date=OCT_1,
        memo="Bought 1.5 BTC",
        postings=[("1210", D("1"), D("142500.00")), ("1000", D("-142500"), D("-142500"))],
        created_by=staff_user,
        approved_by=approver_user,
    )
    assert "ledger_manual_journal_posted_as_approved" in refused(
        "UPDATE ledger_manualjournal SET status = 'approved', approved_by_id = %s, "
        "approved_at = now(), entry_id = %s WHERE id = %s",
        [approver_user.pk, other.pk, journal.pk],
    )


# --- accounts a subledger keeps (ledger.subledgers) -----------------------------------------


def test_an_account_a_subledger_starts_keeping_after_submission_is_refused_at_approval(
    chart, staff_user, approver_user, monkeypatch
):
    """The ledger asks the registered keepers at every step: here one that starts keeping
    the trading fees (5300) once the journal was submitted. A cancellation's reversal is
    not a manual journal: it is not asked about."""
    from ledger import subledgers
    from ledger.models import Account

    opening_cash()
    fees = [("5300", D("25.00"), D("25.00")), ("1000", D("-25.00"), D("-25.00"))]
    posted = services.manual_journal_approve(
        journal=submitted(staff_user, postings=fees, memo="Fees"), by=approver_user
    )
    journal = submitted(staff_user, postings=list(reversed(fees)), memo="Fees back")
    kept = Account.objects.get(code="5300").pk
    monkeypatch.setattr(
        subledgers,
        "_KEEPERS",
        [
            *subledgers._KEEPERS,
            lambda ids: (
                {kept: "account 5300 is kept: it moves by fee documents"} if kept in ids else {}
            ),
        ],
    )
    entries = JournalEntry.objects.count()
    with pytest.raises(InvalidEntry) as caught:
        services.manual_journal_approve(journal=journal, by=approver_user)
    assert (caught.value.field, caught.value.code) == ("postings[1].account", "subledger_account")
    assert caught.value.message == (
        f"manual journal #{journal.pk} cannot be approved (reject it): account 5300 is kept: "
        "it moves by fee documents"
    )
    journal.refresh_from_db()
    assert journal.status == "submitted" and JournalEntry.objects.count() == entries
    with pytest.raises(InvalidEntry, match="account 5300 is kept") as caught:
        draft(staff_user, postings=fees)
    assert caught.value.field == "postings[0].account"
    # The approved journal is still undone by its cancellation.
    asked, _ = services.cancellation_request(entry=posted.entry, reason="twice", by=staff_user)
    done = services.cancellation_approve(cancellation=asked, by=approver_user)
    assert done.reversal is not None


# --- concurrency: approval posts exactly once ----------------------------------------------


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_post_one_entry(chart, staff_user, approver_user, second_approver):
    opening_cash()
    journal = submitted(staff_user)
    before = JournalEntry.objects.count()
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def approve(user) -> None:
        try:
            barrier.wait()
            services.manual_journal_approve(journal=journal.pk, by=user)
            outcomes.append("approved")
        except InvalidState:
            outcomes.append("already")
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=approve, args=(user,))
        for user in (approver_user, second_approver, approver_user, second_approver)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already", "already", "already", "approved"]
    assert JournalEntry.objects.count() == before + 1
    stored = ManualJournal.objects.get(pk=journal.pk)
    assert stored.status == "approved" and stored.entry.approved_by == stored.approved_by
    assert ManualJournalLine.objects.filter(journal=stored).count() == 2
