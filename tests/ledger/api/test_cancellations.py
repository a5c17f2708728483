"""Cancellations through the API: the only way an entry is undone. Finance staff or an
approver asks, with a reason (and an optional Idempotency-Key); a finance approver who did
not ask approves (the reversal is posted) or rejects with a reason. Every refusal names the
field at fault and writes nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from ledger import selectors, services
from ledger.models import Cancellation, JournalEntry
from tests.conftest import token_for
from tests.ledger.api.test_entries import API, assert_error, seed_entries

D = Decimal
CANCELLATIONS = f"{API}/cancellations/"


def client_of(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def ask(client: Any, entry: int, *, key: str | None = None, **body: Any) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(
        CANCELLATIONS,
        {"entry": entry, "reason": "booked in error", **body},
        format="json",
        **headers,
    )


def decide(client: Any, cancellation: int, decision: str, body: Any = None) -> Any:
    return client.post(
        f"{CANCELLATIONS}{cancellation}/{decision}/",
        {} if body is None else body,
        format="json",
    )


@pytest.mark.django_db
def test_finance_staff_ask_and_are_told_where_the_request_is(chart, api_client_for):
    _, buy = seed_entries()
    client = api_client_for("staff")
    response = ask(client, buy.pk, reason="Trade never settled")
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == body["url"]
    assert body["url"].endswith(f"{CANCELLATIONS}{body['id']}/")
    assert {key: body[key] for key in body if key not in {"id", "url", "requested_at"}} == {
        "document": f"journal entry #{buy.sequence}",
        "entry": buy.pk,
        "entry_sequence": buy.sequence,
        "effective_date": "2025-10-01",
        "reason": "Trade never settled",
        "status": "requested",
        "requested_by": "staff",
        "decided_by": None,
        "decided_at": None,
        "rejection_reason": "",
        "reversal": None,
        "reversal_sequence": None,
    }
    assert client.get(response["Location"]).json() == body
    assert api_client_for("auditor").get(f"{CANCELLATIONS}{body['id']}/").json() == body
    # Asked for, not done: nothing is reversed until another person approves.
    assert not JournalEntry.objects.filter(reversal_of=buy).exists()


@pytest.mark.django_db
def test_an_idempotency_key_replays_the_request_and_refuses_other_content(chart, api_client_for):
    _, buy = seed_entries()
    client = api_client_for("staff")
    first = ask(client, buy.pk, key="cancel-buy-1")
    assert first.status_code == 201, first.content
    again = ask(client, buy.pk, key="cancel-buy-1")
    assert again.status_code == 200, again.content
    assert again.json()["id"] == first.json()["id"]
    assert again["Location"] == first["Location"]
    other = ask(client, buy.pk, key="cancel-buy-1", reason="another reason")
    assert_error(other, 409, "idempotency_key", "idempotency_conflict")
    other = ask(client, buy.pk, key="cancel-buy-1", effective_date="2025-10-02")
    assert_error(other, 409, "idempotency_key", "idempotency_conflict")
    # Without the key, the same request is a second one: refused, the entry being cancelled.
    assert_error(ask(client, buy.pk), 409, "entry", "already_cancelled")
    assert_error(ask(client, buy.pk, key="k" * 201), 400, "Idempotency-Key", "invalid")
    assert Cancellation.objects.count() == 1


@pytest.mark.django_db
def test_only_a_finance_approver_who_did_not_ask_approves_once(
    chart, api_client_for, second_approver
):
    _, buy = seed_entries()
    approver = api_client_for("approver")
    asked = ask(approver, buy.pk)
    assert asked.status_code == 201, asked.content
    pk = asked.json()["id"]
    # The requester is a finance approver, but nobody approves their own request.
    assert_error(decide(approver, pk, "approve"), 403, "by", "forbidden")
    assert_error(decide(approver, pk, "reject", {"reason": "no"}), 403, "by", "forbidden")
    for role in ("auditor", "staff", "no_role"):
        assert_error(decide(api_client_for(role), pk, "approve"), 403, None, "permission_denied")
    assert_error(decide(api_client_for("anonymous"), pk, "approve"), 401, None)
    assert not JournalEntry.objects.filter(reversal_of=buy).exists()
    assert Cancellation.objects.get(pk=pk).status == "requested"

    other = client_of(second_approver)
    approved = decide(other, pk, "approve")
    assert approved.status_code == 200, approved.content
    body = approved.json()
    reversal = JournalEntry.objects.get(reversal_of=buy)
    assert (body["status"], body["decided_by"]) == ("approved", "approver2")
    assert body["decided_at"] is not None
    assert (body["reversal"], body["reversal_sequence"]) == (reversal.pk, reversal.sequence)
    assert reversal.kind == "reversal"
    assert (reversal.created_by.username, reversal.approved_by.username) == (
        "approver",
        "approver2",
    )
    assert selectors.account_balance(account="1210", as_of=date(2025, 10, 1)).quantity == 0

    count = JournalEntry.objects.count()
    assert_error(decide(other, pk, "approve"), 409, "status", "invalid_state")
    assert_error(decide(other, pk, "reject", {"reason": "late"}), 409, "status", "invalid_state")
    assert JournalEntry.objects.count() == count


@pytest.mark.django_db
def test_a_rejection_needs_a_reason_and_reverses_nothing(chart, api_client_for):
    _, buy = seed_entries()
    asked = ask(api_client_for("staff"), buy.pk)
    pk = asked.json()["id"]
    approver = api_client_for("approver")
    assert_error(decide(approver, pk, "reject"), 400, "reason", "required")
    assert_error(decide(approver, pk, "reject", {"reason": ""}), 400, "reason", "blank")
    assert_error(decide(approver, pk, "reject", {"reason": "   "}), 400, "reason")
    assert_error(
        decide(approver, pk, "reject", {"reason": "x", "memo": "y"}), 400, "memo", "unknown_field"
    )
    assert_error(decide(approver, pk, "approve", {"reason": "x"}), 400, "reason", "unknown_field")
    assert Cancellation.objects.get(pk=pk).status == "requested"

    rejected = decide(approver, pk, "reject", {"reason": "The trade settled after all"})
    assert rejected.status_code == 200, rejected.content
    body = rejected.json()
    assert (body["status"], body["rejection_reason"]) == ("rejected", "The trade settled after all")
    assert (body["decided_by"], body["reversal"]) == ("approver", None)
    assert not JournalEntry.objects.filter(reversal_of=buy).exists()
    assert_error(decide(approver, pk, "approve"), 409, "status", "invalid_state")
    # A rejected cancellation may be asked for again.
    assert ask(api_client_for("staff"), buy.pk).status_code == 201


@pytest.mark.django_db
def test_the_list_is_newest_first_and_filters_by_status_and_entry(
    chart, api_client_for, staff_user, approver_user
):
    opening, buy = seed_entries()
    extra = services.entry_post(
        effective_date=date(2025, 10, 2),
        memo="Fee",
        postings=[("5300", D("10"), D("10")), ("1000", D("-10"), D("-10"))],
    )
    requested, _ = services.cancellation_request(entry=buy, reason="a", by=staff_user)
    rejected, _ = services.cancellation_request(entry=extra, reason="b", by=staff_user)
    services.cancellation_reject(cancellation=rejected, by=approver_user, reason="stands")
    approved, _ = services.cancellation_request(entry=extra, reason="c", by=staff_user)
    services.cancellation_approve(cancellation=approved, by=approver_user)

    client = api_client_for("auditor")

    def ids(**query: Any) -> list[int]:
        response = client.get(CANCELLATIONS, query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [approved.pk, rejected.pk, requested.pk]
    assert ids(status="requested") == [requested.pk]
    assert ids(status="approved") == [approved.pk]
    assert ids(status="rejected") == [rejected.pk]
    assert ids(entry=extra.pk) == [approved.pk, rejected.pk]
    assert ids(entry=extra.pk, status="approved") == [approved.pk]
    assert ids(entry=opening.pk) == []
    assert_error(client.get(CANCELLATIONS, {"status": "done"}), 400, "status", "invalid_choice")
    assert_error(client.get(CANCELLATIONS, {"entry": "x"}), 400, "entry", "invalid")
    assert_error(client.get(CANCELLATIONS, {"colour": "red"}), 400, "colour")
    assert api_client_for("no_role").get(CANCELLATIONS).status_code == 403
    assert api_client_for("anonymous").get(CANCELLATIONS).status_code == 401
    assert_error(client.get(f"{CANCELLATIONS}{approved.pk + 1000}/"), 404, None, "not_found")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "field", "code"),
    [
        ({"reason": "x", "memo": "y"}, 400, "memo", "unknown_field"),
        ({"reason": "x", "reversal_of": 1}, 400, "reversal_of", "unknown_field"),
        ({}, 400, "reason", "required"),
        ({"reason": ""}, 400, "reason", "blank"),
        ({"reason": "x", "effective_date": "2025-02-30"}, 400, "effective_date", None),
        ({"reason": "x", "effective_date": "2025-10-01T00:00:00Z"}, 400, "effective_date", None),
        ({"reason": "x", "entry": None}, 400, "entry", "null"),
        ({"reason": "x", "entry": 10**9}, 404, None, "not_found"),
    ],
)
def test_bad_bodies_are_refused_and_write_nothing(chart, api_client_for, body, status, field, code):
    _, buy = seed_entries()
    payload = {"entry": buy.pk, **body}
    response = api_client_for("staff").post(CANCELLATIONS, payload, format="json")
    assert_error(response, status, field, code)
    assert not Cancellation.objects.exists()
    assert not JournalEntry.objects.filter(reversal_of__isnull=False).exists()


@pytest.mark.django_db
def test_missing_entry_and_unknown_cancellations(chart, api_client_for):
    seed_entries()
    client = api_client_for("staff")
    response = client.post(CANCELLATIONS, {"reason": "x"}, format="json")
    assert_error(response, 400, "entry", "required")
    approver = api_client_for("approver")
    assert_error(decide(approver, 10**9, "approve"), 404, None, "not_found")
    assert_error(decide(approver, 10**9, "reject", {"reason": "x"}), 404, None, "not_found")
    assert not Cancellation.objects.exists()


@pytest.mark.django_db
def test_a_plain_entry_is_cancelled_end_to_end(chart, api_client_for):
    """An entry posted by the ledger's own service, with no document of the miner's: it is
    its own document, cancelled like any other."""
    entry = services.entry_post(
        effective_date=date(2025, 10, 3),
        memo="Cash in",
        postings=[("1000", D("250.00"), D("250.00")), ("3000", D("-250.00"), D("-250.00"))],
    )
    staff, approver = api_client_for("staff"), api_client_for("approver")
    asked = ask(staff, entry.pk, reason="Posted to the wrong account")
    assert asked.status_code == 201, asked.content
    assert asked.json()["document"] == f"journal entry #{entry.sequence}"
    approved = decide(approver, asked.json()["id"], "approve")
    assert approved.status_code == 200, approved.content
    body = approved.json()

    reversal = staff.get(f"{API}/journal-entries/{body['reversal']}/").json()
    assert reversal["sequence"] == body["reversal_sequence"]
    assert (reversal["kind"], reversal["reversal_of"]) == ("reversal", entry.pk)
    assert reversal["effective_date"] == "2025-10-03"
    assert reversal["memo"] == (
        f"Cancellation of journal entry #{entry.sequence} (entry #{entry.sequence}): "
        "Posted to the wrong account"
    )
    assert (reversal["created_by"], reversal["approved_by"]) == ("staff", "approver")
    assert reversal["postings"] == [
        {"account": "1000", "commodity": "USD", "quantity": "-250.00", "value": "-250.00"},
        {"account": "3000", "commodity": "USD", "quantity": "250.00", "value": "250.00"},
    ]
    original = staff.get(f"{API}/journal-entries/{entry.pk}/").json()
    assert original["reversed_by"] == body["reversal"]
    # The books are as if the entry had never been posted; the journal keeps both.
    report = staff.get(f"{API}/reports/trial-balance/", {"as_of": "2025-10-03"}).json()
    assert (report["rows"], report["total_debit"], report["total_value"]) == ([], "0.00", "0.00")
    assert JournalEntry.objects.count() == 2
    listed = staff.get(CANCELLATIONS, {"entry": entry.pk}).json()["results"]
    assert [row["status"] for row in listed] == ["approved"]
    # The reversal itself is never undone.
    assert_error(ask(staff, body["reversal"]), 400, "entry", "invalid_entry")
