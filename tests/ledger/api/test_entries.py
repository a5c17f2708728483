"""The REST API: roles on every endpoint, reads, reports, pagination and the schema."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from ledger import services
from ledger.models import Account, Cancellation, JournalEntry, ManualJournal

API = "/api/v1"
ROLES = ["anonymous", "no_role", "auditor", "staff", "approver"]
READ_STATUS = {"anonymous": 401, "no_role": 403, "auditor": 200, "staff": 200, "approver": 200}
WRITE_STATUS = {"anonymous": 401, "no_role": 403, "auditor": 403, "staff": 201, "approver": 201}
# POST journal-entries/ is a manual journal submitted for approval: accepted, not yet posted.
REQUEST_STATUS = {**WRITE_STATUS, "staff": 202, "approver": 202}

OPENING = {
    "effective_date": "2025-09-30",
    "memo": "Opening cash",
    "postings": [
        {"account": "1000", "quantity": "500000.00", "value": "500000.00"},
        {"account": "3000", "quantity": "-500000.00", "value": "-500000.00"},
    ],
}
# A manual journal with BTC units: on 5110 (an expense in BTC units), an account no
# subledger keeps. A wallet (1210) holds lots, whose units move by holdings' documents alone:
# no manual journal posts there.
BUY_BTC = {
    "effective_date": "2025-10-01",
    "memo": "Bought 1.5 BTC",
    "postings": [
        {"account": "5110", "quantity": "1.50000000", "value": "142500.00"},
        {"account": "1000", "quantity": "-142500.00", "value": "-142500.00"},
    ],
}
# The same purchase posted to the wallet by the ledger's own service (as holdings' documents
# post), for the reads below.
BOUGHT_BTC = {
    **BUY_BTC,
    "postings": [
        {"account": "1210", "quantity": "1.50000000", "value": "142500.00"},
        {"account": "1000", "quantity": "-142500.00", "value": "-142500.00"},
    ],
}


# --- helpers (imported by the other API test modules) ------------------------------------


def post_entry(client: Any, body: Any, *, key: str | None = None, **extra: Any) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(f"{API}/journal-entries/", body, format="json", **headers, **extra)


def post_entry_approved(client: Any, body: Any, *, approver: Any, key: str | None = None) -> dict:
    """POST journal-entries/ (a manual journal, submitted), approved by `approver` (not its
    maker): the journal entry posted, as the API shows it."""
    response = post_entry(client, body, key=key)
    assert response.status_code in {200, 202}, response.content
    journal = services.manual_journal_approve(journal=response.json()["id"], by=approver)
    return client.get(f"{API}/journal-entries/{journal.entry_id}/").json()


def post_raw(client: Any, raw: str | bytes, content_type: str = "application/json") -> Any:
    return client.generic("POST", f"{API}/journal-entries/", raw, content_type=content_type)


def seed_entries() -> tuple[JournalEntry, JournalEntry]:
    """Opening cash on 2025-09-30, then 1.5 BTC bought on 2025-10-01 (through the service)."""

    def lines(body: dict) -> list[tuple[str, Decimal, Decimal]]:
        return [
            (p["account"], Decimal(p["quantity"]), Decimal(p["value"])) for p in body["postings"]
        ]

    opening = services.entry_post(
        effective_date=date(2025, 9, 30), memo=OPENING["memo"], postings=lines(OPENING)
    )
    buy = services.entry_post(
        effective_date=date(2025, 10, 1), memo=BOUGHT_BTC["memo"], postings=lines(BOUGHT_BTC)
    )
    return opening, buy


def assert_error(response: Any, status: int, field: str | None, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["detail"], body
    if field is not None:
        fields = [body.get("field")] + [e["field"] for e in body.get("errors", [])]
        assert field in fields, body
    if code is not None:
        codes = [body["code"]] + [e["code"] for e in body.get("errors", [])]
        assert code in codes, body
    return body


# --- roles on every endpoint -------------------------------------------------------------

READ_URLS = [
    "/commodities/",
    "/accounts/",
    "/accounts/1210/",
    "/accounts/1210/balance/",
    "/balances/",
    "/reports/trial-balance/",
    "/journal-entries/",
    "/journal-entries/{entry}/",
    "/cancellations/",
    "/integrity/",
    "/schema/",
    "/docs/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", READ_URLS)
def test_every_read_endpoint_for_every_role(chart, api_client_for, role, url):
    _, buy = seed_entries()
    response = api_client_for(role).get(API + url.format(entry=buy.pk))
    assert response.status_code == READ_STATUS[role], response.content
    if role == "anonymous":
        assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_post_entry_for_every_role(chart, api_client_for, role):
    seed_entries()
    before = JournalEntry.objects.count()
    response = post_entry(api_client_for(role), BUY_BTC)
    assert response.status_code == REQUEST_STATUS[role], response.content
    written = 1 if REQUEST_STATUS[role] == 202 else 0
    assert ManualJournal.objects.filter(status="submitted").count() == written
    assert JournalEntry.objects.count() == before  # posted only once approved
    if written:
        assert response.json()["created_by"] == {"staff": "staff", "approver": "approver"}[role]
    else:
        assert response.json()["code"] in {"not_authenticated", "permission_denied"}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_request_a_cancellation_for_every_role(chart, api_client_for, role):
    _, buy = seed_entries()
    before = JournalEntry.objects.count()
    response = api_client_for(role).post(
        f"{API}/cancellations/", {"entry": buy.pk, "reason": "booked twice"}, format="json"
    )
    assert response.status_code == WRITE_STATUS[role], response.content
    written = 1 if WRITE_STATUS[role] == 201 else 0
    assert Cancellation.objects.filter(status="requested").count() == written
    assert JournalEntry.objects.count() == before  # reversed only once another approves


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_the_generic_reverse_endpoint_is_gone_for_every_role(chart, api_client_for, role):
    _, buy = seed_entries()
    before = JournalEntry.objects.count()
    client = api_client_for(role)
    for body in ({}, {"effective_date": "2025-10-15", "memo": "undo"}):
        response = client.post(f"{API}/journal-entries/{buy.pk}/reverse/", body, format="json")
        assert response.status_code == 404, response.content
    assert JournalEntry.objects.count() == before
    assert not JournalEntry.objects.filter(reversal_of=buy).exists()
    assert not Cancellation.objects.exists()


@pytest.mark.django_db
def test_session_authentication_reads(chart, staff_user, client):
    client.force_login(staff_user)
    assert client.get(f"{API}/accounts/").status_code == 200


@pytest.mark.django_db
def test_an_inactive_user_is_refused(chart, staff_user, api_client_for):
    client = api_client_for("staff")
    staff_user.is_active = False
    staff_user.save(update_fields=["is_active"])
    assert client.get(f"{API}/accounts/").status_code == 401


@pytest.mark.django_db
def test_a_bad_token_is_401(chart, api_client_for):
    client = api_client_for("anonymous")
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(client.get(f"{API}/accounts/"), 401, None, "authentication_failed")


# --- reference data ----------------------------------------------------------------------


@pytest.mark.django_db
def test_commodities(chart, api_client_for):
    body = api_client_for("auditor").get(f"{API}/commodities/").json()
    by_code = {row["code"]: row for row in body["results"]}
    assert by_code["BTC"] == {
        "code": "BTC",
        "name": "Bitcoin",
        "decimal_places": 8,
        "kind": "crypto",
        "measurement_policy": "fair_value",
    }
    assert by_code["USDT"]["decimal_places"] == 6
    assert by_code["USDT"]["measurement_policy"] == "cost"
    assert by_code["ETC"]["decimal_places"] == 18


@pytest.mark.django_db
def test_accounts_list_detail_and_filters(chart, api_client_for):
    client = api_client_for("auditor")
    services.account_create(
        code="1211", name="Cold wallet A", type="asset", commodity="BTC", parent="1210"
    )
    Account.objects.filter(code="1230").update(is_active=False)

    body = client.get(f"{API}/accounts/", {"page_size": 1000}).json()
    assert body["count"] == Account.objects.count()
    codes = [row["code"] for row in body["results"]]
    assert codes == sorted(codes)

    detail = client.get(f"{API}/accounts/1211/").json()
    assert detail == {
        "code": "1211",
        "name": "Cold wallet A",
        "type": "asset",
        "normal_side": "debit",
        "commodity": "BTC",
        "parent": "1210",
        "must_not_go_negative": False,
        "is_active": True,
    }
    assert client.get(f"{API}/accounts/4000/").json()["normal_side"] == "credit"

    def codes_for(**params: str) -> set[str]:
        response = client.get(f"{API}/accounts/", {**params, "page_size": 1000})
        assert response.status_code == 200, response.content
        return {row["code"] for row in response.json()["results"]}

    assert codes_for(type="income") == {"4000", "4100", "4200", "4300"}
    assert codes_for(commodity="BTC") == {"1210", "1211", "1220", "1230", "1300", "1400", "5110"}
    assert codes_for(commodity="BTC", is_active="false") == {"1230"}
    assert "1230" not in codes_for(is_active="true")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "assets"}, "type"),
        ({"commodity": "DOGE"}, "commodity"),
        ({"is_active": "maybe"}, "is_active"),
    ],
)
def test_accounts_filter_refuses_what_it_does_not_understand(chart, api_client_for, params, field):
    assert_error(api_client_for("staff").get(f"{API}/accounts/", params), 400, field)


@pytest.mark.django_db
def test_unknown_account_is_404(chart, api_client_for):
    client = api_client_for("auditor")
    assert_error(client.get(f"{API}/accounts/9999/"), 404, None, "not_found")
    assert_error(client.get(f"{API}/accounts/9999/balance/"), 404, None, "not_found")


# --- balances and reports ----------------------------------------------------------------


@pytest.mark.django_db
def test_account_balance_before_and_after(chart, api_client_for):
    seed_entries()
    client = api_client_for("auditor")

    def balance(code: str, as_of: str | None = None) -> dict:
        params = {"as_of": as_of} if as_of else {}
        response = client.get(f"{API}/accounts/{code}/balance/", params)
        assert response.status_code == 200, response.content
        return response.json()

    assert balance("1210", "2025-09-30") == {
        "account": "1210",
        "name": "BTC cold storage",
        "commodity": "BTC",
        "quantity": "0.00000000",
        "value": "0.00",
        "as_of": "2025-09-30",
    }
    after = balance("1210", "2025-10-01")
    assert (after["quantity"], after["value"]) == ("1.50000000", "142500.00")
    assert balance("1000", "2025-09-30")["value"] == "500000.00"
    assert balance("1000", "2025-10-01")["quantity"] == "357500.00"

    today = balance("1210")
    assert today["as_of"] == timezone.now().date().isoformat()
    assert today["quantity"] == "1.50000000"
    # An empty parameter is an absent one, as usual in query strings.
    assert client.get("/api/v1/accounts/1210/balance/?as_of=").json() == today


@pytest.mark.django_db
def test_account_balance_includes_the_subtree(chart, api_client_for):
    services.account_create(
        code="1221", name="Hot wallet A", type="asset", commodity="BTC", parent="1220"
    )
    services.entry_post(
        effective_date=date(2025, 10, 2),
        memo="Mined",
        postings=[("1221", Decimal("0.25"), Decimal("25000")), ("4000", -25000, -25000)],
    )
    body = api_client_for("staff").get(f"{API}/accounts/1220/balance/?as_of=2025-10-02").json()
    assert (body["quantity"], body["value"]) == ("0.25000000", "25000.00")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "as_of", ["2025-13-01", "2025-02-30", "yesterday", "20251001", "2025-10-01T00:00", " "]
)
def test_bad_as_of_is_400_naming_it(chart, api_client_for, as_of):
    client = api_client_for("auditor")
    for url in ["/accounts/1210/balance/", "/balances/", "/reports/trial-balance/"]:
        assert_error(client.get(API + url, {"as_of": as_of}), 400, "as_of")


@pytest.mark.django_db
def test_balances_rows_and_filters(chart, api_client_for):
    seed_entries()
    client = api_client_for("approver")
    body = client.get(f"{API}/balances/", {"as_of": "2025-10-01"}).json()
    assert body["as_of"] == "2025-10-01"
    rows = {row["account"]: row for row in body["rows"]}
    assert set(rows) == set(Account.objects.values_list("code", flat=True))
    assert rows["1210"] == {
        "account": "1210",
        "name": "BTC cold storage",
        "commodity": "BTC",
        "quantity": "1.50000000",
        "value": "142500.00",
        "type": "asset",
        "normal_side": "debit",
        "parent": None,
    }
    assert rows["3000"]["value"] == "-500000.00"
    assert rows["3000"]["normal_side"] == "credit"
    assert rows["1110"]["quantity"] == "0.000000"

    btc = client.get(f"{API}/balances/", {"as_of": "2025-10-01", "commodity": "BTC"}).json()
    assert {row["commodity"] for row in btc["rows"]} == {"BTC"}
    equity = client.get(f"{API}/balances/", {"type": "equity"}).json()
    assert [row["account"] for row in equity["rows"]] == ["3000"]

    assert_error(client.get(f"{API}/balances/", {"type": "revenue"}), 400, "type")
    assert_error(client.get(f"{API}/balances/", {"commodity": "DOGE"}), 400, "commodity")


@pytest.mark.django_db
def test_trial_balance(chart, api_client_for):
    seed_entries()
    client = api_client_for("auditor")
    body = client.get(f"{API}/reports/trial-balance/", {"as_of": "2025-10-01"}).json()
    assert body["as_of"] == "2025-10-01"
    assert body["total_value"] == "0.00"
    assert body["total_debit"] == body["total_credit"] == "500000.00"
    rows = {row["account"]: row for row in body["rows"]}
    assert set(rows) == {"1000", "1210", "3000"}
    assert rows["1210"] == {
        "account": "1210",
        "name": "BTC cold storage",
        "commodity": "BTC",
        "quantity": "1.50000000",
        "value": "142500.00",
        "type": "asset",
        "debit": "142500.00",
        "credit": "0.00",
    }
    assert rows["3000"]["credit"] == "500000.00"
    assert rows["3000"]["debit"] == "0.00"

    before = client.get(f"{API}/reports/trial-balance/", {"as_of": "2025-09-29"}).json()
    assert before["rows"] == []
    assert before["total_value"] == "0.00"


# --- journal reads and pagination --------------------------------------------------------


@pytest.mark.django_db
def test_journal_entry_detail(chart, api_client_for, staff_user):
    _, buy = seed_entries()
    body = api_client_for("auditor").get(f"{API}/journal-entries/{buy.pk}/").json()
    assert body["id"] == buy.pk
    assert body["sequence"] == buy.sequence
    assert body["effective_date"] == "2025-10-01"
    assert body["memo"] == "Bought 1.5 BTC"
    assert (body["kind"], body["status"]) == ("general", "posted")
    assert body["idempotency_key"] is None
    assert body["reversal_of"] is None and body["reversed_by"] is None
    assert body["created_by"] is None and body["approved_by"] is None
    assert body["manual_journal"] is None
    assert body["created_at"].endswith("Z")
    assert body["postings"] == [
        {"account": "1210", "commodity": "BTC", "quantity": "1.50000000", "value": "142500.00"},
        {"account": "1000", "commodity": "USD", "quantity": "-142500.00", "value": "-142500.00"},
    ]
    missing = api_client_for("auditor").get(f"{API}/journal-entries/{buy.pk + 1000}/")
    assert_error(missing, 404, None, "not_found")
    huge = api_client_for("auditor").get(f"{API}/journal-entries/{10**30}/")
    assert huge.status_code == 404


@pytest.mark.django_db
def test_journal_pagination_shape(chart, api_client_for):
    seed_entries()
    for day in range(2, 5):
        services.entry_post(
            effective_date=date(2025, 10, day),
            memo=f"Mined day {day}",
            kind="mined",
            postings=[("1300", Decimal("0.1"), Decimal("10000")), ("4000", -10000, -10000)],
        )
    client = api_client_for("auditor")
    first = client.get(f"{API}/journal-entries/", {"page_size": 2}).json()
    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 5
    assert len(first["results"]) == 2
    assert first["previous"] is None and "page=2" in first["next"]
    sequences = [entry["sequence"] for entry in first["results"]]
    assert sequences == sorted(sequences, reverse=True)  # newest first

    last = client.get(f"{API}/journal-entries/", {"page_size": 2, "page": 3}).json()
    assert len(last["results"]) == 1 and last["next"] is None and last["previous"]
    assert_error(client.get(f"{API}/journal-entries/", {"page": 99}), 404, None, "not_found")
    assert_error(client.get(f"{API}/journal-entries/", {"page": "x"}), 404, None, "not_found")


@pytest.mark.django_db
def test_journal_filters(chart, api_client_for):
    opening, buy = seed_entries()
    services.account_create(
        code="1301", name="F2Pool sub-account", type="asset", commodity="BTC", parent="1300"
    )
    earning = services.entry_post(
        effective_date=date(2025, 10, 3),
        memo="Mined",
        kind="mined",
        postings=[("1301", Decimal("0.1"), Decimal("10000")), ("4000", -10000, -10000)],
    )
    client = api_client_for("auditor")

    def ids(**params: str) -> list[int]:
        response = client.get(f"{API}/journal-entries/", params)
        assert response.status_code == 200, response.content
        return [entry["id"] for entry in response.json()["results"]]

    assert ids() == [earning.pk, buy.pk, opening.pk]
    assert ids(account="1000") == [buy.pk, opening.pk]
    assert ids(account="1300") == [earning.pk]  # the subtree counts
    assert ids(start="2025-10-01") == [earning.pk, buy.pk]
    assert ids(end="2025-10-01") == [buy.pk, opening.pk]
    assert ids(start="2025-10-01", end="2025-10-01") == [buy.pk]
    assert ids(kind="mined") == [earning.pk]
    assert ids(kind="reversal") == []

    assert_error(client.get(f"{API}/journal-entries/", {"account": "9999"}), 400, "account")
    assert_error(client.get(f"{API}/journal-entries/", {"start": "2025-1-1"}), 400, "start")
    assert_error(client.get(f"{API}/journal-entries/", {"end": "tomorrow"}), 400, "end")
    assert_error(
        client.get(f"{API}/journal-entries/", {"start": "2025-10-02", "end": "2025-10-01"}),
        400,
        "end",
    )
    assert_error(client.get(f"{API}/journal-entries/", {"kind": "Pool Earning"}), 400, "kind")


@pytest.mark.django_db
def test_query_strings_never_answer_500(chart, api_client_for):
    seed_entries()
    client = api_client_for("auditor")
    weird = [
        "",
        "x",
        "0000-00-00",
        "9999-12-31",
        "0001-01-01",
        "2025-10-01\x00",
        "2025-10-01'; DROP TABLE ledger_posting; --",
        "%",
        "\u00e9\u00e8",
        "1" * 5000,
        "-1",
        "null",
        "[]",
    ]
    params = {
        "/accounts/": ["type", "commodity", "is_active", "page", "page_size"],
        "/accounts/1210/balance/": ["as_of"],
        "/balances/": ["as_of", "type", "commodity"],
        "/reports/trial-balance/": ["as_of"],
        "/journal-entries/": ["account", "start", "end", "kind", "page", "page_size"],
        "/commodities/": ["page", "page_size"],
    }
    for url, names in params.items():
        for name in names:
            for value in weird:
                response = client.get(API + url, {name: value})
                assert response.status_code in {200, 400, 404}, (url, name, value)


# --- schema ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_schema_describes_every_path(chart, api_client_for):
    response = api_client_for("auditor").get(f"{API}/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    assert set(paths) == {
        "/api/v1/auth/login/",
        "/api/v1/auth/rotate/",
        "/api/v1/auth/logout/",
        "/api/v1/auth/logoutall/",
        "/api/v1/commodities/",
        "/api/v1/accounts/",
        "/api/v1/accounts/{code}/",
        "/api/v1/accounts/{code}/balance/",
        "/api/v1/balances/",
        "/api/v1/reports/trial-balance/",
        "/api/v1/reports/account-detail/",
        "/api/v1/reports/balance-sheet/",
        "/api/v1/reports/income-statement/",
        "/api/v1/journal-entries/",
        "/api/v1/journal-entries/{id}/",
        "/api/v1/cancellations/",
        "/api/v1/cancellations/{id}/",
        "/api/v1/cancellations/{id}/approve/",
        "/api/v1/cancellations/{id}/reject/",
        "/api/v1/manual-journals/",
        "/api/v1/manual-journals/{id}/",
        "/api/v1/manual-journals/{id}/submit/",
        "/api/v1/manual-journals/{id}/approve/",
        "/api/v1/manual-journals/{id}/reject/",
        "/api/v1/manual-journals/{id}/attachments/",
        "/api/v1/manual-journals/{id}/attachments/{attachment}/content/",
        "/api/v1/periods/",
        "/api/v1/periods/{id}/",
        "/api/v1/periods/{id}/reopen/",
        "/api/v1/audit-log/",
        "/api/v1/integrity/",
        "/api/v1/imports/",
        "/api/v1/imports/{id}/",
        "/api/v1/prices/",
        "/api/v1/lots/",
        "/api/v1/exports/beancount/",
        "/api/v1/reports/production/",
        "/api/v1/production/",
        "/api/v1/payouts/",
        "/api/v1/remeasurements/",
        "/api/v1/pool-accounts/",
        "/api/v1/wallets/",
        "/api/v1/wallets/{code}/addresses/",
        "/api/v1/pools/",
        "/api/v1/setup/",
        "/api/v1/sites/",
        "/api/v1/sales/",
        "/api/v1/sales/preview/",
        "/api/v1/sales/{id}/",
        "/api/v1/transfers/",
        "/api/v1/reports/realized-gains/",
        "/api/v1/reports/realized-gains-by-commodity/",
        "/api/v1/reports/rollforward/",
        "/api/v1/reports/rollforward-by-commodity/",
        "/api/v1/reports/price-evidence/",
        "/api/v1/reports/loan-schedule/",
        "/api/v1/loans/",
        "/api/v1/loans/{code}/",
        "/api/v1/loans/{code}/events/",
        "/api/v1/loans/{code}/draws/",
        "/api/v1/loans/{code}/pledges/",
        "/api/v1/loans/{code}/releases/",
        "/api/v1/loans/{code}/repayments/",
        "/api/v1/loans/{code}/liquidations/",
        "/api/v1/loans/{code}/accruals/",
        "/api/v1/reconciliations/",
        "/api/v1/reconciliations/{id}/",
        "/api/v1/statements/",
        "/api/v1/statements/{id}/",
        "/api/v1/statements/uploads/{id}/",
        "/api/v1/site-costs/",
        "/api/v1/site-costs/typed/",
        "/api/v1/site-costs/{id}/approve/",
        "/api/v1/site-costs/{id}/reject/",
        "/api/v1/meter-readings/",
        "/api/v1/reports/cost-to-mine/",
        "/api/v1/reports/fixed-assets/",
        "/api/v1/reports/gross-profit/",
        "/api/v1/vendor-deposits/",
        "/api/v1/fixed-assets/",
        "/api/v1/fixed-assets/depreciation/",
        "/api/v1/fixed-assets/{code}/",
        "/api/v1/fixed-assets/{code}/events/",
        "/api/v1/fixed-assets/{code}/in-service/",
        "/api/v1/fixed-assets/{code}/life-changes/",
        "/api/v1/fixed-assets/{code}/impairments/",
        "/api/v1/fixed-assets/{code}/disposals/",
        "/api/v1/hpc-contracts/",
        "/api/v1/hpc-revenue/",
    }
    assert set(paths["/api/v1/journal-entries/"]) == {"get", "post"}
    post = paths["/api/v1/journal-entries/"]["post"]
    assert {"200", "202", "400", "401", "403", "409"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])
    listing = paths["/api/v1/journal-entries/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {
        "account",
        "start",
        "end",
        "kind",
        "page",
        "page_size",
    }
    # An entry is undone only by its document's cancellation: asked for, then decided.
    assert set(paths["/api/v1/cancellations/"]) == {"get", "post"}
    ask = paths["/api/v1/cancellations/"]["post"]
    assert {"200", "201", "400", "404", "409"} <= set(ask["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in ask["parameters"])
    assert set(paths["/api/v1/cancellations/{id}/"]) == {"get"}
    for decision in ("approve", "reject"):
        operations = paths[f"/api/v1/cancellations/{{id}}/{decision}/"]
        assert set(operations) == {"post"}
        assert {"200", "403", "409"} <= set(operations["post"]["responses"])
    for path in ["/api/v1/accounts/{code}/balance/", "/api/v1/reports/trial-balance/"]:
        assert "as_of" in {p["name"] for p in paths[path]["get"]["parameters"]}
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert {"401", "403"} <= set(operation["responses"]), (path, method)
            assert operation.get("security"), (path, method)
    quantity = schema["components"]["schemas"]["PostingInputRequest"]["properties"]["quantity"]
    assert quantity["type"] == "string"


@pytest.mark.django_db
def test_docs_page(chart, api_client_for):
    response = api_client_for("staff").get(f"{API}/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_the_api_docs_are_served_without_a_cdn(api_client_for):
    response = api_client_for("auditor").get(f"{API}/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in page
    assert "cdn.jsdelivr" not in page and "unpkg.com" not in page


@pytest.mark.parametrize(
    ("role", "status"), [("anonymous", 401), ("no_role", 403), ("auditor", 200)]
)
def test_the_api_root_lists_the_endpoints(api_client_for, role, status):
    response = api_client_for(role).get(f"{API}/")
    assert response.status_code == status
    if status == 200:
        body = response.json()
        assert body["trial_balance"].endswith("/api/v1/reports/trial-balance/")
        assert body["docs"].endswith("/api/v1/docs/")
        assert body["beancount_export"].endswith("/api/v1/exports/beancount/")
        assert body["rollforward_report"].endswith("/api/v1/reports/rollforward/")
        assert body["reconciliations"].endswith("/api/v1/reconciliations/")
        assert body["statements"].endswith("/api/v1/statements/")
        assert body["cost_to_mine_report"].endswith("/api/v1/reports/cost-to-mine/")
