"""The month-end close page: its checks, each failing in turn with where it is fixed, the
close by a finance approver with its review, and the review kept as written."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction
from django.urls import reverse

from holdings.importers.site_costs import parse_invoices
from holdings.models import (
    PeriodCloseReview,
    PoolAccount,
    ReconciliationItem,
    ReconciliationRun,
)
from holdings.selectors import close as close_selectors
from holdings.selectors.reconciliation import KINDS
from holdings.services import close as close_services
from holdings.services import costs, fair_value, setup
from ledger import services as ledger_services
from ledger.errors import Forbidden
from ledger.models import PeriodClose
from tests.holdings.conftest import f2pool_file, run_import

D = Decimal
JANUARY = date(2026, 1, 1)
END = date(2026, 1, 31)
URL = "/admin/close/"


@pytest.fixture
def users(staff_user, approver_user, auditor_user):
    people = {"staff": staff_user, "approver": approver_user, "auditor": auditor_user}
    for user in people.values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return people


@pytest.fixture
def as_role(client, users):
    def login(role: str):
        client.force_login(users[role])
        return client

    return login


def reconciled(day: date, broken: str | None = None) -> None:
    """A matched run of every kind for the day, or one run with a break of kind `broken`
    (running a day again adds a run: the latest of each kind counts)."""
    at = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    for kind in [broken] if broken else KINDS:
        if kind == broken:
            run = ReconciliationRun.objects.create(
                kind=kind, as_of=day, status="breaks", breaks=1, started_at=at, finished_at=at
            )
            ReconciliationItem.objects.create(
                run=run,
                subject_type="pool_account",
                subject="F2P-A",
                checked="balance",
                status="unmatched",
                message="the pool says 0.1 BTC more than the ledger",
            )
        else:
            ReconciliationRun.objects.create(
                kind=kind, as_of=day, status="matched", started_at=at, finished_at=at
            )


def closable_january(world, *, through: int = 31, remeasure: bool = True) -> None:
    """January imported, priced, remeasured, reconciled and sealed: every check passes."""
    PoolAccount.objects.filter(code="OTH-B").update(is_active=False)
    earnings = [(date(2026, 1, day), "0.01") for day in range(1, through + 1)]
    assert run_import("f2pool", f2pool_file(earnings)).status == "succeeded"
    if remeasure:
        fair_value.remeasure(commodity="BTC", as_of=END)
    reconciled(END)
    ledger_services.journal_seal()


def row(html: str, key: str) -> str:
    start = html.index(f'id="check-{key}"')
    return html[start : html.index("</tr>", start)]


def break_imports(world, users):
    PoolAccount.objects.filter(code="OTH-B").update(is_active=True)


def break_prices(world, users):
    setup.wallet_create(code="KAS-1", name="KAS wallet", commodity="KAS", parent_account="1250")
    setup.opening_lots_load(
        as_of=date(2025, 12, 31),
        rows=[
            {
                "wallet": "KAS-1",
                "acquired_at": "2025-12-01T00:00:00Z",
                "quantity": "1000",
                "cost_usd": "100.00",
            }
        ],
    )
    ledger_services.journal_seal()


def break_reconciliations(world, users):
    reconciled(END, broken="pool")


def break_seals(world, users):
    ledger_services.entry_post(
        effective_date=date(2026, 1, 15),
        memo="Trading fee",
        postings=[("5300", D("10.00"), D("10.00")), ("3000", D("-10.00"), D("-10.00"))],
    )


def submitted_journal(users, day: date, amount: str = "5.00"):
    """A fee of `amount` dated `day`, submitted by finance staff: it waits for approval."""
    journal, _created = ledger_services.manual_journal_create(
        effective_date=day,
        memo="Accrued fee",
        postings=[("5300", D(amount), D(amount)), ("3000", -D(amount), -D(amount))],
        by=users["staff"],
        submit=True,
    )
    return journal


def break_manual_journals(world, users):
    submitted_journal(users, date(2026, 1, 20))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "breaker", "reason", "link"),
    [
        ("imports", break_imports, "OTH-B has no production imported", "/importbatch/upload/"),
        ("prices", break_prices, "KAS/USD has no price for 31 day(s)", "/price/import/"),
        ("reconciliations", break_reconciliations, "F2P-A: the pool says 0.1 BTC more", "run/"),
        ("seals", break_seals, "1 entry is not sealed: entry #", "/journalseal/"),
        ("waiting", break_manual_journals, "manual journal", "status__exact=submitted"),
    ],
)
def test_each_check_fails_with_its_reason_and_where_it_is_fixed(
    world, users, as_role, key, breaker, reason, link
):
    closable_january(world)
    breaker(world, users)
    html = as_role("auditor").get(URL, {"month": "2026-01"}).content.decode()
    shown = row(html, key)
    assert "Failing" in shown and reason in shown and link in shown
    others = [check for check in close_selectors.close_checks(month=JANUARY) if not check.ok]
    assert key in {check.key for check in others}


@pytest.mark.django_db
def test_what_waits_for_a_decision_is_counted_over_every_day_the_close_closes(
    world, users, as_role
):
    """Closing January closes every open day through its end, December's too when it was
    never closed: what waits for approval dated on any of those days fails the check (a
    journal of December, a cancellation dated in January, a typed invoice), where it looked
    at January alone and the waiting documents could then never be approved."""
    closable_january(world)
    submitted_journal(users, date(2025, 12, 20))
    fee = ledger_services.manual_journal_approve(
        journal=submitted_journal(users, date(2026, 1, 10), "7.00"), by=users["approver"]
    )
    ledger_services.cancellation_request(
        entry=fee.entry, reason="booked twice", by=users["staff"], effective_date=date(2026, 1, 15)
    )
    setup.site_create(code="SITE-A", name="A", region="North America", deployed_hashrate_hs="1")
    (invoice,) = parse_invoices(
        b"site,kind,vendor,reference,period_start,period_end,kwh,energy,demand,taxes,credits,"
        b"amount,hosting_basis,description,paid\n"
        b"SITE-A,hosting,Host Co,T-1,2026-01-01,2026-01-31,,,,,,800.00,fixed,,\n",
        file_name="typed invoice",
    )
    costs.site_cost_submit(line=invoice, by=users["staff"])

    (waiting,) = [c for c in close_selectors.close_checks(month=JANUARY) if c.key == "waiting"]
    assert (
        not waiting.ok and waiting.title == "Nothing dated through 2026-01-31 waits for a decision"
    )
    assert (
        waiting.problems[0].startswith("manual journal ") and "of 2025-12-20" in waiting.problems[0]
    )
    assert waiting.problems[1].startswith("the cancellation of manual journal")
    assert waiting.problems[1].endswith("dated 2026-01-15")
    assert waiting.problems[2] == "invoice T-1 of SITE-A for 2026-01-31"
    html = as_role("auditor").get(URL, {"month": "2026-01"}).content.decode()
    shown = row(html, "waiting")
    assert "Failing" in shown and "status__exact=requested" in shown and "/sitecost/" in shown

    # Once December is closed, only what is dated from January on counts.
    ledger_services.period_close(through=date(2025, 12, 31), by=users["approver"])
    (waiting,) = [c for c in close_selectors.close_checks(month=JANUARY) if c.key == "waiting"]
    assert waiting.title == "Nothing dated from 2026-01-01 through 2026-01-31 waits for a decision"
    assert len(waiting.problems) == 2


@pytest.mark.django_db
def test_missing_production_and_remeasurement_fail_by_name(world, users, as_role):
    closable_january(world, through=30, remeasure=False)
    html = as_role("staff").get(URL, {"month": "2026-01"}).content.decode()
    assert "F2P-A is imported only through 2026-01-30" in row(html, "imports")
    fair = row(html, "fair_value")
    assert "BTC is not remeasured at 2026-01-31" in fair
    assert "/remeasurement/?as_of__year=2026&amp;as_of__month=1&amp;as_of__day=31" in fair
    assert 'id="remeasure-form"' in html
    response = as_role("staff").post(URL, {"month": "2026-01", "action": "remeasure"}, follow=True)
    assert "Remeasured at 2026-01-31: BTC." in response.content.decode()
    assert "Failing" not in row(response.content.decode(), "fair_value")


@pytest.mark.django_db
def test_all_passing_and_an_approver_closes_the_month(world, users, as_role):
    closable_january(world)
    checks = close_selectors.close_checks(month=JANUARY)
    assert [check.key for check in checks if not check.ok] == []
    page = as_role("approver").get(URL, {"month": "2026-01"}).content.decode()
    assert page.count("check-ok") == 6 and "Every check passes." in page
    response = as_role("approver").post(URL, {"month": "2026-01", "reason": ""}, follow=True)
    html = response.content.decode()
    assert "The books are closed through 2026-01-31, every check passing." in html
    close = PeriodClose.objects.get(through=END)
    review = close.review
    assert (review.month, review.failures, review.reason) == (JANUARY, 0, "")
    assert len(review.checks) == 6 and all(check["ok"] for check in review.checks)
    assert 'id="close-history"' in html and "approver" in html
    assert "this month is closed" in html


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["staff", "auditor"])
def test_only_an_approver_closes(world, users, as_role, role):
    closable_january(world)
    page = as_role(role).get(URL, {"month": "2026-01"}).content.decode()
    assert "Only a finance approver closes a period." in page and 'id="close-form"' not in page
    assert as_role(role).post(URL, {"month": "2026-01"}).status_code == 403
    with pytest.raises(Forbidden):
        close_services.month_close(month=JANUARY, by=users[role])
    assert not PeriodClose.objects.exists()


@pytest.mark.django_db
def test_failing_checks_need_a_reason_which_is_kept_and_shown(world, users, as_role):
    closable_january(world, remeasure=False)
    approver = as_role("approver")
    refused = approver.post(URL, {"month": "2026-01", "reason": "  "})
    assert refused.status_code == 400
    assert "closing anyway needs your written reason" in refused.content.decode()
    assert not PeriodClose.objects.exists() and not PeriodCloseReview.objects.exists()

    reason = "Remeasured in the audit workpaper; posted in February."
    response = approver.post(URL, {"month": "2026-01", "reason": reason}, follow=True)
    html = response.content.decode()
    assert "with 1 failing check(s) and your reason kept" in html
    review = PeriodCloseReview.objects.get()
    assert (review.failures, review.reason) == (1, reason)
    assert [check["key"] for check in review.failed] == ["fair_value"]
    history = html[html.index('id="close-history"') :]
    assert reason in history and "BTC is not remeasured at 2026-01-31" in history


@pytest.mark.django_db
def test_the_review_is_kept_as_written(world, users):
    closable_january(world, remeasure=False)
    review = close_services.month_close(month=JANUARY, by=users["approver"], reason="Known gap")
    immutable = pytest.raises(DatabaseError, match="holdings_close_review_immutable")
    with immutable, transaction.atomic():
        PeriodCloseReview.objects.filter(pk=review.pk).update(reason="")
    immutable = pytest.raises(DatabaseError, match="holdings_close_review_immutable")
    with immutable, transaction.atomic():
        PeriodCloseReview.objects.filter(pk=review.pk).delete()
    assert PeriodCloseReview.objects.get().reason == "Known gap"
    unreasoned = pytest.raises(DatabaseError, match="holdings_close_review_reason_for_failures")
    with unreasoned, transaction.atomic():
        PeriodCloseReview.objects.create(
            period_close=ledger_services.period_close(
                through=date(2026, 2, 28), by=users["approver"]
            ),
            month=date(2026, 2, 1),
            failures=2,
            reviewed_by=users["approver"],
        )


@pytest.mark.django_db
@pytest.mark.parametrize("month", ["2026-13", "January", "0000-01", "2026-1'"])
def test_a_bad_month_is_a_form_error(world, users, as_role, month):
    response = as_role("auditor").get(URL, {"month": month})
    assert response.status_code == 400
    assert "errornote" in response.content.decode()
    posted = as_role("approver").post(URL, {"month": month, "reason": "x"})
    assert posted.status_code == 400 and not PeriodClose.objects.exists()


@pytest.mark.django_db
def test_a_month_not_ended_cannot_be_closed(world, users, as_role):
    html = as_role("approver").get(URL, {"month": "2099-01"}).content.decode()
    assert "after today" in html and 'id="close-form"' not in html
    assert reverse("admin:close") == URL
