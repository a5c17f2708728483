"""The supporting documents of a manual journal, whatever writes to their table (raw SQL
here): their size and hash are those of their bytes, and once the journal is approved none
is added, changed or deleted (ledger/migrations/0017_manual_journal_attachments.sql)."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import pytest

from ledger import services
from ledger.models import AuditLog, ManualJournal, ManualJournalAttachment
from tests.ledger.database.test_invariants import refused, run_sql

pytestmark = pytest.mark.django_db
D = Decimal
CONTENT = b"bank confirmation 2025-10-01: 142,500.00 USD"
DIGEST = hashlib.sha256(CONTENT).hexdigest()


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


def insert(journal: ManualJournal, *, content: bytes = CONTENT, digest: str = DIGEST) -> str:
    return (
        "INSERT INTO ledger_manualjournalattachment (journal_id, file_name, content_type, size, "
        "sha256, content, uploaded_by_id, uploaded_at) "
        f"VALUES ({journal.pk}, 'confirmation.txt', 'text/plain', {len(content)}, '{digest}', "
        f"'\\x{content.hex()}'::bytea, {journal.created_by_id}, now())"
    )


def test_size_and_hash_are_those_of_the_bytes(journal):
    message = refused(insert(journal, digest="0" * 64))
    assert "ledger_mj_attachment_digest" in message
    message = refused(insert(journal).replace(f", {len(CONTENT)}, ", ", 1, "))
    assert "ledger_mj_attachment_digest" in message
    assert "ledger_mj_attachment_not_empty" in refused(
        insert(journal, content=b"", digest=hashlib.sha256(b"").hexdigest())
    )
    run_sql(insert(journal))
    kept = ManualJournalAttachment.objects.get()
    assert (kept.size, kept.sha256, bytes(kept.content)) == (len(CONTENT), DIGEST, CONTENT)
    # Audited without its bytes.
    logged = AuditLog.objects.get(table_name="ledger_manualjournalattachment", action="insert")
    assert logged.new["sha256"] == DIGEST and "content" not in logged.new


def test_before_approval_documents_change_after_it_none_does(journal, staff_user, approver_user):
    run_sql(insert(journal))
    run_sql("UPDATE ledger_manualjournalattachment SET file_name = 'renamed.txt'")
    run_sql("DELETE FROM ledger_manualjournalattachment")
    run_sql(insert(journal))
    services.manual_journal_submit(journal=journal, by=staff_user)
    run_sql(insert(journal))  # submitted: still open
    kept = ManualJournalAttachment.objects.order_by("id").first()
    services.manual_journal_approve(journal=journal, by=approver_user)

    frozen = (
        f"ledger_mj_attachment_frozen: manual journal {journal.pk} is approved and posted: its "
        "supporting documents are never added, changed or deleted"
    )
    assert frozen in refused(insert(journal))
    assert frozen in refused(
        f"UPDATE ledger_manualjournalattachment SET file_name = 'x.txt' WHERE id = {kept.pk}"
    )
    assert frozen in refused(f"DELETE FROM ledger_manualjournalattachment WHERE id = {kept.pk}")
    # Nor moved to another journal, nor truncated.
    other, _ = services.manual_journal_create(
        effective_date=date(2025, 10, 1),
        memo="Other",
        postings=[("5110", D("1"), D("1000")), ("1000", D("-1000"), D("-1000"))],
        by=staff_user,
    )
    assert frozen in refused(
        f"UPDATE ledger_manualjournalattachment SET journal_id = {other.pk} WHERE id = {kept.pk}"
    )
    assert "ledger_mj_attachment_frozen" in refused("TRUNCATE ledger_manualjournalattachment")
    assert ManualJournalAttachment.objects.filter(journal=journal).count() == 2
    # A draft's documents are not frozen by another journal's approval.
    run_sql(insert(other))
    run_sql(f"DELETE FROM ledger_manualjournalattachment WHERE journal_id = {other.pk}")
