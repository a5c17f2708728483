"""Requesting entries and cancelling them through the API: exact decimals, idempotency, and
bad input. A person's entry is a manual journal, submitted for approval (202), and posted once a
finance approver who is not its maker approves it (see test_api_controls.py for the flow).

Every refused request answers 400 (409, 415) naming the field at fault and writes nothing.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from ledger import services
from ledger.api.control_serializers import MAX_REASON_LENGTH
from ledger.models import Account, Cancellation, JournalEntry, ManualJournal, Posting
from tests.ledger.api.test_entries import (
    API,
    BUY_BTC,
    OPENING,
    assert_error,
    post_entry,
    post_entry_approved,
    post_raw,
    seed_entries,
)


def with_change(path: str, value: Any) -> dict:
    """BUY_BTC with one key set (or removed, for value DELETE), e.g. 'postings.0.quantity'."""
    body = copy.deepcopy(BUY_BTC)
    *parents, last = path.split(".")
    target: Any = body
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    key: Any = int(last) if isinstance(target, list) else last
    if value is DELETE:
        del target[key]
    else:
        target[key] = value
    return body


DELETE = object()


# --- posting and reading back ------------------------------------------------------------


@pytest.mark.django_db
def test_post_and_read_back_exact_decimals(chart, api_client_for, approver_user):
    client = api_client_for("staff")
    post_entry_approved(client, OPENING, approver=approver_user)
    response = post_entry(client, BUY_BTC)
    assert response.status_code == 202, response.content
    assert response.json()["postings"] == [
        {"account": "5110", "commodity": "BTC", "quantity": "1.50000000", "value": "142500.00"},
        {"account": "1000", "commodity": "USD", "quantity": "-142500.00", "value": "-142500.00"},
    ]
    body = post_entry_approved(client, BUY_BTC, approver=approver_user)
    assert body["postings"] == [
        {"account": "5110", "commodity": "BTC", "quantity": "1.50000000", "value": "142500.00"},
        {"account": "1000", "commodity": "USD", "quantity": "-142500.00", "value": "-142500.00"},
    ]
    assert body["memo"] == "Bought 1.5 BTC"
    assert body["effective_date"] == "2025-10-01"
    assert body["kind"] == "manual" and body["status"] == "posted"
    assert (body["created_by"], body["approved_by"]) == ("staff", "approver")
    assert body["sequence"] is not None
    assert client.get(f"{API}/journal-entries/{body['id']}/").json() == body
    stored = Posting.objects.get(entry_id=body["id"], account__code="5110")
    assert (stored.quantity, stored.value) == (Decimal("1.5"), Decimal("142500"))


@pytest.mark.django_db
def test_every_scale_round_trips_exactly(chart, api_client_for, second_approver):
    client = api_client_for("approver")
    body = post_entry_approved(
        client,
        {
            "effective_date": "2025-10-05",
            "memo": "Mined altcoins and a USDT receipt",
            "kind": "adjustment",
            # Each commodity's scale on its expense in units (5112 ETC, 5111 KAS, 5113
            # USDT): wallets hold lots, and no manual journal posts to them.
            "postings": [
                {"account": "5112", "quantity": "12.123456789012345678", "value": "100.01"},
                {"account": "5111", "quantity": "0.00000001", "value": "0.01"},
                {"account": "5113", "quantity": "1000.000001", "value": "1000.00"},
                {"account": "4000", "quantity": "-1100.02", "value": "-1100.02"},
            ],
        },
        approver=second_approver,
    )
    assert body["kind"] == "adjustment"
    assert [(p["quantity"], p["value"]) for p in body["postings"]] == [
        ("12.123456789012345678", "100.01"),
        ("0.00000001", "0.01"),
        ("1000.000001", "1000.00"),
        ("-1100.02", "-1100.02"),
    ]
    balance = client.get(f"{API}/accounts/5112/balance/", {"as_of": "2025-10-05"}).json()
    assert balance["quantity"] == "12.123456789012345678"


@pytest.mark.django_db
def test_the_largest_amounts_accepted_round_trip(chart, api_client_for):
    client = api_client_for("staff")
    quantity = "12345678901234567890.12345678"  # 20 whole digits, 28 in all
    value = "12345678901234567890.12"  # USD: the quantity equals the value, so 20 digits
    response = post_entry(
        client,
        {
            "effective_date": "2025-10-01",
            "memo": "Very large",
            "postings": [
                {"account": "5110", "quantity": quantity, "value": value},
                {"account": "4000", "quantity": f"-{value}", "value": f"-{value}"},
            ],
        },
    )
    assert response.status_code == 202, response.content
    first = response.json()["postings"][0]
    assert (first["quantity"], first["value"]) == (quantity, value)


@pytest.mark.django_db
def test_trailing_zeros_within_the_scale_are_the_same_amount(chart, api_client_for, approver_user):
    client = api_client_for("staff")
    post_entry_approved(client, OPENING, approver=approver_user)
    body = with_change("postings.0.quantity", "1.5")
    body["postings"][1]["quantity"] = "-142500"
    body["postings"][1]["value"] = "-142500.0"
    response = post_entry(client, body)
    assert response.status_code == 202, response.content
    assert response.json()["postings"][0]["quantity"] == "1.50000000"
    assert response.json()["postings"][1]["value"] == "-142500.00"


# --- idempotency -------------------------------------------------------------------------


@pytest.mark.django_db
def test_idempotency_replay_and_conflict(chart, api_client_for, approver_user):
    client = api_client_for("staff")
    post_entry_approved(client, OPENING, approver=approver_user)
    before = ManualJournal.objects.count()

    first = post_entry(client, BUY_BTC, key="trade-2025-10-01-0001")
    assert first.status_code == 202, first.content
    assert first.json()["idempotency_key"] == "trade-2025-10-01-0001"

    replay = post_entry(client, BUY_BTC, key="trade-2025-10-01-0001")
    assert replay.status_code == 200, replay.content
    assert replay.json() == first.json()

    # The same amounts written differently are the same payload.
    same = with_change("postings.0.quantity", "1.5")
    assert post_entry(client, same, key="trade-2025-10-01-0001").json()["id"] == first.json()["id"]

    # Another role replaying the same payload gets the same journal too.
    other = post_entry(api_client_for("approver"), BUY_BTC, key="trade-2025-10-01-0001")
    assert other.status_code == 200 and other.json()["id"] == first.json()["id"]
    assert ManualJournal.objects.count() == before + 1

    changed = with_change("memo", "Bought 1.5 BTC (fixed)")
    assert_error(
        post_entry(client, changed, key="trade-2025-10-01-0001"),
        409,
        "idempotency_key",
        "idempotency_conflict",
    )
    more = with_change("postings.0.value", "142500.01")
    more["postings"][1]["quantity"] = more["postings"][1]["value"] = "-142500.01"
    assert post_entry(client, more, key="trade-2025-10-01-0001").status_code == 409
    assert ManualJournal.objects.count() == before + 1

    # Approved, the replay answers the journal with its entry, posted once.
    services.manual_journal_approve(journal=first.json()["id"], by=approver_user)
    entries = JournalEntry.objects.count()
    after = post_entry(client, BUY_BTC, key="trade-2025-10-01-0001")
    assert after.status_code == 200 and after.json()["status"] == "approved"
    assert after.json()["entry"] is not None and JournalEntry.objects.count() == entries

    # Without a key, the same payload is another journal: the key is what makes it idempotent.
    assert post_entry(client, BUY_BTC).status_code == 202
    assert ManualJournal.objects.count() == before + 2


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "k" * 201, "caf\u00e9", "tab\there"])
def test_a_bad_idempotency_key_is_400(chart, api_client_for, key):
    client = api_client_for("staff")
    post_entry(client, OPENING)
    before = JournalEntry.objects.count()
    assert_error(post_entry(client, BUY_BTC, key=key), 400, "Idempotency-Key")
    assert JournalEntry.objects.count() == before


@pytest.mark.django_db
def test_a_200_character_idempotency_key_is_fine(chart, api_client_for):
    client = api_client_for("staff")
    post_entry(client, OPENING)
    assert post_entry(client, OPENING, key="k" * 200).status_code == 202


# --- bad input: 400 naming the field, nothing written ------------------------------------

BAD_BODIES: list[tuple[str, Any, str, str | None]] = [
    # (case, body, field named, code)
    ("unknown account", with_change("postings.0.account", "9999"), "postings[0].account",
     "unknown_account"),
    ("blank account", with_change("postings.1.account", ""), "postings[1].account", "blank"),
    ("account too long", with_change("postings.0.account", "1" * 33), "postings[0].account",
     "max_length"),
    ("account as number", with_change("postings.0.account", 1210), "postings[0].account",
     "not_a_string"),
    ("account null", with_change("postings.0.account", None), "postings[0].account", "null"),
    ("account list", with_change("postings.0.account", ["1210"]), "postings[0].account", None),
    ("date month 13", with_change("effective_date", "2025-13-01"), "effective_date", None),
    ("date Feb 30", with_change("effective_date", "2025-02-30"), "effective_date",
     "not_a_date"),
    ("date US style", with_change("effective_date", "10/01/2025"), "effective_date", "invalid"),
    ("date with time", with_change("effective_date", "2025-10-01T00:00:00Z"), "effective_date",
     "invalid"),
    ("date basic format", with_change("effective_date", "20251001"), "effective_date", None),
    ("date year 0", with_change("effective_date", "0000-01-01"), "effective_date", None),
    ("date as number", with_change("effective_date", 20251001), "effective_date", "invalid"),
    ("date null", with_change("effective_date", None), "effective_date", "null"),
    ("date missing", with_change("effective_date", DELETE), "effective_date", "required"),
    ("memo missing", with_change("memo", DELETE), "memo", "required"),
    ("memo blank", with_change("memo", "   "), "memo", "blank"),
    ("memo too long", with_change("memo", "m" * 1001), "memo", "max_length"),
    ("memo as number", with_change("memo", 5), "memo", "not_a_string"),
    ("memo as list", with_change("memo", ["a"]), "memo", "not_a_string"),
    ("memo with NUL", with_change("memo", "a\x00b"), "memo", "null_characters_not_allowed"),
    ("kind reserved", with_change("kind", "reversal"), "kind", "reserved"),
    ("kind upper case", with_change("kind", "Manual"), "kind", "invalid"),
    ("kind too long", with_change("kind", "k" * 33), "kind", "max_length"),
    ("kind as number", with_change("kind", 1), "kind", "not_a_string"),
    ("postings missing", with_change("postings", DELETE), "postings", "required"),
    ("postings a string", with_change("postings", "1210"), "postings", "not_a_list"),
    ("postings an object", with_change("postings", {"account": "1210"}), "postings",
     "not_a_list"),
    ("postings a number", with_change("postings", 5), "postings", "not_a_list"),
    ("postings null", with_change("postings", None), "postings", "null"),
    ("postings empty", with_change("postings", []), "postings", None),
    ("one posting", with_change("postings", BUY_BTC["postings"][:1]), "postings", "min_length"),
    ("too many postings", with_change("postings", BUY_BTC["postings"] * 501), "postings",
     "max_length"),
    ("posting a string", with_change("postings.0", "1210 1.5 142500"), "postings[0]", None),
    ("posting a list", with_change("postings.0", ["1210", "1.5", "142500"]), "postings[0]",
     None),
    ("posting missing value", with_change("postings.0.value", DELETE), "postings[0].value",
     "required"),
    ("posting missing quantity", with_change("postings.1.quantity", DELETE),
     "postings[1].quantity", "required"),
    ("posting unknown key", with_change("postings.0.amount", "1"), "postings[0].amount",
     "unknown_field"),
    ("body unknown key", with_change("idempotency_key", "k"), "idempotency_key",
     "unknown_field"),
    ("quantity JSON float", with_change("postings.0.quantity", 1.5), "postings[0].quantity",
     "not_a_string"),
    ("quantity JSON int", with_change("postings.0.quantity", 1), "postings[0].quantity",
     "not_a_string"),
    ("value JSON float", with_change("postings.0.value", 142500.0), "postings[0].value",
     "not_a_string"),
    ("quantity boolean", with_change("postings.0.quantity", True), "postings[0].quantity",
     "not_a_string"),
    ("quantity null", with_change("postings.0.quantity", None), "postings[0].quantity", "null"),
    ("quantity object", with_change("postings.0.quantity", {"amount": "1"}),
     "postings[0].quantity", "not_a_string"),
    ("quantity NaN", with_change("postings.0.quantity", "NaN"), "postings[0].quantity",
     "invalid"),
    ("quantity sNaN", with_change("postings.0.quantity", "sNaN"), "postings[0].quantity",
     "invalid"),
    ("quantity Infinity", with_change("postings.0.quantity", "Infinity"),
     "postings[0].quantity", "invalid"),
    ("value -Infinity", with_change("postings.1.value", "-Infinity"), "postings[1].value",
     "invalid"),
    ("quantity inf", with_change("postings.0.quantity", "inf"), "postings[0].quantity",
     "invalid"),
    ("quantity exponent", with_change("postings.0.quantity", "1.5E0"), "postings[0].quantity",
     "invalid"),
    ("quantity comma", with_change("postings.0.quantity", "1,5"), "postings[0].quantity",
     "invalid"),
    ("quantity plus sign", with_change("postings.0.quantity", "+1.5"), "postings[0].quantity",
     "invalid"),
    ("quantity spaces", with_change("postings.0.quantity", " 1.5"), "postings[0].quantity",
     "invalid"),
    ("quantity empty", with_change("postings.0.quantity", ""), "postings[0].quantity",
     "invalid"),
    ("quantity bare point", with_change("postings.0.quantity", ".5"), "postings[0].quantity",
     "invalid"),
    ("quantity hex", with_change("postings.0.quantity", "0x10"), "postings[0].quantity",
     "invalid"),
    ("quantity unicode digits", with_change("postings.0.quantity", "\u0661.5"),
     "postings[0].quantity", "invalid"),
    ("quantity too many whole digits", with_change("postings.0.quantity", "1" + "0" * 20),
     "postings[0].quantity", "max_whole_digits"),
    ("quantity too many digits",
     with_change("postings.0.quantity", "12345678901.123456789012345678"),
     "postings[0].quantity", "max_significant"),
    ("quantity 19 decimals", with_change("postings.0.quantity", "0.0000000000000000001"),
     "postings[0].quantity", "max_places"),
    ("quantity a huge string", with_change("postings.0.quantity", "9" * 10_000),
     "postings[0].quantity", "invalid"),
    ("value too many whole digits", with_change("postings.0.value", "1" + "0" * 22),
     "postings[0].value", "max_whole_digits"),
    ("value 3 decimals", with_change("postings.0.value", "142500.001"), "postings[0].value",
     "max_places"),
    ("BTC quantity 9 decimals", with_change("postings.0.quantity", "1.500000001"),
     "postings[0].quantity", "invalid_entry"),
    ("USD quantity 3 decimals", with_change("postings.1.quantity", "-142500.001"),
     "postings[1].quantity", "invalid_entry"),
    ("unbalanced", with_change("postings.0.value", "142500.01"), "postings", "invalid_entry"),
    ("zero posting", {**BUY_BTC, "postings": [
        {"account": "1210", "quantity": "0", "value": "0.00"},
        {"account": "1000", "quantity": "0", "value": "0"},
    ]}, "postings[0].quantity", "invalid_entry"),
    ("signs disagree", {**BUY_BTC, "postings": [
        {"account": "1210", "quantity": "-1.5", "value": "142500.00"},
        {"account": "1000", "quantity": "-142500.00", "value": "-142500.00"},
    ]}, "postings[0].value", "invalid_entry"),
    ("USD quantity is not value", with_change("postings.1.quantity", "-142499.99"),
     "postings[1].value", "invalid_entry"),
    ("transfer loses quantity", {**BUY_BTC, "postings": [
        {"account": "1220", "quantity": "1.00000000", "value": "95000.00"},
        {"account": "1210", "quantity": "-0.50000000", "value": "-95000.00"},
    ]}, "postings", "invalid_entry"),
    ("cash would go negative", {**BUY_BTC, "postings": [
        {"account": "1210", "quantity": "10", "value": "950000.00"},
        {"account": "1000", "quantity": "-950000.00", "value": "-950000.00"},
    ]}, "postings", "insufficient_balance"),
    ("body a list", [BUY_BTC], None, "invalid"),
    ("body a string", "entry", None, "invalid"),
    ("body a number", 5, None, "invalid"),
    ("body null", None, None, None),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "code"),
    [pytest.param(body, field, code, id=case) for case, body, field, code in BAD_BODIES],
)
def test_bad_input_is_400_naming_the_field_and_writes_nothing(
    chart, api_client_for, approver_user, body, field, code
):
    client = api_client_for("staff")
    post_entry_approved(client, OPENING, approver=approver_user)
    before = (JournalEntry.objects.count(), Posting.objects.count(), ManualJournal.objects.count())
    response = post_entry(client, body) if body is not None else post_raw(client, "null")
    assert_error(response, 400, field, code)
    assert (
        JournalEntry.objects.count(),
        Posting.objects.count(),
        ManualJournal.objects.count(),
    ) == before


@pytest.mark.django_db
def test_decimals_as_numbers_are_refused_saying_send_strings(chart, api_client_for):
    client = api_client_for("staff")
    body = assert_error(
        post_entry(client, with_change("postings.0.quantity", 1.5)), 400, "postings[0].quantity"
    )
    assert "send decimals as strings" in body["detail"]


@pytest.mark.django_db
def test_every_problem_is_listed(chart, api_client_for):
    body = {"effective_date": "soon", "memo": 7, "postings": [{"account": "1210"}, "x"]}
    response = post_entry(api_client_for("staff"), body)
    errors = assert_error(response, 400, "effective_date")["errors"]
    assert {e["field"] for e in errors} == {
        "effective_date",
        "memo",
        "postings[0].quantity",
        "postings[0].value",
        "postings[1]",
    }


@pytest.mark.django_db
def test_an_inactive_account_is_refused(chart, api_client_for):
    client = api_client_for("staff")
    post_entry(client, OPENING)
    Account.objects.filter(code="5110").update(is_active=False)
    before = JournalEntry.objects.count()
    assert_error(post_entry(client, BUY_BTC), 400, "postings[0].account", "invalid_entry")
    assert JournalEntry.objects.count() == before


@pytest.mark.django_db
def test_a_closed_period_is_refused(chart, api_client_for, approver_user):
    client = api_client_for("staff")
    post_entry_approved(client, OPENING, approver=approver_user)
    services.period_close(through=date(2025, 10, 31), by=approver_user)
    before = ManualJournal.objects.count()
    body = assert_error(post_entry(client, BUY_BTC), 400, "effective_date", "closed_period")
    assert "2025-10-01 is inside the period closed through 2025-10-31" in body["detail"]
    assert ManualJournal.objects.count() == before
    assert post_entry(client, with_change("effective_date", "2025-11-01")).status_code == 202


@pytest.mark.django_db
def test_a_lone_surrogate_in_the_memo_is_refused(chart, api_client_for):
    client = api_client_for("staff")
    raw = json.dumps(BUY_BTC).replace('"Bought 1.5 BTC"', '"Bought \\ud800"')
    assert_error(post_raw(client, raw), 400, "memo", "surrogate_characters_not_allowed")
    assert ManualJournal.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        ("{", "application/json", 400),
        ('{"memo": NaN}', "application/json", 400),
        ("[" * 100_000 + "]" * 100_000, "application/json", 400),
        (b"\xff\xfe{}", "application/json", 400),
        ("effective_date=2025-10-01&memo=x", "application/x-www-form-urlencoded", 415),
        ("<entry/>", "application/xml", 415),
        ("{}", "text/plain", 415),
    ],
    ids=["truncated", "nan", "deep", "not-utf8", "form", "xml", "text"],
)
def test_unparseable_bodies(chart, api_client_for, raw, content_type, status):
    response = post_raw(api_client_for("staff"), raw, content_type)
    assert_error(response, status, None)
    assert JournalEntry.objects.count() == 0


# --- fuzz: no input answers 500 ----------------------------------------------------------

FUZZ_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    1e308,
    10**400,
    "",
    " ",
    "0",
    "-0",
    "NaN",
    "Infinity",
    "1e999999",
    "9" * 5000,
    "\x00",
    "\ud7ff",
    "\u202e5110",
    "5110\n",
    "'; DROP TABLE ledger_posting; --",
    [],
    [None],
    {},
    {"$gt": ""},
]
FUZZ_PATHS = [
    "effective_date",
    "memo",
    "kind",
    "postings",
    "postings.0",
    "postings.0.account",
    "postings.0.quantity",
    "postings.0.value",
    "postings.1.quantity",
]
FUZZ_RAW = [
    "",
    " ",
    "{}",
    "[]",
    "null",
    "true",
    '"x"',
    "1e999",
    '{"postings": [' + ",".join(['{"account": "1210"}'] * 2000) + "]}",
    '{"effective_date": "2025-10-01", "memo": "x", "postings": [{}, {}]}',
    '{"a": ' * 5000 + "1" + "}" * 5000,
    "\ufeff{}",
    '{"memo": "\\udfff"}',
    '{"effective_date": "2025-10-01", "effective_date": 1}',
]


# Fuzz values the ledger accepts outside memo and kind (each request now submits a journal,
# which posts nothing, so cash no longer runs out and these are seen for what they are).
ACCEPTED = {
    ("postings.0.account", "5110\n"),  # surrounding whitespace is trimmed: account 5110
    ("postings.0.quantity", "0"),  # no BTC, a value: balanced, signs not in conflict
    ("postings.0.quantity", "-0"),
}


@pytest.mark.django_db
def test_fuzz_malformed_bodies_never_answer_500(chart, api_client_for, approver_user):
    """Every value of every field, and raw bodies: never a 500, and a refusal writes nothing.

    A few fuzz values are valid for some fields (memo "0"): those submit a journal, counted
    (none is posted: cash never runs out, unlike when each request posted at once).
    """
    client = api_client_for("staff")
    post_entry_approved(client, OPENING, approver=approver_user)
    submitted = 0
    for path in FUZZ_PATHS:
        for value in FUZZ_VALUES:
            count = ManualJournal.objects.count()
            response = post_entry(client, with_change(path, value))
            assert response.status_code in {202, 400}, (path, value, response.content)
            if response.status_code == 400:
                assert response.json()["detail"]
                assert ManualJournal.objects.count() == count
            else:
                assert path in {"memo", "kind"} or (path, value) in ACCEPTED, (path, value)
                submitted += 1
    for raw in FUZZ_RAW:
        response = post_raw(client, raw)
        assert response.status_code == 400, (raw[:80], response.content)
    assert ManualJournal.objects.count() == 1 + submitted
    assert JournalEntry.objects.count() == 1

    # Cancellations: no raw body names an entry and a reason, so none is asked for; on
    # the approval, an empty body or {} is a valid request (the first approves, the next
    # are refused as already approved); nothing else gets past validation.
    mined = {
        "effective_date": "2025-10-02",
        "memo": "Mined",
        "postings": [
            {"account": "5110", "quantity": "0.10000000", "value": "10000.00"},
            {"account": "4000", "quantity": "-10000.00", "value": "-10000.00"},
        ],
    }
    target = post_entry_approved(client, mined, approver=approver_user)["id"]
    for raw in FUZZ_RAW:
        response = client.generic("POST", f"{API}/cancellations/", raw, "application/json")
        assert response.status_code == 400, (raw[:80], response.content)
    assert not Cancellation.objects.exists()
    asked = ask_cancellation(client, target)
    assert asked.status_code == 201, asked.content
    approve = f"{API}/cancellations/{asked.json()['id']}/approve/"
    approver = api_client_for("approver")
    approved = 0
    for raw in FUZZ_RAW:
        response = approver.generic("POST", approve, raw, "application/json")
        assert response.status_code in {200, 400, 409}, (raw[:80], response.content)
        if response.status_code != 400:
            assert raw.strip() in {"", "{}"}, raw[:80]
            approved += response.status_code == 200
    assert approved == 1
    assert JournalEntry.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_nul_bytes_anywhere_are_refused_not_500(chart, api_client_for):
    client = api_client_for("staff")
    assert client.get(f"{API}/accounts/%00/").status_code == 404
    assert client.get(f"{API}/accounts/12%0010/balance/").status_code == 404
    for url, field in [
        ("/journal-entries/?account=%00", "account"),
        ("/journal-entries/?kind=manual%00", "kind"),
        ("/balances/?commodity=BTC%00", "commodity"),
        ("/accounts/?commodity=%00", "commodity"),
        ("/accounts/?type=%00", "type"),
        ("/balances/?as_of=2025-10-01%00", "as_of"),
    ]:
        assert_error(client.get(API + url), 400, field)
    assert_error(
        post_entry(client, with_change("postings.0.account", "12\x0010")),
        400,
        "postings[0].account",
    )
    # A token PostgreSQL cannot even compare: refused, never a crash.
    anonymous = api_client_for("anonymous")
    anonymous.credentials(HTTP_AUTHORIZATION="Token abc\x00def")
    assert anonymous.get(f"{API}/accounts/").status_code in {400, 401}
    assert JournalEntry.objects.count() == 0


# --- cancellation: the only way an entry is undone ----------------------------------------


def ask_cancellation(client: Any, entry: int, **body: Any) -> Any:
    return client.post(
        f"{API}/cancellations/",
        {"entry": entry, "reason": "booked in error", **body},
        format="json",
    )


def approve(client: Any, cancellation: int) -> Any:
    return client.post(f"{API}/cancellations/{cancellation}/approve/", {}, format="json")


@pytest.mark.django_db
def test_cancel_then_cancel_again(chart, api_client_for):
    _, buy = seed_entries()
    client, approver = api_client_for("staff"), api_client_for("approver")
    asked = ask_cancellation(client, buy.pk, reason="Trade never settled")
    assert asked.status_code == 201, asked.content
    assert not JournalEntry.objects.filter(kind="reversal").exists()  # not before approval
    approved = approve(approver, asked.json()["id"])
    assert approved.status_code == 200, approved.content
    cancellation = approved.json()
    assert cancellation["status"] == "approved" and cancellation["decided_by"] == "approver"
    reversal = client.get(f"{API}/journal-entries/{cancellation['reversal']}/").json()
    assert reversal["sequence"] == cancellation["reversal_sequence"]
    assert reversal["kind"] == "reversal"
    assert reversal["reversal_of"] == buy.pk
    assert reversal["effective_date"] == "2025-10-01"
    assert reversal["memo"] == (
        f"Cancellation of journal entry #{buy.sequence} (entry #{buy.sequence}): "
        "Trade never settled"
    )
    assert (reversal["created_by"], reversal["approved_by"]) == ("staff", "approver")
    assert reversal["postings"] == [
        {"account": "1210", "commodity": "BTC", "quantity": "-1.50000000", "value": "-142500.00"},
        {"account": "1000", "commodity": "USD", "quantity": "142500.00", "value": "142500.00"},
    ]
    original = client.get(f"{API}/journal-entries/{buy.pk}/").json()
    assert original["reversed_by"] == reversal["id"]

    count = JournalEntry.objects.count()
    assert_error(ask_cancellation(client, buy.pk), 409, "entry", "already_cancelled")
    assert_error(approve(approver, cancellation["id"]), 409, "status", "invalid_state")
    assert_error(ask_cancellation(client, reversal["id"]), 400, "entry", "invalid_entry")
    assert JournalEntry.objects.count() == count

    balance = client.get(f"{API}/accounts/1210/balance/", {"as_of": "2025-10-01"}).json()
    assert balance["quantity"] == "0.00000000"
    assert client.get(f"{API}/journal-entries/", {"kind": "reversal"}).json()["count"] == 1


@pytest.mark.django_db
def test_cancel_at_a_later_date_with_a_reason(chart, api_client_for, second_approver):
    _, buy = seed_entries()
    asked = ask_cancellation(
        api_client_for("approver"), buy.pk, effective_date="2025-10-15", reason="Trade cancelled"
    )
    assert asked.status_code == 201, asked.content
    assert asked.json()["requested_by"] == "approver"
    client = api_client_for("staff")
    before = client.get(f"{API}/accounts/1210/balance/", {"as_of": "2025-10-15"}).json()
    assert before["quantity"] == "1.50000000"  # asked for, not yet approved
    other = APIClient()  # an approver other than the one who asked
    other.force_authenticate(second_approver)
    done = approve(other, asked.json()["id"])
    assert done.status_code == 200, done.content
    body = client.get(f"{API}/journal-entries/{done.json()['reversal']}/").json()
    assert body["effective_date"] == "2025-10-15"
    assert body["memo"].endswith(": Trade cancelled")
    assert (body["created_by"], body["approved_by"]) == ("approver", "approver2")
    before = client.get(f"{API}/accounts/1210/balance/", {"as_of": "2025-10-14"}).json()
    after = client.get(f"{API}/accounts/1210/balance/", {"as_of": "2025-10-15"}).json()
    assert (before["quantity"], after["quantity"]) == ("1.50000000", "0.00000000")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"effective_date": "2025-10-32"}, "effective_date", None),
        ({"effective_date": 20251015}, "effective_date", "invalid"),
        ({"effective_date": None}, "effective_date", "null"),
        ({"reason": "m" * (MAX_REASON_LENGTH + 1)}, "reason", "max_length"),
        ({"reason": ["x"]}, "reason", "not_a_string"),
        ({"reason": None}, "reason", "null"),
        ({"memo": "typo"}, "memo", "unknown_field"),
        ({"entry": "x"}, "entry", "invalid"),
        ({"entry": 0}, "entry", "min_value"),
        ([], None, "invalid"),
        ("x", None, "invalid"),
    ],
)
def test_cancellation_bad_input(chart, api_client_for, body, field, code):
    _, buy = seed_entries()
    count = JournalEntry.objects.count()
    if isinstance(body, dict):
        body = {"entry": buy.pk, "reason": "wrong", **body}
    response = api_client_for("staff").post(f"{API}/cancellations/", body, format="json")
    assert_error(response, 400, field, code)
    assert JournalEntry.objects.count() == count
    assert not Cancellation.objects.exists()


@pytest.mark.django_db
def test_cancellation_refusals_from_the_ledger(chart, api_client_for, approver_user):
    opening, buy = seed_entries()
    client, approver = api_client_for("staff"), api_client_for("approver")
    count = JournalEntry.objects.count()
    # Undoing the opening cash after spending some would take cash below zero: refused when
    # asked for, as the approval would refuse it.
    assert_error(ask_cancellation(client, opening.pk), 400, "postings", "insufficient_balance")
    assert_error(ask_cancellation(client, buy.pk + 1000), 404, None, "not_found")
    assert_error(
        ask_cancellation(client, buy.pk, effective_date="2025-09-30"),
        400,
        "effective_date",
        "invalid_entry",
    )
    # Asked for while the period was open, approved after it closed: refused, nothing posted.
    early = ask_cancellation(client, buy.pk)
    assert early.status_code == 201, early.content
    services.period_close(through=date(2025, 10, 31), by=approver_user)
    assert_error(approve(approver, early.json()["id"]), 400, "effective_date", "closed_period")
    assert Cancellation.objects.get(pk=early.json()["id"]).status == "requested"
    rejected = approver.post(
        f"{API}/cancellations/{early.json()['id']}/reject/",
        {"reason": "ask again dated in November"},
        format="json",
    )
    assert rejected.status_code == 200, rejected.content
    assert_error(ask_cancellation(client, buy.pk), 400, "effective_date", "closed_period")
    late = ask_cancellation(client, buy.pk, effective_date="2025-11-01")
    assert late.status_code == 201, late.content
    done = approve(approver, late.json()["id"])
    assert done.status_code == 200, done.content
    assert JournalEntry.objects.get(pk=done.json()["reversal"]).effective_date == date(2025, 11, 1)
    assert JournalEntry.objects.count() == count + 1


@pytest.mark.django_db
def test_options_answers_for_every_endpoint(chart, api_client_for):
    _, buy = seed_entries()
    client = api_client_for("staff")
    cancellation = ask_cancellation(client, buy.pk).json()["id"]
    for url in [
        "/commodities/",
        "/accounts/",
        "/accounts/1210/",
        "/accounts/1210/balance/",
        "/balances/",
        "/reports/trial-balance/",
        "/journal-entries/",
        f"/journal-entries/{buy.pk}/",
        "/cancellations/",
        f"/cancellations/{cancellation}/",
        f"/cancellations/{cancellation}/approve/",
        f"/cancellations/{cancellation}/reject/",
    ]:
        assert client.options(API + url).status_code == 200, url
    assert client.delete(f"{API}/journal-entries/{buy.pk}/").status_code == 405
    assert client.put(f"{API}/journal-entries/{buy.pk}/", {}, format="json").status_code == 405
    assert client.delete(f"{API}/cancellations/{cancellation}/").status_code == 405
    assert client.get(f"{API}/cancellations/{cancellation}/approve/").status_code == 405
    assert client.get(f"{API}/accounts/", HTTP_ACCEPT="text/html").status_code == 406
    # The generic reversal is gone: no such endpoint, whatever the method.
    for method in ("get", "post", "options"):
        response = getattr(client, method)(f"{API}/journal-entries/{buy.pk}/reverse/")
        assert response.status_code == 404, method


@pytest.mark.django_db
def test_the_generic_reverse_endpoint_posts_nothing(chart, api_client_for):
    _, buy = seed_entries()
    count = JournalEntry.objects.count()
    for role in ("staff", "approver"):
        client = api_client_for(role)
        for raw in ("", "{}", '{"effective_date": "2025-10-15", "memo": "undo"}'):
            response = client.generic(
                "POST", f"{API}/journal-entries/{buy.pk}/reverse/", raw, "application/json"
            )
            assert response.status_code == 404, (role, raw)
    assert JournalEntry.objects.count() == count
    assert not JournalEntry.objects.filter(reversal_of__isnull=False).exists()
    assert not Cancellation.objects.exists()


# --- the whole path, committed -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_post_and_cancel_committed_keep_the_trial_balance_at_zero(
    chart, api_client_for, approver_user
):
    """With real commits, so the deferred invariants in PostgreSQL run on every request."""
    client, approver = api_client_for("staff"), api_client_for("approver")
    for body, key in [(OPENING, "opening"), (BUY_BTC, "buy-1")]:
        journal = post_entry(client, body, key=key)
        assert journal.status_code == 202, journal.content
        approved = approver.post(
            f"{API}/manual-journals/{journal.json()['id']}/approve/", {}, format="json"
        )
        assert approved.status_code == 200, approved.content
    assert post_entry(client, BUY_BTC, key="buy-1").status_code == 200
    entry_id = approved.json()["entry"]
    asked = ask_cancellation(client, entry_id)
    assert asked.status_code == 201, asked.content
    done = approve(approver, asked.json()["id"])
    assert done.status_code == 200, done.content
    assert_error(ask_cancellation(client, entry_id), 409, "entry", "already_cancelled")
    assert_error(approve(approver, asked.json()["id"]), 409, "status", "invalid_state")
    gone = client.post(f"{API}/journal-entries/{entry_id}/reverse/", {}, format="json")
    assert gone.status_code == 404
    report = client.get(f"{API}/reports/trial-balance/", {"as_of": "2025-12-31"}).json()
    assert report["total_value"] == "0.00"
    assert {row["account"]: row["value"] for row in report["rows"]} == {
        "1000": "500000.00",
        "3000": "-500000.00",
    }
    assert JournalEntry.objects.count() == 3


# --- the list's cost ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_journal_list_costs_the_same_queries_whatever_the_page_size(chart, api_client_for):
    """A page of entries is read in a fixed number of queries: no posting's commodity or
    account is fetched on its own, however many postings the page shows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    services.entry_post(
        effective_date=date(2025, 10, 1),
        memo="opening cash",
        postings=[
            ("1000", Decimal("200000.00"), Decimal("200000.00")),
            ("3000", Decimal("-200000.00"), Decimal("-200000.00")),
        ],
    )
    for day in range(2, 13):
        services.entry_post(
            effective_date=date(2025, 10, day),
            memo=f"bought on day {day}",
            postings=[
                ("1210", Decimal("0.1"), Decimal("9000.00")),
                ("1000", Decimal("-9000.00"), Decimal("-9000.00")),
            ],
        )
    client = api_client_for("auditor")
    client.get(f"{API}/journal-entries/?page_size=2")  # the token and the chart, once
    counts = {}
    for size in (2, 12):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{API}/journal-entries/?page_size={size}")
        assert response.status_code == 200, response.content
        assert len(response.json()["results"]) == size
        counts[size] = len(queries)
    assert counts[2] == counts[12], counts
    postings = response.json()["results"][0]["postings"]
    assert {p["commodity"] for p in postings} == {"BTC", "USD"}
