"""A refused admin page or action answers 403 with a page of the admin's look that says why
(the role it needs, or the rule) and who is asking; the API's refusals stay JSON."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.urls import reverse

from cango_treasury.errors import permission_denied
from ledger import services
from ledger.models import ManualJournal, PeriodClose
from tests.conftest import token_for

pytestmark = pytest.mark.django_db

D = Decimal
LINES = [("1000", D("100.00"), D("100.00")), ("3000", D("-100.00"), D("-100.00"))]


def url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


def refused(response) -> tuple[str, str]:
    """The page's reason and who it says is asking, checked to be the admin's 403 page."""
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    # The admin's look: its header, its style sheets, the way back.
    assert '<div id="site-name"><a href="/admin/">cango-treasury</a></div>' in html
    assert "admin/css/base.css" in html
    assert "<title>Not allowed | cango-treasury</title>" in html
    assert 'href="/admin/">Back to the dashboard</a>' in html
    reason = html.split('<p class="errornote" id="refused-reason">', 1)[1].split("</p>", 1)[0]
    who = html.split('<p id="refused-who">', 1)[1].split("</p>", 1)[0]
    return reason, who


def test_the_maker_of_a_journal_is_refused_its_approval_in_words(as_role, chart, users):
    journal, _ = services.manual_journal_create(
        effective_date=date(2026, 1, 15),
        memo="Accrual",
        postings=LINES,
        by=users["approver"],
        submit=True,
    )
    maker = as_role("approver")
    for response in (
        maker.get(url("ledger_manualjournal_approve", journal.pk)),
        maker.post(url("ledger_manualjournal_approve", journal.pk), {}),
        maker.post(url("ledger_manualjournal_reject", journal.pk), {"reason": "x"}),
    ):
        reason, who = refused(response)
        assert reason.startswith(f"MJ-{journal.pk} is yours: nobody ")
        assert "A finance approver other than its maker decides it." in reason
        assert who == "You are logged in as approver, with the role finance approver."
    journal.refresh_from_db()
    assert journal.status == "submitted"


def test_who_asked_for_a_cancellation_is_refused_its_decision_in_words(as_role, chart, users):
    entry = services.entry_post(effective_date=date(2026, 1, 5), memo="cash in", postings=LINES)
    cancellation, _ = services.cancellation_request(
        entry=entry, reason="twice", by=users["approver"]
    )
    client = as_role("approver")
    reason, _ = refused(client.post(url("ledger_cancellation_approve", cancellation.pk), {}))
    assert reason == (
        f"You asked for the cancellation of {cancellation.document}: nobody approves their "
        "own request. A finance approver other than the one who asked decides it."
    )
    reason, _ = refused(
        as_role("staff").post(url("ledger_cancellation_reject", cancellation.pk), {"reason": "x"})
    )
    assert reason == "Rejecting a cancellation needs the finance approver role."
    cancellation.refresh_from_db()
    assert cancellation.status == "requested"


def test_finance_staff_are_told_that_approving_needs_the_approver_role(as_role, chart, users):
    journal, _ = services.manual_journal_create(
        effective_date=date(2026, 1, 15), memo="x", postings=LINES, by=users["staff"], submit=True
    )
    reason, who = refused(as_role("staff").get(url("ledger_manualjournal_approve", journal.pk)))
    assert reason == "Approving a manual journal needs the finance approver role."
    assert who == "You are logged in as staff, with the role finance staff."
    assert ManualJournal.objects.get().status == "submitted"


def test_finance_staff_cannot_close_a_period_and_are_told_why(as_role, chart):
    client = as_role("staff")
    for response in (
        client.get(url("ledger_periodclose_add")),
        client.post(url("ledger_periodclose_add"), {"through": "2025-10-31"}),
    ):
        reason, _ = refused(response)
        assert reason == "Closing a period needs the finance approver role."
    assert not PeriodClose.objects.exists()


def test_a_page_of_a_role_the_user_lacks_names_the_roles(as_role, chart):
    reason, who = refused(as_role("no_role").get(url("ledger_manualjournal_changelist")))
    assert reason == (
        "Seeing the manual journals needs a role (finance staff, finance approver or auditor)."
    )
    assert who == "You are logged in as nobody, with no role."
    reason, who = refused(as_role("auditor").get(url("ledger_manualjournal_add")))
    assert reason == "Adding a manual journal needs the finance staff or finance approver role."
    assert who == "You are logged in as auditor, with the role auditor."
    reason, _ = refused(as_role("auditor").get(url("holdings_importbatch_upload")))
    assert reason == "Uploading a pool file needs the finance staff or finance approver role."
    reason, _ = refused(as_role("auditor").get(url("holdings_sale_add")))
    assert reason == "Recording a sale needs the finance staff or finance approver role."


def test_what_nobody_does_by_hand_says_so(as_role, chart):
    entry = services.entry_post(effective_date=date(2026, 1, 5), memo="cash in", postings=LINES)
    client = as_role("superuser")
    reason, who = refused(client.get(url("ledger_journalentry_add")))
    assert reason.startswith("Nobody adds a journal entry here")
    assert who == "You are logged in as root, with the role superuser."
    reason, _ = refused(client.post(url("ledger_journalentry_delete", entry.pk), {"post": "yes"}))
    assert reason.startswith("Nothing here is deleted")
    reason, _ = refused(
        client.post(url("ledger_journalentry_change", entry.pk), {"memo": "edited"})
    )
    assert reason.startswith("Nobody changes a journal entry here")


def test_the_apis_refusals_stay_json(users, chart):
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(users['no_role'])}")
    response = api.get("/api/v1/accounts/")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "permission_denied"
    # Django's own refusal under /api/ (outside DRF's views) is the API's JSON too.
    request = RequestFactory().get("/api/v1/anything/")
    request.user = users["no_role"]
    answer = permission_denied(request, None)
    assert answer.status_code == 403 and answer["Content-Type"] == "application/json"
    assert b'"code": "permission_denied"' in answer.content
