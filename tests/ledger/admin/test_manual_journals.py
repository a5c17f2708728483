"""Manual journals in the admin: finance staff draft and submit a journal with its lines,
an approver who is not its maker approves or rejects it; errors shown on the form."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger import services
from ledger.models import Account, JournalEntry, ManualJournal
from tests.ledger.admin.test_pages import messages_of, url

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def opening(chart):
    return services.entry_post(
        effective_date=date(2025, 9, 30),
        memo="Opening cash",
        postings=[("1000", D("500000.00"), D("500000.00")), ("3000", D("-500000"), D("-500000"))],
    )


def account(code: str) -> int:
    return Account.objects.get(code=code).pk


def form_data(
    lines: list[tuple[str, str, str]],
    *,
    effective_date: str = "2025-10-01",
    memo: str = "Bought 1.5 BTC",
    kind: str = "manual",
    initial: list[int] | None = None,
) -> dict[str, str]:
    data = {
        "effective_date": effective_date,
        "memo": memo,
        "kind": kind,
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": str(len(initial or [])),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for n, (code, quantity, value) in enumerate(lines):
        # Signed as the line is kept: typed in the Debit column if positive, else Credit.
        credit = quantity.startswith("-")
        data[f"lines-{n}-account"] = str(account(code)) if code else ""
        data[f"lines-{n}-debit"] = "" if credit else quantity
        data[f"lines-{n}-credit"] = quantity.removeprefix("-") if credit else ""
        data[f"lines-{n}-value"] = value.removeprefix("-") if credit else value
        if initial and n < len(initial):
            data[f"lines-{n}-id"] = str(initial[n])
    return data


BUY = [("1210", "1.5", "142500.00"), ("1000", "-142500.00", "-142500.00")]


def errors_of(response) -> str:
    assert response.status_code == 200, "the form should be shown again with its errors"
    return response.content.decode()


def test_finance_staff_draft_a_journal_with_its_lines(as_role, opening, users):
    client = as_role("staff")
    page = client.get(url("manualjournal_add"))
    assert page.status_code == 200 and "Draft a manual journal" in page.content.decode()
    response = client.post(url("manualjournal_add"), form_data(BUY))
    assert response.status_code == 302, response.content.decode()[-3000:]
    journal = ManualJournal.objects.get()
    assert (journal.status, journal.created_by, journal.memo) == (
        "draft",
        users["staff"],
        "Bought 1.5 BTC",
    )
    assert [(line.account.code, line.quantity, line.value) for line in journal.lines.all()] == [
        ("1210", D("1.5"), D("142500.00")),
        ("1000", D("-142500.00"), D("-142500.00")),
    ]
    assert not JournalEntry.objects.filter(memo="Bought 1.5 BTC").exists()

    # Its maker edits it: a line changed, one added, one removed.
    lines = list(journal.lines.order_by("id"))
    data = form_data(
        [
            ("1210", "1", "95000.00"),
            ("1000", "-142500.00", "-142500.00"),
            ("1000", "47500", "47500"),
        ],
        initial=[lines[0].pk, lines[1].pk],
    )
    response = client.post(url("manualjournal_change", journal.pk), data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert sorted(line.value for line in journal.lines.all()) == [
        D("-142500"),
        D("47500"),
        D("95000"),
    ]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            [("1210", "1.5", "142500.01"), ("1000", "-142500.00", "-142500.00")],
            "The lines do not balance: debits 142,500.01 USD, credits 142,500.00 USD, a "
            "difference of 0.01 USD.",
        ),
        ([("1210", "1.5", "142500.00")], "A journal needs at least two lines"),
        (
            [("1210", "1.123456789", "1.00"), ("1000", "-1.00", "-1.00")],
            "has more than 8 decimal places, the scale of BTC",
        ),
        (
            [("1210", "10", "950000.00"), ("1000", "-950000.00", "-950000.00")],
            "Account 1000 must not go negative",
        ),
        (
            [("1210", "1", "-95000.00"), ("1000", "95000.00", "95000.00")],
            "Line 1: the USD value is written without a sign.",
        ),
        ([("1210", "1", "95000.001"), ("1000", "-95000", "-95000")], "no more than 2 decimal"),
    ],
    ids=["unbalanced", "one-line", "scale", "overdraw", "signs", "cents"],
)
def test_errors_are_shown_plainly_and_nothing_is_saved(as_role, opening, lines, message):
    html = errors_of(as_role("staff").post(url("manualjournal_add"), form_data(lines)))
    assert message in html.replace("&#x27;", "'")
    assert not ManualJournal.objects.exists()


def test_a_date_in_a_closed_period_is_a_form_error(as_role, opening, users):
    services.period_close(through=date(2025, 10, 31), by=users["approver"])
    html = errors_of(as_role("staff").post(url("manualjournal_add"), form_data(BUY)))
    assert "2025-10-01 is inside the period closed through 2025-10-31" in html
    assert not ManualJournal.objects.exists()


def test_submit_then_another_approver_approves_and_it_posts(as_role, opening, users):
    journal, _ = services.manual_journal_create(
        effective_date=date(2025, 10, 1),
        memo="Bought 1.5 BTC",
        postings=[("1210", D("1.5"), D("142500")), ("1000", D("-142500"), D("-142500"))],
        by=users["staff"],
    )
    staff = as_role("staff")
    html = staff.get(url("manualjournal_change", journal.pk)).content.decode()
    assert "Submit for approval…" in html and "Approve…" not in html
    assert staff.get(url("manualjournal_submit", journal.pk)).status_code == 200
    response = staff.post(url("manualjournal_submit", journal.pk), follow=True)
    assert f"MJ-{journal.pk} submitted for approval." in messages_of(response)
    journal.refresh_from_db()
    assert journal.status == "submitted"
    # Submitted, nobody edits it any more, its maker included.
    assert staff.post(url("manualjournal_change", journal.pk), form_data(BUY)).status_code == 403
    # Finance staff cannot approve.
    assert staff.get(url("manualjournal_approve", journal.pk)).status_code == 403

    approver = as_role("approver")
    html = approver.get(url("manualjournal_change", journal.pk)).content.decode()
    assert "Approve…" in html and "Reject…" in html
    page = approver.get(url("manualjournal_approve", journal.pk)).content.decode()
    assert "142,500.00" in page and "1.50000000 BTC" in page
    response = approver.post(url("manualjournal_approve", journal.pk), follow=True)
    journal.refresh_from_db()
    assert journal.status == "approved" and journal.approved_by == users["approver"]
    assert f"approved and posted as entry #{journal.entry.sequence}" in messages_of(response)[0]
    assert (journal.entry.created_by, journal.entry.approved_by) == (
        users["staff"],
        users["approver"],
    )
    entry_page = approver.get(url("journalentry_change", journal.entry.pk)).content.decode()
    assert f"MJ-{journal.pk}" in entry_page and "approver" in entry_page
    # Approving again posts nothing more.
    again = approver.post(url("manualjournal_approve", journal.pk))
    assert "already approved and posted" in errors_of(again)
    assert JournalEntry.objects.filter(memo="Bought 1.5 BTC").count() == 1


def test_the_maker_cannot_approve_their_own_journal(as_role, opening, users):
    journal, _ = services.manual_journal_create(
        effective_date=date(2025, 10, 1),
        memo="Mine",
        postings=[("1210", D("1"), D("1000")), ("1000", D("-1000"), D("-1000"))],
        by=users["approver"],
        submit=True,
    )
    maker = as_role("approver")
    html = maker.get(url("manualjournal_change", journal.pk)).content.decode()
    assert "Approve…" not in html and "Reject…" not in html
    # Refused server-side too, plainly.
    response = maker.post(url("manualjournal_approve", journal.pk))
    assert "nobody approves their own journal" in errors_of(response)
    response = maker.post(url("manualjournal_reject", journal.pk), {"reason": "x"})
    assert "nobody rejects their own journal" in errors_of(response)
    journal.refresh_from_db()
    assert journal.status == "submitted" and journal.entry is None
    assert not JournalEntry.objects.filter(memo="Mine").exists()
    # The superuser (another person) may approve it.
    response = as_role("superuser").post(url("manualjournal_approve", journal.pk))
    assert response.status_code == 302
    journal.refresh_from_db()
    assert journal.entry.approved_by == users["superuser"]


def test_a_rejection_needs_a_reason_and_the_maker_drafts_a_copy(as_role, opening, users):
    journal, _ = services.manual_journal_create(
        effective_date=date(2025, 10, 1),
        memo="Bought 1.5 BTC",
        postings=[("1210", D("1.5"), D("142500")), ("1000", D("-142500"), D("-142500"))],
        by=users["staff"],
        submit=True,
    )
    approver = as_role("approver")
    blank = approver.post(url("manualjournal_reject", journal.pk), {"reason": " "})
    assert "This field is required." in errors_of(blank)
    response = approver.post(
        url("manualjournal_reject", journal.pk), {"reason": "Wrong wallet: 1220"}, follow=True
    )
    assert f"MJ-{journal.pk} rejected: Wrong wallet: 1220" in messages_of(response)
    journal.refresh_from_db()
    assert (journal.status, journal.rejection_reason, journal.entry) == (
        "rejected",
        "Wrong wallet: 1220",
        None,
    )
    staff = as_role("staff")
    html = staff.get(url("manualjournal_change", journal.pk)).content.decode()
    assert "Wrong wallet: 1220" in html and "Draft a copy…" in html
    response = staff.post(url("manualjournal_copy", journal.pk), follow=True)
    copy = ManualJournal.objects.exclude(pk=journal.pk).get()
    assert (copy.status, copy.created_by, copy.lines.count()) == ("draft", users["staff"], 2)
    assert response.redirect_chain[-1][0] == url("manualjournal_change", copy.pk)


def test_only_the_maker_edits_a_draft_and_auditors_only_read(as_role, opening, users):
    journal, _ = services.manual_journal_create(
        effective_date=date(2025, 10, 1),
        memo="Draft",
        postings=[("1210", D("1"), D("1000")), ("1000", D("-1000"), D("-1000"))],
        by=users["staff"],
    )
    lines = [line.pk for line in journal.lines.order_by("id")]
    data = form_data([("1210", "2", "2000"), ("1000", "-2000", "-2000")], initial=lines)
    for role in ("approver", "auditor"):
        client = as_role(role)
        assert client.get(url("manualjournal_change", journal.pk)).status_code == 200
        assert client.post(url("manualjournal_change", journal.pk), data).status_code == 403
        assert client.get(url("manualjournal_submit", journal.pk)).status_code in {200, 403}
        response = client.post(url("manualjournal_submit", journal.pk))
        assert response.status_code == 403 or "only its maker can submit it" in errors_of(response)
    auditor = as_role("auditor")
    assert auditor.get(url("manualjournal_add")).status_code == 403
    assert auditor.get(url("manualjournal_changelist")).status_code == 200
    assert auditor.post(url("manualjournal_delete", journal.pk), {"post": "yes"}).status_code == 403
    journal.refresh_from_db()
    assert journal.status == "draft" and journal.lines.count() == 2


def test_approvers_find_the_submitted_journals(as_role, opening, users):
    for n, submit in enumerate([True, False, True]):
        services.manual_journal_create(
            effective_date=date(2025, 10, 1),
            memo=f"Journal {n}",
            postings=[("1210", D("1"), D("1000")), ("1000", D("-1000"), D("-1000"))],
            by=users["staff"],
            submit=submit,
        )
    html = as_role("approver").get(url("manualjournal_changelist"), {"status__exact": "submitted"})
    text = html.content.decode()
    assert "Journal 0" in text and "Journal 2" in text and "Journal 1" not in text
