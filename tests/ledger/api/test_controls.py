"""The controls in the API: manual journals (maker-checker), period closes and the audit
log, for every role."""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from ledger import services
from ledger.models import JournalEntry, ManualJournal, PeriodClose
from tests.ledger.api.test_entries import API, BUY_BTC, OPENING, ROLES, assert_error, post_entry

pytestmark = pytest.mark.django_db

READ = {"anonymous": 401, "no_role": 403, "auditor": 200, "staff": 200, "approver": 200}
DRAFT = {"anonymous": 401, "no_role": 403, "auditor": 403, "staff": 201, "approver": 201}
# A draft made by finance staff: only its maker edits or submits it.
MAKER_ONLY = {"anonymous": 401, "no_role": 403, "auditor": 403, "staff": 200, "approver": 403}
APPROVER_ONLY = {"anonymous": 401, "no_role": 403, "auditor": 403, "staff": 403, "approver": 200}
CLOSE = {**APPROVER_ONLY, "approver": 201}


def lines(body: dict) -> list[tuple[str, Decimal, Decimal]]:
    return [(p["account"], Decimal(p["quantity"]), Decimal(p["value"])) for p in body["postings"]]


@pytest.fixture
def opening(chart):
    return services.entry_post(
        effective_date=date(2025, 9, 30), memo="Opening cash", postings=lines(OPENING)
    )


@pytest.fixture
def staff_draft(opening, staff_user):
    journal, _ = services.manual_journal_create(
        effective_date=date(2025, 10, 1),
        memo="Bought 1.5 BTC",
        postings=lines(BUY_BTC),
        by=staff_user,
    )
    return journal


@pytest.fixture
def staff_submitted(staff_draft, staff_user):
    return services.manual_journal_submit(journal=staff_draft, by=staff_user)


def approve(client, journal_id: int):
    return client.post(f"{API}/manual-journals/{journal_id}/approve/", {}, format="json")


# --- roles on every endpoint -------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "url",
    [
        "/manual-journals/",
        "/manual-journals/{journal}/",
        "/manual-journals/?status=submitted&created_by=staff",
        "/periods/",
        "/periods/{period}/",
        "/audit-log/",
        "/audit-log/?model=ledger.account&action=insert&start=2025-01-01",
    ],
)
def test_every_read_endpoint_for_every_role(api_client_for, staff_draft, approver_user, role, url):
    close = services.period_close(through=date(2025, 8, 31), by=approver_user)
    response = api_client_for(role).get(API + url.format(journal=staff_draft.pk, period=close.pk))
    assert response.status_code == READ[role], response.content


@pytest.mark.parametrize("role", ROLES)
def test_draft_for_every_role(api_client_for, opening, role):
    body = {**BUY_BTC, "submit": False}
    response = api_client_for(role).post(f"{API}/manual-journals/", body, format="json")
    assert response.status_code == DRAFT[role], response.content
    assert ManualJournal.objects.count() == (1 if DRAFT[role] == 201 else 0)
    if response.status_code == 201:
        assert response.json()["status"] == "draft"
        assert response["Location"].endswith(f"/manual-journals/{response.json()['id']}/")


@pytest.mark.parametrize("role", ROLES)
def test_edit_and_submit_for_every_role(api_client_for, staff_draft, role):
    client = api_client_for(role)
    url = f"{API}/manual-journals/{staff_draft.pk}/"
    response = client.patch(url, {"memo": "Bought 1.5 BTC at the desk"}, format="json")
    assert response.status_code == MAKER_ONLY[role], response.content
    response = client.post(f"{url}submit/", {}, format="json")
    assert response.status_code == MAKER_ONLY[role], response.content
    stored = ManualJournal.objects.get(pk=staff_draft.pk)
    if MAKER_ONLY[role] == 200:
        assert (stored.status, stored.memo) == ("submitted", "Bought 1.5 BTC at the desk")
    else:
        assert (stored.status, stored.memo) == ("draft", "Bought 1.5 BTC")


@pytest.mark.parametrize("role", ROLES)
def test_approve_for_every_role(api_client_for, staff_submitted, role):
    entries = JournalEntry.objects.count()
    response = approve(api_client_for(role), staff_submitted.pk)
    assert response.status_code == APPROVER_ONLY[role], response.content
    assert JournalEntry.objects.count() == entries + (1 if role == "approver" else 0)


@pytest.mark.parametrize("role", ROLES)
def test_reject_for_every_role(api_client_for, staff_submitted, role):
    response = api_client_for(role).post(
        f"{API}/manual-journals/{staff_submitted.pk}/reject/", {"reason": "No."}, format="json"
    )
    assert response.status_code == APPROVER_ONLY[role], response.content
    expected = "rejected" if role == "approver" else "submitted"
    assert ManualJournal.objects.get(pk=staff_submitted.pk).status == expected


@pytest.mark.parametrize("role", ROLES)
def test_close_and_reopen_a_period_for_every_role(api_client_for, chart, approver_user, role):
    client = api_client_for(role)
    response = client.post(f"{API}/periods/", {"through": "2025-10-31"}, format="json")
    assert response.status_code == CLOSE[role], response.content
    close = PeriodClose.objects.filter(through=date(2025, 10, 31)).first()
    if close is None:
        close = services.period_close(through=date(2025, 10, 31), by=approver_user)
    response = client.post(
        f"{API}/periods/{close.pk}/reopen/", {"reason": "late invoice"}, format="json"
    )
    assert response.status_code == APPROVER_ONLY[role], response.content
    close.refresh_from_db()
    assert close.is_open == (role != "approver")


# --- the flow ----------------------------------------------------------------------------


def test_post_journal_entry_is_submitted_then_posted_once_approved(
    api_client_for, opening, staff_user, approver_user
):
    staff, approver = api_client_for("staff"), api_client_for("approver")
    entries = JournalEntry.objects.count()
    response = post_entry(staff, BUY_BTC)
    assert response.status_code == 202, response.content
    journal = response.json()
    assert journal["status"] == "submitted" and journal["entry"] is None
    assert journal["created_by"] == "staff" and journal["submitted_at"]
    assert journal["postings"] == [
        {"account": "5110", "commodity": "BTC", "quantity": "1.50000000", "value": "142500.00"},
        {"account": "1000", "commodity": "USD", "quantity": "-142500.00", "value": "-142500.00"},
    ]
    assert response["Location"].endswith(f"/manual-journals/{journal['id']}/")
    assert JournalEntry.objects.count() == entries  # nothing posted yet

    approved = approve(approver, journal["id"])
    assert approved.status_code == 200, approved.content
    body = approved.json()
    assert (body["status"], body["approved_by"]) == ("approved", "approver")
    entry = staff.get(f"{API}/journal-entries/{body['entry']}/").json()
    assert entry["sequence"] == body["entry_sequence"]
    assert (entry["created_by"], entry["approved_by"]) == ("staff", "approver")
    assert entry["manual_journal"] == journal["id"]
    assert entry["postings"] == journal["postings"]
    assert JournalEntry.objects.count() == entries + 1

    # Approving again (a double click) posts nothing more.
    again = approve(approver, journal["id"])
    assert_error(again, 409, "status", "invalid_state")
    assert JournalEntry.objects.count() == entries + 1


def test_nobody_approves_their_own_journal(api_client_for, opening, second_approver):
    maker = api_client_for("approver")
    journal = post_entry(maker, BUY_BTC).json()
    entries = JournalEntry.objects.count()
    body = assert_error(approve(maker, journal["id"]), 403, "by", "forbidden")
    assert "nobody approves their own journal" in body["detail"]
    rejected = maker.post(
        f"{API}/manual-journals/{journal['id']}/reject/", {"reason": "mine"}, format="json"
    )
    assert_error(rejected, 403, "by", "forbidden")
    assert JournalEntry.objects.count() == entries

    other = api_client_for("anonymous")
    other.force_authenticate(second_approver)
    response = approve(other, journal["id"])
    assert response.status_code == 200, response.content
    assert (response.json()["created_by"], response.json()["approved_by"]) == (
        "approver",
        "approver2",
    )


def test_a_rejection_needs_a_reason_keeps_it_and_posts_nothing(api_client_for, staff_submitted):
    approver = api_client_for("approver")
    url = f"{API}/manual-journals/{staff_submitted.pk}/reject/"
    entries = JournalEntry.objects.count()
    assert_error(approver.post(url, {}, format="json"), 400, "reason", "required")
    assert_error(approver.post(url, {"reason": ""}, format="json"), 400, "reason", "blank")
    response = approver.post(url, {"reason": "Use the hot wallet, 1220."}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["rejection_reason"], body["rejected_by"]) == (
        "rejected",
        "Use the hot wallet, 1220.",
        "approver",
    )
    assert body["entry"] is None and JournalEntry.objects.count() == entries
    assert_error(approve(approver, staff_submitted.pk), 409, "status", "invalid_state")
    listed = api_client_for("auditor").get(f"{API}/manual-journals/", {"status": "rejected"})
    assert [j["rejection_reason"] for j in listed.json()["results"]] == [
        "Use the hot wallet, 1220."
    ]


def test_edits_replace_the_postings_and_are_checked(api_client_for, staff_draft):
    staff = api_client_for("staff")
    url = f"{API}/manual-journals/{staff_draft.pk}/"
    unbalanced = {
        "postings": [
            {"account": "5110", "quantity": "1.00000000", "value": "95000.00"},
            {"account": "1000", "quantity": "-94000.00", "value": "-94000.00"},
        ]
    }
    assert_error(staff.patch(url, unbalanced, format="json"), 400, "postings", "invalid_entry")
    assert_error(staff.patch(url, {}, format="json"), 400, None, "empty")
    assert_error(staff.patch(url, {"status": "approved"}, format="json"), 400, "status")
    fixed = {
        "effective_date": "2025-10-02",
        "postings": [
            {"account": "5110", "quantity": "1.00000000", "value": "95000.00"},
            {"account": "1000", "quantity": "-95000.00", "value": "-95000.00"},
        ],
    }
    response = staff.patch(url, fixed, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["effective_date"] == "2025-10-02" and body["memo"] == "Bought 1.5 BTC"
    assert [p["quantity"] for p in body["postings"]] == ["1.00000000", "-95000.00"]
    # Submitted, it is frozen.
    assert staff.post(f"{url}submit/", {}, format="json").status_code == 200
    assert_error(staff.patch(url, {"memo": "x"}, format="json"), 409, "status", "invalid_state")
    assert_error(staff.post(f"{url}submit/", {}, format="json"), 409, "status", "invalid_state")


def test_idempotent_requests(api_client_for, opening):
    staff = api_client_for("staff")
    first = post_entry(staff, BUY_BTC, key="trade-1")
    assert first.status_code == 202, first.content
    assert first.json()["idempotency_key"] == "trade-1"
    replay = post_entry(api_client_for("approver"), BUY_BTC, key="trade-1")
    assert replay.status_code == 200 and replay.json()["id"] == first.json()["id"]
    conflict = post_entry(staff, {**BUY_BTC, "memo": "other"}, key="trade-1")
    assert_error(conflict, 409, "idempotency_key", "idempotency_conflict")
    assert ManualJournal.objects.count() == 1


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/manual-journals/", {**BUY_BTC, "submit": "yes"}, "submit"),
        ("/manual-journals/{journal}/reject/", {"reason": 5}, "reason"),
        ("/manual-journals/{journal}/approve/", {"note": "ok"}, "note"),
        ("/periods/", {"through": "2025-10-32"}, "through"),
        ("/periods/", {}, "through"),
        ("/periods/{period}/reopen/", {}, "reason"),
        ("/periods/{period}/reopen/", {"reason": "  "}, "reason"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    api_client_for, staff_submitted, approver_user, url, body, field
):
    close = services.period_close(through=date(2025, 9, 30), by=approver_user)
    client = api_client_for("approver")
    target = API + url.format(journal=staff_submitted.pk, period=close.pk)
    assert_error(client.post(target, body, format="json"), 400, field)


def test_unknown_objects_are_404(api_client_for, chart):
    client = api_client_for("approver")
    for url in ["/manual-journals/999/", "/periods/999/"]:
        assert client.get(API + url).status_code == 404
    for url in ["/manual-journals/999/approve/", "/periods/999/reopen/"]:
        assert client.post(API + url, {"reason": "x"}, format="json").status_code == 404


# --- period close --------------------------------------------------------------------------


def test_periods_close_list_and_reopen(api_client_for, chart):
    approver = api_client_for("approver")
    response = approver.post(f"{API}/periods/", {"through": "2025-10-31"}, format="json")
    assert response.status_code == 201, response.content
    close = response.json()
    assert (close["through"], close["state"], close["closed_by"]) == (
        "2025-10-31",
        "closed",
        "approver",
    )
    assert_error(
        approver.post(f"{API}/periods/", {"through": "2025-09-30"}, format="json"),
        400,
        "through",
        "period_error",
    )
    url = f"{API}/periods/{close['id']}/reopen/"
    response = approver.post(url, {"reason": "A late pool statement"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["state"], response.json()["reopen_reason"]) == (
        "reopened",
        "A late pool statement",
    )
    assert_error(approver.post(url, {"reason": "again"}, format="json"), 409, "through")
    listed = api_client_for("auditor").get(f"{API}/periods/").json()
    assert [(p["through"], p["state"]) for p in listed["results"]] == [("2025-10-31", "reopened")]


def test_a_closed_period_refuses_entries_through_the_api(
    api_client_for, opening, staff_submitted, approver_user
):
    approver = api_client_for("approver")
    assert (
        approver.post(f"{API}/periods/", {"through": "2025-10-31"}, format="json").status_code
        == 201
    )
    entries = JournalEntry.objects.count()
    # A new entry dated in it...
    body = assert_error(
        post_entry(api_client_for("staff"), BUY_BTC), 400, "effective_date", "closed_period"
    )
    assert "2025-10-01 is inside the period closed through 2025-10-31" in body["detail"]
    # ...and the approval of one submitted before the close.
    body = assert_error(
        approve(approver, staff_submitted.pk), 400, "effective_date", "closed_period"
    )
    assert "cannot be approved: effective date 2025-10-01" in body["detail"]
    assert JournalEntry.objects.count() == entries
    assert ManualJournal.objects.get(pk=staff_submitted.pk).status == "submitted"


# --- the audit log ---------------------------------------------------------------------------


def test_the_audit_log_filters_and_pages(api_client_for, staff_draft, staff_user):
    client = api_client_for("auditor")
    response = client.get(
        f"{API}/audit-log/", {"model": "ledger.manualjournal", "record": str(staff_draft.pk)}
    )
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [(r["table"], r["model"], r["action"]) for r in rows] == [
        ("ledger_manualjournal", "ledger.manualjournal", "insert")
    ]
    assert rows[0]["new"]["memo"] == "Bought 1.5 BTC"
    lines = client.get(f"{API}/audit-log/", {"table": "ledger_manualjournalline"}).json()
    assert {r["new"]["value"] for r in lines["results"]} == {"142500.00", "-142500.00"}
    # Decimals as strings, exactly as stored.
    assert {r["new"]["quantity"] for r in lines["results"]} == {"1.50000000", "-142500.00"}

    first = client.get(f"{API}/audit-log/", {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert second["results"] and second["results"][0]["id"] < first["results"][-1]["id"]

    assert client.get(f"{API}/audit-log/", {"actor": "nobody-at-all"}).json()["results"] == []
    assert client.get(f"{API}/audit-log/", {"end": "2000-01-01"}).json()["results"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"model": "ledger.nothing"}, "model"),
        ({"model": "not a model"}, "model"),
        ({"table": "Robert'); DROP TABLE"}, "table"),
        ({"action": "erase"}, "action"),
        ({"start": "2025-10-02", "end": "2025-10-01"}, "end"),
        ({"start": "yesterday"}, "start"),
        ({"end": "9999-12-31", "record": "x" * 201}, "record"),
        ({"table": "ledger_account", "model": "ledger.commodity"}, "model"),
    ],
)
def test_audit_log_bad_queries_are_400(api_client_for, chart, query, field):
    assert_error(api_client_for("auditor").get(f"{API}/audit-log/", query), 400, field)


@pytest.mark.parametrize("position", ["abc", "1.5", "\x00", "-1", "2026-12-07", "9" * 19])
def test_an_audit_log_cursor_not_written_by_the_api_is_404(api_client_for, chart, position):
    cursor = base64.b64encode(urlencode({"p": position}).encode()).decode()
    response = api_client_for("auditor").get(f"{API}/audit-log/", {"cursor": cursor})
    assert response.status_code == 404 and "cursor" in response.json()["detail"].lower()
    # A cursor the API writes still reads.
    written = base64.b64encode(b"p=12").decode()
    assert (
        api_client_for("auditor").get(f"{API}/audit-log/", {"cursor": written}).status_code == 200
    )


def test_audit_log_is_read_only(api_client_for, chart):
    for role in ("staff", "approver", "auditor"):
        client = api_client_for(role)
        assert client.post(f"{API}/audit-log/", {}, format="json").status_code in {403, 405}
        assert client.delete(f"{API}/audit-log/").status_code in {403, 405}
