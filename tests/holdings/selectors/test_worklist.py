"""What waits for whom (holdings.selectors.worklist): journals and cancellations to decide
for an approver, never their own; a maker's drafts and rejected journals; for every role
the failed imports and uploads, the breaks of the latest runs and the loans past OK today."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from holdings.models import Loan
from holdings.selectors import loans as loan_selectors
from holdings.selectors import worklist
from holdings.services import loans, reconciliation, setup, statement_uploads
from ledger import selectors, services
from ledger.models import ManualJournal
from ledger.selectors import REJECTED_DAYS
from tests.conftest import UserFactory
from tests.holdings.conftest import run_import
from tests.holdings.services.test_reconciliation import balance_csv
from tests.holdings.services.test_treasury import OPENING

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = date(2026, 1, 31)
LINES = [("1000", D("100.00"), D("100.00")), ("3000", D("-100.00"), D("-100.00"))]


@pytest.fixture
def people(staff_user, approver_user, auditor_user, no_role_user):
    from ledger import roles

    return {
        "staff": staff_user,
        "approver": approver_user,
        "approver2": UserFactory(username="approver2", role=roles.FINANCE_APPROVER),
        "auditor": auditor_user,
        "no_role": no_role_user,
    }


def journal(by, *, submit: bool = False) -> ManualJournal:
    made, _ = services.manual_journal_create(
        effective_date=date(2026, 1, 15), memo="Accrual", postings=LINES, by=by, submit=submit
    )
    return made


def counts(user, today: date = TODAY) -> dict[str, int]:
    return worklist.worklist(user=user, today=today).ledger


def test_an_approver_is_waited_for_on_the_journals_of_others_never_their_own(chart, people):
    staff, approver, approver2 = people["staff"], people["approver"], people["approver2"]
    submitted = journal(staff, submit=True)
    journal(approver, submit=True)  # the approver's own: someone else decides it
    journal(staff)  # a draft: nobody decides it yet

    assert counts(approver)["journals_approval"] == 1
    assert counts(approver2)["journals_approval"] == 2
    # The list the dashboard links to holds exactly the journals counted.
    mine = selectors.waiting_journals(
        ManualJournal.objects.all(), "approval", user=approver, today=TODAY
    )
    assert list(mine) == [submitted]
    # Staff do not approve: nothing to approve waits for them.
    assert "journals_approval" in counts(staff) and counts(staff)["journals_approval"] == 0
    # Once decided, it waits no more.
    services.manual_journal_approve(journal=submitted, by=approver)
    assert counts(approver)["journals_approval"] == 0


def test_a_maker_is_waited_for_on_their_drafts_and_rejected_journals(chart, people):
    staff, approver = people["staff"], people["approver"]
    journal(staff)
    journal(staff)
    rejected = journal(staff, submit=True)
    services.manual_journal_reject(journal=rejected, by=approver, reason="wrong account")
    journal(approver)  # another's draft is not the staff's

    assert counts(staff) == {
        "journals_approval": 0,
        "journals_drafts": 2,
        "journals_rejected": 1,
    }
    assert counts(approver)["journals_drafts"] == 1
    assert counts(approver)["journals_rejected"] == 0
    # A rejection waits REJECTED_DAYS, then no more.
    rejected.refresh_from_db()
    day = rejected.rejected_at.date()
    assert counts(staff, today=day + timedelta(days=REJECTED_DAYS))["journals_rejected"] == 1
    assert counts(staff, today=day + timedelta(days=REJECTED_DAYS + 1))["journals_rejected"] == 0


def test_cancellations_wait_for_an_approver_who_did_not_ask(chart, people):
    staff, approver, approver2 = people["staff"], people["approver"], people["approver2"]
    first = services.entry_post(effective_date=TODAY, memo="cash in", postings=LINES)
    second = services.entry_post(effective_date=TODAY, memo="cash in again", postings=LINES)
    services.cancellation_request(entry=first, reason="twice", by=staff)
    services.cancellation_request(entry=second, reason="twice", by=approver)

    assert counts(approver)["cancellations_approval"] == 1
    assert counts(approver2)["cancellations_approval"] == 2
    assert "cancellations_approval" not in counts(staff)


def test_auditors_and_users_without_a_role_have_no_journal_to_act_on(chart, people):
    journal(people["staff"], submit=True)
    assert counts(people["auditor"]) == {}
    assert worklist.worklist(user=people["no_role"], today=TODAY) == worklist.Worklist(today=TODAY)


def test_failed_imports_and_uploads_wait_for_every_role(world, people):
    assert run_import("f2pool", b"{not json", file_name="broken.json").status == "failed"
    upload, _ = statement_uploads.statement_upload_create(
        kind="custodian", file_name="bad.csv", content=b"not,a,statement\n"
    )
    assert statement_uploads.statement_upload_run(upload_id=upload.pk).status == "failed"

    for role in ("staff", "approver", "auditor"):
        work = worklist.worklist(user=people[role], today=TODAY)
        assert (work.failed_imports, work.failed_uploads) == (1, 1), role
        assert work.total == 2 + sum(work.ledger.values())


def test_the_breaks_of_each_kinds_latest_run(world, people, settings):
    settings.ESPLORA_URL = ""
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    reconciliation.statement_import(
        kind="custodian",
        file_name="custodian.csv",
        content=balance_csv("2026-01-30,COLD-1,BTC,99"),
    )
    (wallets,) = reconciliation.reconcile(as_of=date(2026, 1, 30), kinds=["wallets"])
    assert wallets.status == "breaks" and wallets.breaks >= 1
    (internal,) = reconciliation.reconcile(as_of=TODAY, kinds=["internal"])
    assert internal.status == "matched"

    # The wallets' latest run (2026-01-30) has breaks; the internal one (2026-01-31) none.
    assert worklist.latest_breaks(as_of=TODAY) == [(date(2026, 1, 30), wallets.breaks)]
    work = worklist.worklist(user=people["auditor"], today=TODAY)
    assert work.breaks == [(date(2026, 1, 30), wallets.breaks)]
    # Before the run, nothing.
    assert worklist.latest_breaks(as_of=date(2026, 1, 29)) == []
    # A later run of the same kind without breaks is the latest: nothing waits.
    reconciliation.statement_import(
        kind="custodian",
        file_name="custodian-2.csv",
        content=balance_csv("2026-01-31,COLD-1,BTC,3"),
    )
    (again,) = reconciliation.reconcile(as_of=TODAY, kinds=["wallets"])
    assert again.breaks == 0, again.status
    assert worklist.latest_breaks(as_of=TODAY) == []
    assert worklist.latest_breaks(as_of=date(2026, 1, 30)) == [(date(2026, 1, 30), wallets.breaks)]


def make_loan(code: str, *, units: str, draw: str) -> Loan:
    loan = loans.loan_create(
        code=code,
        lender="Lender Ltd",
        principal_commodity="USD",
        annual_rate=D("0.10"),
        day_count="ACT/365",
        start_date=date(2026, 1, 2),
        maturity_date=date(2026, 12, 31),
        warning_ltv=D("0.60"),
        margin_call_ltv=D("0.70"),
        liquidation_ltv=D("0.80"),
    )
    if units:
        loans.loan_pledge(loan=loan, units=D(units), from_wallet="COLD-1", on=date(2026, 1, 2))
    if draw:
        loans.loan_draw(loan=loan, amount=D(draw), on=date(2026, 1, 2))
    return loan


def test_loans_past_ok_today_are_alerts_with_the_tier_loan_status_gives(
    world, people, django_assert_max_num_queries
):
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    # The day-end price of 2026-01-31 is 130,000.00 USD a BTC.
    warning = make_loan("L-WARN", units="2", draw="170000.00")  # 170,000 / 260,000
    liquidation = make_loan("L-LIQ", units="0.5", draw="60000.00")  # 60,000 / 65,000
    fine = make_loan("L-OK", units="0.5", draw="10000.00")
    idle = make_loan("L-IDLE", units="", draw="")

    with django_assert_max_num_queries(2):  # the loans with their price, the balances
        tiers = loan_selectors.loan_tiers(as_of=TODAY)
    for loan in (warning, liquidation, fine, idle):
        assert tiers[loan.pk] == loan_selectors.loan_status(loan=loan, as_of=TODAY).tier
    assert tiers == {
        warning.pk: "warning",
        liquidation.pk: "liquidation",
        fine.pk: "ok",
        idle.pk: "ok",
    }
    assert worklist.ltv_alerts(as_of=TODAY) == {"warning": 1, "liquidation": 1}
    assert set(worklist.loans_at(tier="alert", as_of=TODAY)) == {warning.pk, liquidation.pk}
    assert worklist.loans_at(tier="warning", as_of=TODAY) == [warning.pk]
    # Before the loans started there is nothing to watch.
    assert worklist.ltv_alerts(as_of=date(2026, 1, 1)) == {}
    # A day without a price: the LTV of the loans holding collateral is not known.
    assert worklist.ltv_alerts(as_of=date(2026, 3, 5)) == {"unknown": 3}
    assert set(worklist.loans_at(tier="unknown", as_of=date(2026, 3, 5))) == {
        warning.pk,
        liquidation.pk,
        fine.pk,
    }


def test_the_worklist_reads_in_a_handful_of_statements(
    world, people, django_assert_max_num_queries
):
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    for number in range(4):
        make_loan(f"L-{number}", units="0.5", draw="60000.00")
        journal(people["staff"], submit=True)
    run_import("f2pool", b"{not json", file_name="broken.json")
    # However many loans, journals and failures: a statement per kind of item.
    # The user's roles, the journals, the cancellations, the failures, the latest runs, the
    # loans with their prices and the balances.
    with django_assert_max_num_queries(7):
        work = worklist.worklist(user=people["approver"], today=TODAY)
    assert work.ledger["journals_approval"] == 4
    assert work.ltv_alerts == {"liquidation": 4}
    assert work.failed_imports == 1
