"""A closed period refuses an entry through every door, naming the date: the posting service,
the API, the admin, raw SQL, and the approval of a journal submitted before the close."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from ledger import services
from ledger.errors import ClosedPeriod
from ledger.models import Account, JournalEntry, ManualJournal
from tests.ledger.admin.test_pages import url
from tests.ledger.api.test_entries import BUY_BTC, assert_error, post_entry

pytestmark = pytest.mark.django_db
D = Decimal
NAMED = "2025-10-01 is inside the period closed through 2025-10-31"


@pytest.fixture
def closed(chart, approver_user):
    services.entry_post(
        effective_date=date(2025, 9, 30),
        memo="Opening cash",
        postings=[("1000", D("500000"), D("500000")), ("3000", D("-500000"), D("-500000"))],
    )
    return services.period_close(through=date(2025, 10, 31), by=approver_user)


def test_the_posting_service(closed):
    with pytest.raises(ClosedPeriod, match=f"effective date {NAMED}") as caught:
        services.entry_post(
            effective_date=date(2025, 10, 1),
            memo="late",
            postings=[("1000", D("1"), D("1")), ("3000", D("-1"), D("-1"))],
        )
    assert caught.value.field == "effective_date"


def test_the_api(closed, api_client_for):
    body = assert_error(
        post_entry(api_client_for("staff"), BUY_BTC), 400, "effective_date", "closed_period"
    )
    assert NAMED in body["detail"]
    assert not ManualJournal.objects.exists()


def test_the_admin(closed, as_role):
    data = {
        "effective_date": "2025-10-01",
        "memo": "late",
        "kind": "manual",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-account": str(Account.objects.get(code="1000").pk),
        "lines-0-debit": "1",
        "lines-0-value": "1",
        "lines-1-account": str(Account.objects.get(code="3000").pk),
        "lines-1-credit": "1",
        "lines-1-value": "1",
    }
    response = as_role("staff").post(url("manualjournal_add"), data)
    assert response.status_code == 200
    assert NAMED in response.content.decode()
    assert not ManualJournal.objects.exists()


def test_raw_sql(closed):
    accounts = {a.code: a.pk for a in Account.objects.filter(code__in=["1000", "3000"])}
    with pytest.raises(IntegrityError) as caught, transaction.atomic(), connection.cursor() as c:
        c.execute(
            "WITH e AS (INSERT INTO ledger_journalentry (effective_date, memo, kind, status, "
            "payload_hash, created_at) VALUES ('2025-10-01', 'raw', 'general', 'posted', '', "
            "now()) RETURNING id) INSERT INTO ledger_posting (entry_id, account_id, commodity_id, "
            "scale, effective_date, quantity, value) SELECT e.id, v.account, 'USD', 2, "
            "'2025-10-01', v.amount, v.amount FROM e, (VALUES (%s, 1.00), (%s, -1.00)) "
            "v(account, amount)",
            [accounts["1000"], accounts["3000"]],
        )
    assert "ledger_entry_period_open" in str(caught.value)
    assert "effective date 2025-10-01 is inside the period closed through 2025-10-31" in str(
        caught.value
    )


def test_the_approval_of_a_journal_submitted_before_the_close(chart, staff_user, approver_user):
    services.entry_post(
        effective_date=date(2025, 9, 30),
        memo="Opening cash",
        postings=[("1000", D("500000"), D("500000")), ("3000", D("-500000"), D("-500000"))],
    )
    journal, _ = services.manual_journal_create(
        effective_date=date(2025, 10, 1),
        memo="Bought 1.5 BTC",
        postings=[("5110", D("1.5"), D("142500")), ("1000", D("-142500"), D("-142500"))],
        by=staff_user,
        submit=True,
    )
    services.period_close(through=date(2025, 10, 31), by=approver_user)
    entries = JournalEntry.objects.count()
    with pytest.raises(ClosedPeriod, match=f"cannot be approved: effective date {NAMED}"):
        services.manual_journal_approve(journal=journal, by=approver_user)
    assert JournalEntry.objects.count() == entries
