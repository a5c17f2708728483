"""Manual journals in the admin: finance staff draft and submit a journal with its lines,
an approver who is not its maker approves or rejects it; errors shown on the form."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction

from ledger import services
from ledger.models import Account, JournalEntry, ManualJournal, ManualJournalAttachment
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


# BTC units on 5110 (an expense in BTC units): a wallet (1210) holds lots, and no manual
# journal posts to it.
BUY = [("5110", "1.5", "142500.00"), ("1000", "-142500.00", "-142500.00")]


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
        ("5110", D("1.5"), D("142500.00")),
        ("1000", D("-142500.00"), D("-142500.00")),
    ]
    assert not JournalEntry.objects.filter(memo="Bought 1.5 BTC").exists()

    # Its maker edits it: a line changed, one added, one removed.
    lines = list(journal.lines.order_by("id"))
    data = form_data(
        [
            ("5110", "1", "95000.00"),
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
            [("5110", "1.5", "142500.01"), ("1000", "-142500.00", "-142500.00")],
            "The lines do not balance: debits 142,500.01 USD, credits 142,500.00 USD, a "
            "difference of 0.01 USD.",
        ),
        ([("5110", "1.5", "142500.00")], "A journal needs at least two lines"),
        (
            [("5110", "1.123456789", "1.00"), ("1000", "-1.00", "-1.00")],
            "has more than 8 decimal places, the scale of BTC",
        ),
        (
            [("5110", "10", "950000.00"), ("1000", "-950000.00", "-950000.00")],
            "Account 1000 must not go negative",
        ),
        (
            [("5110", "1", "-95000.00"), ("1000", "95000.00", "95000.00")],
            "Line 1: the USD value is written without a sign.",
        ),
        ([("5110", "1", "95000.001"), ("1000", "-95000", "-95000")], "no more than 2 decimal"),
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
        postings=[("5110", D("1.5"), D("142500")), ("1000", D("-142500"), D("-142500"))],
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
        postings=[("5110", D("1"), D("1000")), ("1000", D("-1000"), D("-1000"))],
        by=users["approver"],
        submit=True,
    )
    maker = as_role("approver")
    html = maker.get(url("manualjournal_change", journal.pk)).content.decode()
    assert "Approve…" not in html and "Reject…" not in html
    # Refused server-side too, plainly: the admin's 403 page says why.
    response = maker.post(url("manualjournal_approve", journal.pk))
    assert response.status_code == 403
    assert "nobody approves their own journal" in response.content.decode()
    response = maker.post(url("manualjournal_reject", journal.pk), {"reason": "x"})
    assert response.status_code == 403
    assert "nobody rejects their own journal" in response.content.decode()
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
        postings=[("5110", D("1.5"), D("142500")), ("1000", D("-142500"), D("-142500"))],
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
        postings=[("5110", D("1"), D("1000")), ("1000", D("-1000"), D("-1000"))],
        by=users["staff"],
    )
    lines = [line.pk for line in journal.lines.order_by("id")]
    data = form_data([("5110", "2", "2000"), ("1000", "-2000", "-2000")], initial=lines)
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
            postings=[("5110", D("1"), D("1000")), ("1000", D("-1000"), D("-1000"))],
            by=users["staff"],
            submit=submit,
        )
    html = as_role("approver").get(url("manualjournal_changelist"), {"status__exact": "submitted"})
    text = html.content.decode()
    assert "Journal 0" in text and "Journal 2" in text and "Journal 1" not in text
    # Each with its debits in USD, at the cent.
    assert text.count('<td class="field-debits">1,000.00</td>') == 2


# --- lines typed in Debit and Credit columns ---------------------------------------------


def typed(lines: list[tuple[str, str, str, str]], **header: str) -> dict[str, str]:
    """The form as an accountant fills it: (account, debit, credit, USD value) per line."""
    data = form_data([], **header)
    data["lines-TOTAL_FORMS"] = str(len(lines))
    for n, (code, debit, credit, value) in enumerate(lines):
        data[f"lines-{n}-account"] = str(account(code))
        data[f"lines-{n}-debit"] = debit
        data[f"lines-{n}-credit"] = credit
        data[f"lines-{n}-value"] = value
    return data


# A figure printed with its column's 18 decimals (only ETC's scale is 18).
RAW = re.compile(r"\d\.\d{18}\b(?! ETC)")


def test_debit_and_credit_columns_keep_the_same_signed_lines(as_role, opening, users):
    response = as_role("staff").post(
        url("manualjournal_add"),
        typed([("5110", "1.5", "", "142,500.00"), ("1000", "", "142500", "")]),
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    typed_journal = ManualJournal.objects.get()
    same, _ = services.manual_journal_create(
        effective_date=date(2025, 10, 1),
        memo="Bought 1.5 BTC",
        postings=[("5110", D("1.5"), D("142500")), ("1000", D("-142500"), D("-142500"))],
        by=users["staff"],
    )

    def kept(journal):
        return [(line.account.code, line.quantity, line.value) for line in journal.lines.all()]

    # The USD line's value was left blank: filled from its amount.
    assert (
        kept(typed_journal)
        == kept(same)
        == [
            ("5110", D("1.5"), D("142500")),
            ("1000", D("-142500"), D("-142500")),
        ]
    )


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            [("5110", "1", "", "95000"), ("1000", "95000", "95000", "")],
            "Line 2 has both a debit and a credit: write its amount in one column only.",
        ),
        (
            [("5110", "", "", "95000"), ("1000", "", "95000", "")],
            "Line 1 has neither a debit nor a credit: write its amount.",
        ),
        (
            [("5110", "1", "", "95000"), ("1000", "", "94000", "")],
            "The lines do not balance: debits 95,000.00 USD, credits 94,000.00 USD, a "
            "difference of 1,000.00 USD.",
        ),
        (
            [("5110", "1", "", ""), ("1000", "", "95000", "")],
            "Line 1: its USD value is required.",
        ),
        (
            [("5110", "1", "", "95000"), ("1000", "", "95000", "94000")],
            "Line 2 is in USD: its value is its amount, 95000; leave the value blank.",
        ),
        (
            [("5110", "-1", "", "95000"), ("1000", "", "95000", "")],
            "Line 1: amounts are written without a sign; a credit goes in the Credit column.",
        ),
        (
            [("5110", "1.123456789", "", "1.00"), ("1000", "", "1", "")],
            "Line 1: quantity 1.123456789 has more than 8 decimal places, the scale of BTC",
        ),
    ],
    ids=["both", "neither", "unbalanced", "no-value", "usd-value", "signed", "scale"],
)
def test_a_typed_line_in_error_is_named(as_role, opening, lines, message):
    html = errors_of(as_role("staff").post(url("manualjournal_add"), typed(lines)))
    assert message in html.replace("&#x27;", "'")
    assert not ManualJournal.objects.exists()


def test_the_page_types_with_a_script_of_its_own_and_shows_amounts_at_scale(
    as_role, opening, users
):
    staff = as_role("staff")
    page = staff.get(url("manualjournal_add")).content.decode()
    # The script is the app's static file (no CDN); it gets each account's commodity.
    assert 'src="/static/ledger/manual_journal.js"' in page and "cdn" not in page.lower()
    assert 'id="journal-accounts"' in page and f'"{account("5110")}": ["BTC", 8]' in page
    assert 'id="journal-totals"' in page and "0.00 USD" in page

    journal, _ = services.manual_journal_create(
        effective_date=date(2025, 10, 1),
        memo="Bought 1.5 BTC",
        postings=[("5110", D("1.5"), D("142500")), ("1000", D("-142500"), D("-142500"))],
        by=users["staff"],
    )
    draft = staff.get(url("manualjournal_change", journal.pk)).content.decode()
    # The draft's lines fill their own columns at their commodity's scale.
    # Text boxes, so that thousands separators can be typed (a number box drops them).
    assert '<input type="text" name="lines-0-debit" value="1.50000000"' in draft
    assert 'name="lines-0-value" value="142500.00"' in draft
    assert 'name="lines-1-credit" value="142500.00"' in draft
    assert "142,500.00 USD" in draft and not RAW.search(draft)

    services.manual_journal_submit(journal=journal, by=users["staff"])
    approver = as_role("approver")
    shown = approver.get(url("manualjournal_change", journal.pk)).content.decode()
    cells = re.findall(r'<td class="field-(\w+)">\s*<p>([^<]*)</p>', shown)
    assert ("debit_amount", "1.50000000") in cells and ("credit_amount", "142,500.00") in cells
    assert ("commodity", "BTC") in cells and ("value_amount", "142,500.00") in cells
    assert "Difference</th><td" in shown and not RAW.search(shown)
    action = approver.get(url("manualjournal_approve", journal.pk)).content.decode()
    assert "1.50000000 BTC" in action and "142,500.00 USD" in action and not RAW.search(action)

    approver.post(url("manualjournal_approve", journal.pk))
    journal.refresh_from_db()
    for page_url in (
        url("journalentry_change", journal.entry.pk),
        url("account_change", account("5110")),
        url("account_changelist"),
        url("manualjournal_change", journal.pk),
    ):
        html = approver.get(page_url).content.decode()
        assert not RAW.search(html), (page_url, RAW.search(html))
    entry_page = approver.get(url("journalentry_change", journal.entry.pk)).content.decode()
    assert "1.50000000 BTC Dr" in entry_page and "142,500.00 Cr" in entry_page
    # The cancellation of its document shows what it reverses, at scale.
    asked, _ = services.cancellation_request(entry=journal.entry, reason="typo", by=users["staff"])
    page = approver.get(url("cancellation_change", asked.pk)).content.decode()
    assert "1.50000000 BTC Dr" in page and "142,500.00 USD Cr" in page and not RAW.search(page)


# --- supporting documents ----------------------------------------------------------------

PDF = b"%PDF-1.4\n% invoice 2025-118 for 1.5 BTC\n%%EOF\n"


def upload(client, journal, name="invoice.pdf", content=PDF, content_type="application/pdf"):
    return client.post(
        url("manualjournal_attachments", journal.pk),
        {"file": SimpleUploadedFile(name, content, content_type=content_type)},
        follow=True,
    )


@pytest.fixture
def journal(opening, users):
    made, _ = services.manual_journal_create(
        effective_date=date(2025, 10, 1),
        memo="Bought 1.5 BTC",
        postings=[("5110", D("1.5"), D("142500")), ("1000", D("-142500"), D("-142500"))],
        by=users["staff"],
    )
    return made


def test_documents_are_attached_listed_and_downloaded_with_their_hash(as_role, journal, users):
    staff = as_role("staff")
    digest = hashlib.sha256(PDF).hexdigest()
    response = upload(staff, journal)
    assert (
        f"invoice.pdf attached to MJ-{journal.pk} ({len(PDF)} bytes, SHA-256 {digest})."
        in messages_of(response)
    )
    kept = ManualJournalAttachment.objects.get()
    assert (kept.file_name, kept.content_type, kept.size, kept.sha256, kept.uploaded_by) == (
        "invoice.pdf",
        "application/pdf",
        len(PDF),
        digest,
        users["staff"],
    )
    assert bytes(kept.content) == PDF

    # Every role lists and downloads them, on the journal's page and the documents' page.
    auditor = as_role("auditor")
    for page_url in (
        url("manualjournal_change", journal.pk),
        url("manualjournal_attachments", journal.pk),
    ):
        html = auditor.get(page_url).content.decode()
        assert "invoice.pdf" in html and digest in html
    download = auditor.get(url("manualjournal_attachment_download", journal.pk, kept.pk))
    assert download.status_code == 200 and download.content == PDF
    assert download["X-Content-SHA256"] == hashlib.sha256(download.content).hexdigest() == digest
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert download["X-Content-Type-Options"] == "nosniff"
    # Auditors attach nothing; a document of another journal is not this one's.
    assert upload(auditor, journal).status_code == 403
    assert ManualJournalAttachment.objects.count() == 1
    other, _ = services.manual_journal_create(
        effective_date=date(2025, 10, 1),
        memo="Other",
        postings=[("5110", D("1"), D("1000")), ("1000", D("-1000"), D("-1000"))],
        by=users["staff"],
    )
    assert (
        auditor.get(url("manualjournal_attachment_download", other.pk, kept.pk)).status_code == 404
    )

    # Before a decision, the one who attached it deletes it; somebody else may not.
    approver = as_role("approver")
    refused = approver.post(url("manualjournal_attachment_delete", journal.pk, kept.pk))
    assert "only they or the maker of" in errors_of(refused)
    staff = as_role("staff")
    response = staff.post(url("manualjournal_attachment_delete", journal.pk, kept.pk), follow=True)
    assert f"invoice.pdf deleted from MJ-{journal.pk}" in messages_of(response)[0]
    assert not ManualJournalAttachment.objects.exists()


def test_an_empty_or_too_large_document_is_refused(as_role, journal, settings):
    settings.MANUAL_JOURNAL_ATTACHMENT_MAX_BYTES = 40
    staff = as_role("staff")
    page = staff.get(url("manualjournal_attachments", journal.pk)).content.decode()
    assert "at most 40 bytes" in page and 'enctype="multipart/form-data"' in page
    html = errors_of(upload(staff, journal, content=b"x" * 41))
    assert "Invoice.pdf is 41 bytes; a supporting document is at most 40 bytes" in html
    html = errors_of(upload(staff, journal, name="blank.txt", content=b""))
    assert "Blank.txt is empty: a supporting document has something in it." in html
    assert not ManualJournalAttachment.objects.exists()
    # Exactly the limit is taken.
    assert upload(staff, journal, content=b"x" * 40).status_code == 200
    assert ManualJournalAttachment.objects.get().size == 40


def test_after_approval_no_document_is_added_changed_or_deleted(as_role, journal, users):
    staff = as_role("staff")
    upload(staff, journal)
    kept = ManualJournalAttachment.objects.get()
    services.manual_journal_submit(journal=journal, by=users["staff"])
    upload(staff, journal, name="second.pdf")  # still open while submitted
    assert ManualJournalAttachment.objects.count() == 2
    services.manual_journal_approve(journal=journal, by=users["approver"])

    page = staff.get(url("manualjournal_attachments", journal.pk)).content.decode()
    frozen = "is approved and posted: its supporting documents stay as they"
    assert f"MJ-{journal.pk} {frozen}" in page
    assert 'type="file"' not in page and "Delete…" not in page
    frozen = f"manual journal #{journal.pk} {frozen}"
    html = errors_of(upload(staff, journal, name="late.pdf"))
    assert f"{frozen} were approved; none can be added" in html
    html = errors_of(staff.post(url("manualjournal_attachment_delete", journal.pk, kept.pk)))
    assert f"{frozen} were approved; none can be deleted" in html
    # Nor changed: the ORM meets PostgreSQL's rule.
    with pytest.raises(IntegrityError, match="ledger_mj_attachment_frozen"), transaction.atomic():
        ManualJournalAttachment.objects.filter(pk=kept.pk).update(file_name="renamed.pdf")
    assert sorted(a.file_name for a in ManualJournalAttachment.objects.all()) == [
        "invoice.pdf",
        "second.pdf",
    ]
    download = staff.get(url("manualjournal_attachment_download", journal.pk, kept.pk))
    assert download.content == PDF and download["X-Content-SHA256"] == kept.sha256


def test_a_line_marked_for_deletion_is_left_out_whatever_it_holds(as_role, journal):
    kept = [line.pk for line in journal.lines.order_by("id")]
    data = typed([("5110", "2", "", "190000"), ("1000", "", "190000", ""), ("1000", "", "", "")])
    data.update(
        {"lines-INITIAL_FORMS": "2", "lines-0-id": str(kept[0]), "lines-1-id": str(kept[1])}
    )
    data["lines-2-DELETE"] = "on"
    # The lines kept are still checked as a whole, on the form.
    unbalanced = {**data, "lines-1-credit": "189000"}
    html = errors_of(as_role("staff").post(url("manualjournal_change", journal.pk), unbalanced))
    assert "a difference of 1,000.00 USD" in html
    response = as_role("staff").post(url("manualjournal_change", journal.pk), data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert sorted(line.value for line in journal.lines.all()) == [D("-190000"), D("190000")]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "Line 1: there is no such account: choose one from the list."),
        ("1.5", "Line 1: there is no such account: choose one from the list."),
        ("99999999999999999999999", "Line 1: there is no such account: choose one from the list."),
        ("1\x00", "Null characters are not allowed."),
        ("\x00", "Null characters are not allowed."),
    ],
    ids=["letters", "decimal", "too-large", "nul-after", "nul"],
)
def test_an_account_that_is_no_account_is_an_error_on_its_line(as_role, opening, value, message):
    """The autocomplete field shows the form again (Django's widget looks the value up to
    show it selected, and failed on what is no account id): the error is on the line's
    account."""
    data = typed([("1000", "1.00", "", ""), ("3000", "", "1.00", "")], effective_date="2026-01-15")
    data["lines-0-account"] = value
    html = errors_of(as_role("staff").post(url("manualjournal_add"), data))
    on_account = html.split('id="id_lines-0-account_error">', 1)[1].split("</ul>", 1)[0]
    assert on_account == f"<li>{message}</li>"
    assert 'id="id_lines-1-account_error"' not in html
    assert not ManualJournal.objects.exists()


def test_every_autocomplete_field_of_the_admin_is_the_checked_one(as_role, opening):
    """Admins and their inlines alike (a new one with autocomplete_fields is checked too)."""
    from django.contrib import admin
    from django.contrib.admin.widgets import AutocompleteMixin

    from ledger.admin.base import CheckedAutocompleteMixin

    request = as_role("staff").get(url("manualjournal_add")).wsgi_request
    seen = 0
    for model_admin in admin.site._registry.values():
        for each in [model_admin, *model_admin.get_inline_instances(request)]:
            for name in each.get_autocomplete_fields(request):
                field = each.model._meta.get_field(name)
                formfield = each.formfield_for_dbfield(field, request)
                widget = getattr(formfield.widget, "widget", formfield.widget)
                assert isinstance(widget, AutocompleteMixin)
                assert isinstance(widget, CheckedAutocompleteMixin), (each, name)
                seen += 1
    assert seen
