"""One way of writing dates and times across the admin: 2026-01-15 and 2026-01-31 08:00 UTC,
in lists, on record pages and on the dashboard; the API keeps ISO 8601."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from ledger import services
from tests.conftest import token_for
from tests.holdings.admin.test_pages import url
from tests.holdings.conftest import run_import

pytestmark = pytest.mark.django_db

D = Decimal
LINES = [("1000", D("100.00"), D("100.00")), ("3000", D("-100.00"), D("-100.00"))]
ISO_MOMENT = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)"


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


def test_a_list_writes_dates_and_times_the_same_way(as_role, chart, users):
    journal, _ = services.manual_journal_create(
        effective_date=date(2026, 1, 15), memo="Accrual", postings=LINES, by=users["staff"]
    )
    journal = services.manual_journal_submit(journal=journal, by=users["staff"])
    html = as_role("auditor").get(reverse("admin:ledger_manualjournal_changelist")).content
    row = html.decode().split('id="result_list"', 1)[1]
    assert '<td class="field-effective_date nowrap">2026-01-15</td>' in row
    submitted = f"{journal.submitted_at:%Y-%m-%d %H:%M} UTC"
    assert f'<td class="field-submitted_at nowrap">{submitted}</td>' in row
    assert "Jan. 15, 2026" not in row and "a.m." not in row and "p.m." not in row


def test_record_pages_and_the_dashboard_say_utc(as_role, world):
    batch = run_import("f2pool", b"{not json", file_name="broken.json")
    client = as_role("auditor")
    page = client.get(url("importbatch_change", batch.pk)).content.decode()
    created = f"{batch.created_at:%Y-%m-%d %H:%M} UTC"
    assert created in page
    dashboard = client.get("/admin/?as_of=2026-01-31").content.decode()
    panel = dashboard[dashboard.index('id="dash-imports"') :]
    assert f"<td>{created}</td>" in panel
    # Every time the admin shows is written with its zone.
    for text in (page, panel):
        for moment in re.findall(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?(?! UTC)\b", text):
            pytest.fail(f"a time without its zone: {moment}")


def test_the_reopen_page_says_when_the_books_were_closed_in_utc(as_role, chart, users):
    close = services.period_close(through=date(2025, 10, 31), by=users["approver"])
    page = as_role("approver").get(reverse("admin:ledger_periodclose_reopen", args=[close.pk]))
    closed = f"{close.closed_at:%Y-%m-%d %H:%M} UTC"
    assert f"Closed by approver at {closed}." in page.content.decode()


def test_the_api_keeps_iso_8601(chart, users):
    from rest_framework.test import APIClient

    services.manual_journal_create(
        effective_date=date(2026, 1, 15),
        memo="Accrual",
        postings=LINES,
        by=users["staff"],
        submit=True,
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(users['auditor'])}")
    (row,) = api.get("/api/v1/manual-journals/").json()["results"]
    assert row["effective_date"] == "2026-01-15"
    assert re.fullmatch(ISO_MOMENT, row["submitted_at"])
