"""A manual journal's supporting documents in the API: attached (multipart), listed and
downloaded with their SHA-256; refused when empty, too large, or once the journal is
approved."""

from __future__ import annotations

import base64
import hashlib
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ledger import services
from ledger.models import ManualJournalAttachment

pytestmark = pytest.mark.django_db
D = Decimal
PDF = b"%PDF-1.4\n% loan agreement, page 1\n%%EOF\n"


@pytest.fixture
def journal(chart, staff_user):
    services.entry_post(
        effective_date=date(2025, 9, 30),
        memo="Opening cash",
        postings=[("1000", D("500000"), D("500000")), ("3000", D("-500000"), D("-500000"))],
    )
    made, _ = services.manual_journal_create(
        effective_date=date(2025, 10, 1),
        memo="Bought 1.5 BTC",
        postings=[("5110", D("1.5"), D("142500")), ("1000", D("-142500"), D("-142500"))],
        by=staff_user,
    )
    return made


def attach(client, journal, name="agreement.pdf", content=PDF):
    return client.post(
        f"/api/v1/manual-journals/{journal.pk}/attachments/",
        {"file": SimpleUploadedFile(name, content, content_type="application/pdf")},
        format="multipart",
    )


def test_attach_list_and_download_with_the_hash(api_client_for, journal):
    response = attach(api_client_for("staff"), journal)
    assert response.status_code == 201, response.json()
    body = response.json()
    digest = hashlib.sha256(PDF).hexdigest()
    assert (body["file_name"], body["size"], body["sha256"], body["uploaded_by"]) == (
        "agreement.pdf",
        len(PDF),
        digest,
        "staff",
    )
    auditor = api_client_for("auditor")
    listed = auditor.get(f"/api/v1/manual-journals/{journal.pk}/attachments/").json()
    assert [row["sha256"] for row in listed] == [digest]
    download = auditor.get(body["download"])
    assert download.status_code == 200 and download.content == PDF
    assert (
        download["Repr-Digest"]
        == f"sha-256=:{base64.b64encode(hashlib.sha256(PDF).digest()).decode()}:"
    )
    assert download["X-Content-SHA256"] == digest
    assert attach(auditor, journal).status_code == 403
    missing = auditor.get(f"/api/v1/manual-journals/{journal.pk}/attachments/999999/content/")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_empty_too_large_and_after_approval_are_refused(
    api_client_for, journal, staff_user, approver_user, settings
):
    settings.MANUAL_JOURNAL_ATTACHMENT_MAX_BYTES = 20
    staff = api_client_for("staff")
    too_large = attach(staff, journal, content=b"x" * 21)
    assert too_large.status_code == 400 and too_large.json()["field"] == "file"
    assert "is 21 bytes; a supporting document is at most 20 bytes" in too_large.json()["detail"]
    empty = attach(staff, journal, content=b"")
    assert empty.status_code == 400 and "is empty" in empty.json()["detail"]
    assert not ManualJournalAttachment.objects.exists()

    services.manual_journal_submit(journal=journal, by=staff_user)
    services.manual_journal_approve(journal=journal, by=approver_user)
    late = attach(staff, journal, content=b"x" * 20)
    assert late.status_code == 409 and "approved and posted" in late.json()["detail"]
    assert not ManualJournalAttachment.objects.exists()
