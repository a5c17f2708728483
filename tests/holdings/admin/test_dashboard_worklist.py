"""The dashboard's "Waiting for you": each kind of item for the person it waits for, with
its count and a link to the admin list, filtered, that holds exactly those rows."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from holdings.admin import worklist as worklist_page
from holdings.services import reconciliation, setup, statement_uploads
from ledger import roles, services
from tests.conftest import UserFactory
from tests.holdings.conftest import run_import
from tests.holdings.selectors.test_worklist import LINES, journal, make_loan
from tests.holdings.services.test_reconciliation import balance_csv
from tests.holdings.services.test_treasury import OPENING

pytestmark = pytest.mark.django_db

D = Decimal
INDEX = "/admin/"
# The admin's "today" in these tests: the test world's prices run to 2026-02-28.
NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


@pytest.fixture
def users(staff_user, approver_user, auditor_user, no_role_user):
    people = {
        "staff": staff_user,
        "approver": approver_user,
        "approver2": UserFactory(username="approver2", role=roles.FINANCE_APPROVER),
        "auditor": auditor_user,
        "no_role": no_role_user,
    }
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


@pytest.fixture
def frozen_today(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)


def waiting(html: str) -> dict[str, tuple[int, str, str]]:
    """The "Waiting for you" block: {key: (count, label, link)}."""
    block = html[html.index('id="dash-waiting"') :]
    block = block[: block.index("</section>")]
    items = re.findall(
        r'id="waiting-([^"]+)">\s*<a href="([^"]+)"><strong class="dash-waiting-count">(\d+)'
        r"</strong> ([^<]+)</a>",
        block,
    )
    return {key: (int(count), label, url.replace("&amp;", "&")) for key, url, count, label in items}


def index(client) -> str:
    response = client.get(INDEX)
    assert response.status_code == 200
    return response.content.decode()


def rows(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    return html[html.index('id="result_list"') :] if 'id="result_list"' in html else ""


def test_an_approver_sees_the_journal_another_submitted_not_their_own(as_role, chart, users):
    theirs = journal(users["staff"], submit=True)
    own = journal(users["approver"], submit=True)

    items = waiting(index(as_role("approver")))
    count, label, url = items["journals-approval"]
    assert (count, label) == (1, "Manual journals waiting for your approval")
    assert url == "/admin/ledger/manualjournal/?waiting=approval"
    listed = rows(as_role("approver"), url)
    assert f">MJ-{theirs.pk}<" in listed and f">MJ-{own.pk}<" not in listed
    # The other approver is waited for on the approver's journal too.
    items = waiting(index(as_role("approver2")))
    assert items["journals-approval"][0] == 2
    # Finance staff do not approve.
    assert "journals-approval" not in waiting(index(as_role("staff")))


def test_staff_see_their_drafts_and_their_rejected_journal(as_role, chart, users):
    draft = journal(users["staff"])
    rejected = journal(users["staff"], submit=True)
    services.manual_journal_reject(journal=rejected, by=users["approver"], reason="wrong")
    journal(users["approver"])  # someone else's draft

    items = waiting(index(as_role("staff")))
    assert items["journals-drafts"][:2] == (1, "Your draft manual journals, not yet submitted")
    count, label, url = items["journals-rejected"]
    assert (count, label) == (1, "Your manual journals rejected in the last 30 days")
    assert url == "/admin/ledger/manualjournal/?waiting=rejected"
    listed = rows(as_role("staff"), url)
    assert f">MJ-{rejected.pk}<" in listed and f">MJ-{draft.pk}<" not in listed
    listed = rows(as_role("staff"), items["journals-drafts"][2])
    assert f">MJ-{draft.pk}<" in listed and f">MJ-{rejected.pk}<" not in listed


def test_an_approver_sees_the_cancellations_others_asked_for(as_role, chart, users):
    entry = services.entry_post(effective_date=date(2026, 1, 5), memo="cash in", postings=LINES)
    other = services.entry_post(effective_date=date(2026, 1, 6), memo="cash in", postings=LINES)
    asked, _ = services.cancellation_request(entry=entry, reason="twice", by=users["staff"])
    mine, _ = services.cancellation_request(entry=other, reason="twice", by=users["approver"])

    count, label, url = waiting(index(as_role("approver")))["cancellations-approval"]
    assert (count, label) == (1, "Cancellations waiting for your approval")
    listed = rows(as_role("approver"), url)
    assert f">#{asked.pk}<" in listed and f">#{mine.pk}<" not in listed
    assert "cancellations-approval" not in waiting(index(as_role("staff")))


def test_failures_and_breaks_wait_for_every_role_with_links_to_their_lists(
    as_role, world, users, settings, frozen_today
):
    settings.ESPLORA_URL = ""
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    assert run_import("f2pool", b"{not json", file_name="broken.json").status == "failed"
    upload, _ = statement_uploads.statement_upload_create(
        kind="custodian", file_name="bad-statement.csv", content=b"not,a,statement\n"
    )
    statement_uploads.statement_upload_run(upload_id=upload.pk)
    reconciliation.statement_import(
        kind="custodian", file_name="c.csv", content=balance_csv("2026-01-30,COLD-1,BTC,99")
    )
    (run,) = reconciliation.reconcile(as_of=date(2026, 1, 30), kinds=["wallets"])
    assert run.status == "breaks"

    for role in ("staff", "approver", "auditor"):
        items = waiting(index(as_role(role)))
        assert items["imports-failed"][:2] == (1, "Pool file imports that failed"), role
        assert items["uploads-failed"][:2] == (1, "Statement uploads that failed"), role
        assert items["breaks-2026-01-30"][:2] == (
            run.breaks,
            "Reconciliation breaks on 2026-01-30 (latest runs)",
        )
    items = waiting(index(as_role("auditor")))
    assert "broken.json" in rows(as_role("auditor"), items["imports-failed"][2])
    assert "bad-statement.csv" in rows(as_role("auditor"), items["uploads-failed"][2])
    url = items["breaks-2026-01-30"][2]
    assert url == "/admin/holdings/reconciliationrun/?as_of=2026-01-30&status__exact=breaks"
    assert "Wallet balances" in rows(as_role("auditor"), url)


def test_loans_past_ok_today_link_to_the_loans_at_that_tier(as_role, world, users, frozen_today):
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    make_loan("L-WARN", units="2", draw="170000.00")
    make_loan("L-OK", units="0.5", draw="10000.00")

    items = waiting(index(as_role("auditor")))
    count, label, url = items["ltv-warning"]
    assert (count, label) == (1, "Loans at the warning LTV tier today")
    assert url == "/admin/holdings/loan/?ltv_tier=warning"
    listed = rows(as_role("auditor"), url)
    assert "L-WARN" in listed and "L-OK" not in listed
    listed = rows(as_role("auditor"), "/admin/holdings/loan/?ltv_tier=alert")
    assert "L-WARN" in listed and "L-OK" not in listed
    assert "L-OK" in rows(as_role("auditor"), "/admin/holdings/loan/?ltv_tier=ok")
    # Not a tier: the list says its filters are wrong, no 500.
    response = as_role("auditor").get("/admin/holdings/loan/?ltv_tier=panic")
    assert response.status_code in (200, 302)


def test_nothing_waiting_says_so(as_role, chart, users):
    html = index(as_role("auditor"))
    assert waiting(html) == {}
    assert "Nothing waits for you today" in html


def test_an_unknown_waiting_filter_is_refused_plainly(as_role, chart, users):
    response = as_role("approver").get("/admin/ledger/manualjournal/?waiting=everything")
    assert response.status_code == 302 and "?e=1" in response["Location"]


def test_the_index_reads_in_a_bounded_number_of_statements(
    as_role, world, users, frozen_today, monkeypatch, django_assert_max_num_queries
):
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    for number in range(3):
        make_loan(f"L-{number}", units="0.5", draw="60000.00")
        journal(users["staff"], submit=True)
    run_import("f2pool", b"{not json", file_name="broken.json")
    client = as_role("approver")
    index(client)  # the session and the caches warmed

    def statements() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as queries:
            html = index(client)
        return len(queries), html

    with_items, html = statements()
    items = waiting(html)
    assert items["journals-approval"][0] == 3
    assert items["ltv-liquidation"][0] == 3
    # More journals and failures waiting: not one more statement.
    for _ in range(3):
        journal(users["staff"], submit=True)
        run_import("f2pool", b"{not json either", file_name="broken-again.json")
    more, html = statements()
    assert waiting(html)["journals-approval"][0] == 6
    assert more == with_items
    # The block costs a handful of statements over the dashboard's own.
    with monkeypatch.context() as patch:
        patch.setattr(worklist_page, "waiting_items", lambda **kwargs: [])
        without, _ = statements()
    assert 0 < with_items - without <= 10
    with django_assert_max_num_queries(100):
        index(client)
