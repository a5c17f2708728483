"""What PostgreSQL refuses of an entry of a document's kind written without its document
(holdings 0056): at commit, each such entry is named by a document of its kind. Played here
by the ledger's own API, which PostgreSQL cannot tell from raw SQL: only the services write a
document."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from holdings.models import SiteCost
from holdings.selectors import integrity
from holdings.services import costs, fair_value
from holdings.services.reconciliation import reconcile
from ledger import cancellations
from ledger import services as ledger_services
from ledger.models import JournalEntry, ManualJournalKind
from ledger.posting import EntryInput
from tests.earlier_ledgers import posted_without_its_document
from tests.holdings.database.test_disposal_records import at_commit, behind_the_triggers
from tests.holdings.services.test_costs import JULY, sites  # noqa: F401 (a fixture)
from tests.holdings.services.test_fair_value_cancellations import MONTH_END, opening, sale

pytestmark = pytest.mark.django_db
D = Decimal
DAY = date(2025, 7, 1)

# Each kind a document's service posts, with the document PostgreSQL names.
DOCUMENTS = {
    "pool_earning": "pool record",
    "pool_payout": "payout",
    "sale": "sale",
    "wallet_transfer": "transfer",
    "fair_value_remeasurement": "remeasurement",
    "loan_draw": "loan event",
    "loan_interest": "loan event",
    "loan_repayment": "loan event",
    "loan_liquidation": "loan event",
    "loan_pledge": "loan event",
    "loan_release": "loan event",
    "site_cost": "site cost",
    "cost_accrual": "site cost",
    "vendor_deposit": "vendor deposit",
    "asset_receipt": "fixed asset receipt",
    "asset_depreciation": "asset event",
    "asset_impairment": "asset event",
    "asset_disposal": "asset event",
    "hpc_revenue": "month of HPC revenue",
    # A person's entry: its manual journal's (holdings 0057).
    "manual": "manual journal",
    "adjustment": "manual journal",
    "accrual": "manual journal",
    "reclassification": "manual journal",
    "correction": "manual journal",
    "opening": "manual journal",
}
# Cash in from the owners: accounts no subledger keeps, so only the new rule can refuse it.
CAPITAL = [("1000", D("100.00"), D("100.00")), ("3000", D("-100.00"), D("-100.00"))]


@pytest.mark.usefixtures("chart")
@pytest.mark.parametrize(("kind", "document"), DOCUMENTS.items())
def test_an_entry_of_a_documents_kind_needs_its_document(kind, document):
    refused = pytest.raises(
        IntegrityError,
        match=rf"holdings_entry_has_its_document: entry #\d+ of 2025-07-01 is a {kind} entry, "
        rf"but no {document} names it: an entry of a document's kind is posted with its "
        r"document, and undone only by cancelling it\n",
    )
    with refused, transaction.atomic():
        ledger_services.entry_post(effective_date=DAY, memo="x", kind=kind, postings=CAPITAL)
        at_commit()
    assert not JournalEntry.objects.filter(kind=kind).exists()


@pytest.mark.usefixtures("chart")
def test_a_batch_written_by_copy_is_held_entry_by_entry():
    """64 entries and more go by COPY; the first without its document is named."""
    entries = [
        EntryInput(effective_date=DAY, memo=f"{n}", kind="general", postings=CAPITAL)
        for n in range(70)
    ]
    entries[40] = EntryInput(effective_date=DAY, memo="40", kind="sale", postings=CAPITAL)
    refused = pytest.raises(IntegrityError, match=r"entry #\d+ of 2025-07-01 is a sale entry")
    with refused, transaction.atomic():
        ledger_services.entries_post(entries=entries)
        at_commit()
    assert not JournalEntry.objects.exists()


@pytest.mark.usefixtures("chart")
def test_other_kinds_are_not_documents_kinds():
    """Opening balances and the ledger's own callers' kinds."""
    for kind in ("general", "opening_balance", "bench"):
        ledger_services.entry_post(effective_date=DAY, memo=kind, kind=kind, postings=CAPITAL)
    at_commit()
    assert JournalEntry.objects.count() == 3


def test_the_rule_knows_every_kind_a_document_registers():
    """Every kind the services register a cancellable document for, but opening balances
    (lots opened from a file, no document row), and every manual journal's kind is a
    document's kind to PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT kind, document FROM holdings_document_kinds()")
        in_sql = dict(cursor.fetchall())
    assert in_sql == DOCUMENTS
    registered = set(cancellations._DOCUMENT_TYPES) - {"opening_balance"}
    assert registered | set(ManualJournalKind.values) == set(DOCUMENTS)


@pytest.mark.usefixtures("sites")
def test_documents_written_by_their_services_pass(staff_user, approver_user):
    costs.site_costs_import(content=JULY, file_name="july.csv")
    costs.site_costs_accrue(month=date(2025, 8, 1))
    at_commit()
    assert SiteCost.objects.count() == 5


@pytest.mark.django_db
def test_a_remeasurements_corrections_are_its_own(world):
    """A remeasurement's correction of a later sale is named by no document of its own: its
    key is the remeasurement entry's key followed by ':after:' and the sale's entry id. A key
    of that shape under no remeasurement's entry is refused."""
    opening()
    sale()
    remeasured = fair_value.remeasure(commodity="BTC", as_of=MONTH_END)
    [correction] = JournalEntry.objects.filter(idempotency_key__contains=":after:")
    assert correction.idempotency_key.startswith(f"{remeasured.entry.idempotency_key}:after:")
    at_commit()

    refused = pytest.raises(
        IntegrityError, match=r"is a fair_value_remeasurement entry, but no remeasurement names it"
    )
    with refused, transaction.atomic():
        ledger_services.entry_post(
            effective_date=MONTH_END,
            memo="x",
            kind="fair_value_remeasurement",
            idempotency_key="remeasure:BTC:2025-11-30:after:1",
            postings=CAPITAL,
        )
        at_commit()


@pytest.mark.usefixtures("chart")
def test_the_pending_entries_are_the_triggers_own():
    refused = pytest.raises(IntegrityError, match="holdings_entry_documents_pending_kept")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO holdings_entry_documents_pending (entry_ids) VALUES ('{}')")


@pytest.mark.usefixtures("sites")
def test_the_nightly_check_names_an_entry_no_document_names():
    """As a ledger of an earlier release may hold it: 0056 was not there to refuse."""
    costs.site_costs_import(content=JULY, file_name="july.csv")
    assert integrity.entries_without_documents() == []
    [clean] = [f for f in reconcile_internal() if f.checked == "entry_documents"]
    assert (clean.status, clean.message) == (
        "matched",
        "every entry of a document's kind is named by its document",
    )
    entry = posted_without_its_document(
        effective_date=date(2025, 7, 31),
        memo="Owed to a vendor for no invoice",
        kind="site_cost",
        postings=[("5000", D("900.00"), D("900.00")), ("2210", D("-900.00"), D("-900.00"))],
    )

    found = [f for f in reconcile_internal() if f.checked == "entry_documents"]
    assert [(f.subject_type, f.subject, f.status, f.message) for f in found] == [
        (
            "journal_entry",
            str(entry.pk),
            "unmatched",
            f"entry #{entry.sequence} of 2025-07-31 is a site_cost entry, but no site cost "
            "names it",
        )
    ]


@pytest.mark.usefixtures("chart")
def test_a_manual_journals_entry_is_its_journals(staff_user, approver_user):
    """Approved, a manual journal posts its entry with itself; the nightly check names an
    entry of its kind that no journal names, unless it was written before holdings 0057 (the
    releases before manual journals posted a person's entry straight away)."""
    journal, _ = ledger_services.manual_journal_create(
        effective_date=DAY,
        memo="Capital paid in",
        kind="adjustment",
        postings=CAPITAL,
        by=staff_user,
    )
    ledger_services.manual_journal_submit(journal=journal, by=staff_user)
    ledger_services.manual_journal_approve(journal=journal, by=approver_user)
    at_commit()
    assert integrity.entries_without_documents() == []

    early = posted_without_its_document(
        effective_date=DAY, memo="Posted by an early release", kind="manual", postings=CAPITAL
    )
    late = posted_without_its_document(
        effective_date=DAY, memo="Written behind the triggers", kind="manual", postings=CAPITAL
    )
    behind_the_triggers(
        f"UPDATE ledger_journalentry SET created_at = '2025-07-01T00:00:00Z' WHERE id = {early.pk}"
    )
    assert [(e.entry_id, e.kind, e.document) for e in integrity.entries_without_documents()] == [
        (late.pk, "manual", "manual journal")
    ]


def reconcile_internal():
    [run] = reconcile(as_of=date(2025, 7, 31), kinds=["internal"])
    return list(run.items.order_by("id"))
