"""The journal list's amounts and filters, an entry's link to its document, and the chart
of accounts at an as-of date with the period's activity, each figure linking to the account
detail for the same dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ledger import services
from ledger.models import JournalEntry
from tests.ledger.admin.test_pages import child, row_of, url

pytestmark = pytest.mark.django_db
D = Decimal


def post(
    day: date,
    amount: str,
    memo: str,
    debit: str = "1000",
    credit: str = "3000",
    kind: str = "general",
):
    value = D(amount)
    return services.entry_post(
        effective_date=day,
        memo=memo,
        postings=[(debit, value, value), (credit, -value, -value)],
        kind=kind,
    )


@pytest.fixture
def journal(chart):
    return [
        post(date(2026, 1, 5), "1000.00", "January cash", kind="opening_balance"),
        post(date(2026, 2, 5), "2500.50", "February cash"),
        post(date(2026, 2, 20), "300.00", "Spent", debit="5300", credit="1000"),
    ]


def listed(response) -> list[str]:
    return [entry.memo for entry in response.context["cl"].result_list]


def test_the_journal_lists_each_entrys_total_debits(as_role, journal):
    response = as_role("auditor").get(url("journalentry_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "2,500.50" in html and "1,000.00" in html and "300.00" in html
    amounts = {e.memo: e.debits for e in response.context["cl"].result_list}
    assert amounts == {
        "January cash": D("1000.00"),
        "February cash": D("2500.50"),
        "Spent": D("300.00"),
    }


def test_the_journal_list_reads_no_more_for_more_entries(as_role, journal):
    client = as_role("staff")
    with CaptureQueriesContext(connection) as few:
        client.get(url("journalentry_changelist"))
    for n in range(15):
        post(date(2026, 3, 1), "10.00", f"more {n}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url("journalentry_changelist"))
    assert len(listed(response)) == 18
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_journal_filters_by_account_kind_dates_and_document(as_role, journal):
    client = as_role("approver")
    changelist = url("journalentry_changelist")
    assert sorted(listed(client.get(changelist, {"account": "5300"}))) == ["Spent"]
    # An account includes the accounts below it.
    child("1000-01", "Petty cash", "1000")
    post(date(2026, 2, 21), "5.00", "Petty", debit="1000-01", credit="1000")
    assert "Petty" in listed(client.get(changelist, {"account": "1000"}))
    found = listed(client.get(changelist, {"from": "2026-02-01", "to": "2026-02-20"}))
    assert sorted(found) == ["February cash", "Spent"]
    assert listed(client.get(changelist, {"kind": "opening_balance"})) == ["January cash"]
    found = listed(client.get(changelist, {"document": "none", "to": "2026-01-31"}))
    assert found == ["January cash"]
    assert listed(client.get(changelist, {"document": "manual_journal"})) == []


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
        ({"account": "9999"}, "account"),
        ({"document": "invoice"}, "document"),
    ],
)
def test_a_bad_journal_filter_is_said_naming_it(as_role, journal, query, parameter):
    response = as_role("auditor").get(url("journalentry_changelist"), query)
    assert response.status_code == 200
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(m.startswith(f"{parameter}:") for m in said), said
    assert listed(response) == []


def test_a_manual_journals_entry_links_to_it(as_role, journal, users):
    mj, _ = services.manual_journal_create(
        effective_date=date(2026, 1, 20),
        memo="Capital",
        postings=[("1000", D("50.00"), D("50.00")), ("3000", D("-50"), D("-50"))],
        by=users["staff"],
    )
    services.manual_journal_submit(journal=mj, by=users["staff"])
    mj = services.manual_journal_approve(journal=mj, by=users["approver"])
    html = as_role("auditor").get(url("journalentry_change", mj.entry.pk)).content.decode()
    assert f'href="{url("manualjournal_change", mj.pk)}"' in html
    assert "50.00" in html
    found = as_role("auditor").get(url("journalentry_changelist"), {"document": "manual_journal"})
    assert listed(found) == ["Capital"]
    assert JournalEntry.objects.get(pk=mj.entry.pk).memo == "Capital"


def test_the_chart_at_an_as_of_date_with_the_periods_activity(as_role, journal):
    client = as_role("auditor")
    response = client.get(url("account_changelist"), {"as_of": "2026-02-28", "start": "2026-02-01"})
    assert response.status_code == 200
    html = response.content.decode()
    cash = row_of(html, "1000")
    # 1,000.00 + 2,500.50 - 300.00 at the end of February; 2,200.50 of it in February.
    assert "3,200.50 Dr" in cash and "2,200.50 Dr" in cash
    detail = reverse("admin:reports_account_detail")
    assert f"{detail}?account=1000&amp;start=2026-02-01&amp;end=2026-02-28" in cash
    response = client.get(url("account_changelist"), {"as_of": "2026-01-31"})
    cash = row_of(response.content.decode(), "1000")
    assert "1,000.00 Dr" in cash and "start=2026-01-01&amp;end=2026-01-31" in cash
    # The account detail it links to closes at the same figure.
    page = client.get(detail, {"account": "1000", "start": "2026-02-01", "end": "2026-02-28"})
    closing = page.context["tables"][0]["rows"][-1]["cells"]
    assert [c["text"] for c in closing if c["text"]][-2:] == ["3200.50", "3200.50"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"as_of": "2026-02-31"}, "as_of"),
        ({"start": "x"}, "start"),
        ({"start": "9998-12-31"}, "start"),
    ],
)
def test_a_bad_chart_date_is_said_naming_it(as_role, journal, query, parameter):
    response = as_role("staff").get(url("account_changelist"), query)
    assert response.status_code == 200
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(m.startswith(f"{parameter}:") for m in said), said


@pytest.mark.parametrize(
    "report",
    [
        "https://elsewhere.example/admin/reports/",
        "/admin/ledger/account/",
        "//x",
        '/admin/reports/"x',
    ],
)
def test_an_entry_links_back_only_to_a_report_page(as_role, journal, report):
    page = as_role("auditor").get(url("journalentry_change", journal[0].pk), {"report": report})
    assert page.status_code == 200
    assert "Back to the report" not in page.content.decode()


def test_the_charts_filters_and_search_keep_its_dates(as_role, journal):
    query = {"as_of": "2026-01-31", "start": "2026-01-01"}
    html = as_role("auditor").get(url("account_changelist"), query).content.decode()
    assert "as_of=2026-01-31" in html.split('id="changelist-filter"')[1]
    response = as_role("auditor").get(url("account_changelist"), {**query, "type": "asset"})
    assert response.status_code == 200
    assert "1,000.00 Dr" in row_of(response.content.decode(), "1000")
