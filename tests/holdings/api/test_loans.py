"""The loans API: loans with their status at a date, their events, and every event recorded
through the services, for every role; bad input refused naming the field with nothing
written; the figures the same as the services'."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from holdings.models import Disposal, Loan, LoanEvent, Lot, LotMovement
from holdings.selectors import loans as loans_selectors
from holdings.services import loans, setup
from ledger import selectors as ledger_selectors
from ledger import services as ledger_services
from ledger.models import JournalEntry, Posting
from tests.holdings.services.test_loans import make_loan
from tests.holdings.services.test_treasury import OPENING
from tests.ledger.api.test_entries import assert_error

API = "/api/v1"
ROLES = ["anonymous", "no_role", "auditor", "staff", "approver"]
READ_STATUS = {"anonymous": 401, "no_role": 403, "auditor": 200, "staff": 200, "approver": 200}
WRITE_STATUS = {"anonymous": 401, "no_role": 403, "auditor": 403, "staff": 201, "approver": 201}
D = Decimal

DRAW = {"amount": "150000.00", "on": "2026-01-01"}
PLEDGE = {"units": "3", "from_wallet": "COLD-1", "on": "2026-01-01"}
RELEASE = {"units": "0.5", "to_wallet": "COLD-1", "on": "2026-01-03"}
REPAY = {"amount": "1000.00", "on": "2026-01-03"}
LIQUIDATE = {"units": "1", "proceeds": "90000.00", "on": "2026-01-03"}
ACCRUE = {"on": "2026-01-02"}


def written() -> tuple[int, ...]:
    """Everything a loan event writes, counted."""
    return (
        JournalEntry.objects.count(),
        Posting.objects.count(),
        LoanEvent.objects.count(),
        Disposal.objects.count(),
        Lot.objects.count(),
        LotMovement.objects.count(),
    )


@pytest.fixture
def loan_world(world):
    """3 BTC in COLD-1 (lot A 1 BTC at 80,000.00, lot B 2 BTC at 210,000.00) and a USD loan
    L-1 at 10% ACT/365 for 2026, tiers 0.60 / 0.70 / 0.80, nothing drawn yet."""
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    return make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))


@pytest.fixture
def running_loan(loan_world):
    """L-1 with 3 BTC pledged, then 150,000.00 drawn, on 2026-01-01."""
    loans.loan_pledge(loan=loan_world, units=D("3"), from_wallet="COLD-1", on=date(2026, 1, 1))
    loans.loan_draw(loan=loan_world, amount=D("150000.00"), on=date(2026, 1, 1))
    return loan_world


def post(client: Any, url: str, body: Any) -> Any:
    return client.post(f"{API}{url}", body, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/loans/L-1/liquidations/", LIQUIDATE),
        ("/loans/L-1/repayments/", REPAY),
        ("/loans/L-1/releases/", RELEASE),
    ],
)
def test_a_loan_event_sent_with_an_idempotency_key_is_written_once(
    running_loan, api_client_for, url, body
):
    # Its scope names the loan and the event's kind: longer than the column once was.
    staff = api_client_for("staff")
    first = staff.post(f"{API}{url}", body, format="json", HTTP_IDEMPOTENCY_KEY="event-1")
    assert first.status_code == 201, first.content
    before = written()
    again = staff.post(f"{API}{url}", body, format="json", HTTP_IDEMPOTENCY_KEY="event-1")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert written() == before


# --- roles on every endpoint -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "url",
    [
        "/loans/",
        "/loans/?as_of=2026-01-02",
        "/loans/L-1/",
        "/loans/L-1/?as_of=2026-01-02",
        "/loans/L-1/events/",
        "/loans/L-1/events/?kind=pledge",
    ],
)
def test_every_read_endpoint_for_every_role(running_loan, api_client_for, role, url):
    response = api_client_for(role).get(f"{API}{url}")
    assert response.status_code == READ_STATUS[role], response.content


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/loans/L-1/draws/", {"amount": "1000.00", "on": "2026-01-03"}),
        ("/loans/L-1/pledges/", {"units": "0.5", "from_wallet": "COLD-1", "on": "2026-01-03"}),
        ("/loans/L-1/releases/", RELEASE),
        ("/loans/L-1/repayments/", REPAY),
        ("/loans/L-1/liquidations/", LIQUIDATE),
        ("/loans/L-1/accruals/", ACCRUE),
    ],
)
def test_every_write_endpoint_for_every_role(running_loan, api_client_for, role, url, body):
    if url.endswith("/pledges/"):  # every unit is pledged: one back to pledge again
        loans.loan_release(loan=running_loan, units=D("1"), to_wallet="COLD-1", on=date(2026, 1, 2))
    before = written()
    response = post(api_client_for(role), url, body)
    assert response.status_code == WRITE_STATUS[role], response.content
    if WRITE_STATUS[role] == 201:
        event = LoanEvent.objects.get(pk=response.json()["id"])
        assert event.loan_id == running_loan.pk
        if url != "/loans/L-1/accruals/":  # the nightly job's service records no user
            assert event.created_by.username == role
    else:
        assert written() == before


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_loans_and_events_refuse_other_methods(running_loan, api_client_for, method):
    client = api_client_for("staff")
    for url in ("/loans/", "/loans/L-1/", "/loans/L-1/events/", "/loans/L-1/draws/"):
        assert getattr(client, method)(f"{API}{url}").status_code == 405, url
    assert client.get(f"{API}/loans/L-1/draws/").status_code == 405


@pytest.mark.django_db
def test_an_unknown_loan_is_404(running_loan, api_client_for):
    client = api_client_for("staff")
    for url in ("/loans/NOPE/", "/loans/NOPE/events/"):
        assert client.get(f"{API}{url}").status_code == 404, url
    before = written()
    assert post(client, "/loans/NOPE/draws/", DRAW).status_code == 404
    assert written() == before


# --- reads -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_loan_with_its_terms_and_status(running_loan, api_client_for):
    response = api_client_for("auditor").get(f"{API}/loans/L-1/", {"as_of": "2026-01-02"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert {k: body[k] for k in body if k not in ("status", "created_at")} == {
        "code": "L-1",
        "url": "http://testserver/api/v1/loans/L-1/",
        "events_url": "http://testserver/api/v1/loans/L-1/events/",
        "lender": "Lender Ltd",
        "principal_commodity": "USD",
        "collateral_commodity": "BTC",
        "annual_rate": "0.100000",
        "day_count": "ACT/365",
        "start_date": "2026-01-01",
        "maturity_date": "2026-12-31",
        "warning_ltv": "0.6000",
        "margin_call_ltv": "0.7000",
        "liquidation_ltv": "0.8000",
        "cure_hours": 72,
        "principal_account": "2000-L-1",
        "interest_account": "2100-L-1",
        "pledged_account": "1230-L-1",
        "lent_account": "1400-L-1",
        "status_error": None,
    }
    # 3 BTC at 101,000 against 150,000.00: LTV 0.4950.
    status = loans_selectors.loan_status(loan=running_loan, as_of=date(2026, 1, 2))
    assert body["status"] == {
        "as_of": "2026-01-02",
        "principal": "150000.00",
        "interest": "0.00",
        "debt_value": "150000.00",
        "collateral_units": "3.00000000",
        "collateral_price": "101000.00",
        "collateral_value": "303000.00",
        "ltv": "0.4950",
        "tier": "ok",
    }
    assert D(body["status"]["ltv"]) == status.ltv
    assert D(body["status"]["collateral_value"]) == status.collateral_value
    listing = api_client_for("auditor").get(f"{API}/loans/", {"as_of": "2026-01-02"}).json()
    assert listing["count"] == 1 and listing["results"][0] == body


@pytest.mark.django_db
def test_the_status_defaults_to_today_and_without_a_price_says_why(running_loan, api_client_for):
    client = api_client_for("auditor")
    # No price for today (the world's prices end in February 2026): no status, the reason.
    body = client.get(f"{API}/loans/L-1/").json()
    assert body["status"] is None
    assert "no BTC/USD price" in body["status_error"]
    far = client.get(f"{API}/loans/", {"as_of": "2027-06-01"}).json()["results"][0]
    assert far["status"] is None and "2027-06-01" in far["status_error"]
    # Before the loan starts there is no collateral to price: the status stands without one.
    early = client.get(f"{API}/loans/L-1/", {"as_of": "2025-12-31"}).json()
    assert early["status_error"] is None
    assert (early["status"]["collateral_price"], early["status"]["ltv"]) == (None, None)
    assert early["status"]["tier"] == "ok"  # nothing owed either


@pytest.mark.django_db
@pytest.mark.parametrize("as_of", ["2026-13-01", "yesterday", "2026-01-02T00:00:00Z"])
def test_a_bad_as_of_is_400_naming_it(running_loan, api_client_for, as_of):
    client = api_client_for("auditor")
    assert_error(client.get(f"{API}/loans/", {"as_of": as_of}), 400, "as_of")
    assert_error(client.get(f"{API}/loans/L-1/", {"as_of": as_of}), 400, "as_of")


@pytest.mark.django_db
def test_a_loans_events_oldest_first_with_their_entries(running_loan, api_client_for):
    client = api_client_for("auditor")
    response = client.get(f"{API}/loans/L-1/events/")
    assert response.status_code == 200, response.content
    pledge, draw = response.json()["results"]
    entry = LoanEvent.objects.get(kind="pledge").entry
    assert pledge == {
        "id": pledge["id"],
        "loan": "L-1",
        "kind": "pledge",
        "effective_date": "2026-01-01",
        "attempt": 1,
        "amount": "0.00",
        "units": "3.00000000",
        "details": {"control": "retained", "wallet": "COLD-1", "top_up": False},
        "entry": entry.pk,
        "entry_sequence": entry.sequence,
        "created_by": None,
        "created_at": pledge["created_at"],
        "cancellation": None,
    }
    assert (draw["kind"], draw["amount"], draw["units"]) == ("draw", "150000.00", "0.00000000")
    assert draw["details"] == {"value": "150000.00"}
    only = client.get(f"{API}/loans/L-1/events/", {"kind": "draw"}).json()["results"]
    assert [e["kind"] for e in only] == ["draw"]
    late = client.get(f"{API}/loans/L-1/events/", {"start": "2026-01-02"}).json()["results"]
    assert late == []
    first = client.get(f"{API}/loans/L-1/events/", {"end": "2026-01-01"}).json()["results"]
    assert [e["kind"] for e in first] == ["pledge", "draw"]
    assert_error(client.get(f"{API}/loans/L-1/events/", {"kind": "gift"}), 400, "kind")
    assert_error(client.get(f"{API}/loans/L-1/events/", {"end": "soon"}), 400, "end")


# --- writes ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_draw_pledge_accrue_and_repay_through_the_api(loan_world, api_client_for):
    client = api_client_for("staff")

    pledge = post(client, "/loans/L-1/pledges/", {**PLEDGE, "control": "retained"})
    assert pledge.status_code == 201, pledge.content
    assert pledge.json()["units"] == "3.00000000"
    assert pledge.json()["details"] == {"control": "retained", "wallet": "COLD-1", "top_up": False}

    draw = post(client, "/loans/L-1/draws/", DRAW)
    assert draw.status_code == 201, draw.content
    assert (draw.json()["kind"], draw.json()["amount"]) == ("draw", "150000.00")
    assert draw.json()["created_by"] == "staff"

    accruals = [
        post(client, "/loans/L-1/accruals/", {"on": f"2026-01-0{day}"}) for day in (1, 2, 3)
    ]
    assert [a.status_code for a in accruals] == [201, 201, 201]
    # 150,000.00 x 10% / 365 = 41.0958...: 41.10 a day, half-even.
    assert {a.json()["amount"] for a in accruals} == {"41.10"}
    assert accruals[0].json()["details"] == {"outstanding": "150000.00", "value": "41.10"}
    # Once per day: the same day again answers the event already recorded.
    before = written()
    again = post(client, "/loans/L-1/accruals/", {"on": "2026-01-02"})
    assert again.status_code == 200 and again.json()["id"] == accruals[1].json()["id"]
    assert written() == before

    # Dated after the interest accrued (under it: 409 accrued_day).
    repay = post(client, "/loans/L-1/repayments/", {**REPAY, "on": "2026-01-04"})
    assert repay.status_code == 201, repay.content
    assert repay.json()["details"] == {"interest": "123.30", "principal": "876.70"}
    event = LoanEvent.objects.get(pk=repay.json()["id"])
    assert repay.json()["entry"] == event.entry_id
    assert repay.json()["entry_sequence"] == event.entry.sequence

    # The API's status is the service's, to the cent.
    status = loans_selectors.loan_status(loan=loan_world, as_of=date(2026, 1, 4))
    assert (status.principal, status.interest) == (D("149123.30"), D("0"))
    shown = client.get(f"{API}/loans/L-1/", {"as_of": "2026-01-04"}).json()["status"]
    assert D(shown["principal"]) == status.principal == D("149123.30")
    assert D(shown["interest"]) == status.interest
    assert D(shown["debt_value"]) == status.debt_value
    assert D(shown["collateral_units"]) == status.collateral_units == D("3")
    assert D(shown["collateral_value"]) == status.collateral_value == D("309000.00")
    assert D(shown["ltv"]) == status.ltv == D("0.4826")
    assert shown["tier"] == status.tier == "ok"
    # And the ledger's: the loan's accounts hold what the status says.
    principal = ledger_selectors.account_balance(account="2000-L-1", as_of=date(2026, 1, 4))
    assert -principal.quantity == D("149123.30")
    assert ledger_selectors.account_balance(account="1230", as_of=date(2026, 1, 4)).quantity == 3
    events = client.get(f"{API}/loans/L-1/events/").json()["results"]
    assert [e["kind"] for e in events] == [
        "pledge",
        "draw",
        "accrual",
        "accrual",
        "accrual",
        "repayment",
    ]


@pytest.mark.django_db
def test_release_and_liquidation_through_the_api(running_loan, api_client_for):
    client = api_client_for("approver")
    release = post(client, "/loans/L-1/releases/", {**RELEASE, "units": "1"})
    assert release.status_code == 201, release.content
    assert release.json()["details"] == {"control": "retained", "wallet": "COLD-1"}
    # 2 BTC at 102,000 against 150,000.00: 0.7353, a margin call recorded as a tier event.
    tiers = running_loan.events.filter(kind="tier")
    assert [e.details["tier"] for e in tiers] == ["margin_call"]
    listed = client.get(f"{API}/loans/L-1/events/", {"kind": "tier"}).json()["results"]
    assert listed[0]["details"]["tier"] == "margin_call" and listed[0]["entry"] is None

    liquidation = post(
        client,
        "/loans/L-1/liquidations/",
        {"units": "1", "proceeds": "90000.00", "on": "2026-01-03"},
    )
    assert liquidation.status_code == 201, liquidation.content
    body = liquidation.json()
    assert (body["units"], body["amount"]) == ("1.00000000", "90000.00")
    assert body["details"]["principal"] == "90000.00"
    status = loans_selectors.loan_status(loan=running_loan, as_of=date(2026, 1, 3))
    assert status.principal == D("60000.00") and status.collateral_units == D("1")


@pytest.mark.django_db
def test_collateral_whose_control_passes(running_loan, api_client_for):
    client = api_client_for("staff")
    response = post(client, "/loans/L-1/releases/", {**RELEASE, "control": "transferred"})
    # Nothing was pledged with control transferred: the receivable holds nothing.
    assert_error(response, 400, "units", "insufficient_lots")
    # Released from the retained pledge, then pledged again with control transferred.
    assert post(client, "/loans/L-1/releases/", RELEASE).status_code == 201
    moved = post(
        client,
        "/loans/L-1/pledges/",
        {"units": "0.5", "from_wallet": "COLD-1", "on": "2026-01-04", "control": "transferred"},
    )
    assert moved.status_code == 201, moved.content
    lent = ledger_selectors.account_balance(account="1400-L-1", as_of=date(2026, 1, 4))
    assert lent.quantity == D("0.5")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "body", "status", "field"),
    [
        ("draws", {**DRAW, "amount": "0"}, 400, "amount"),
        ("draws", {**DRAW, "amount": "-5.00"}, 400, "amount"),
        ("draws", {**DRAW, "amount": "1.001"}, 400, "amount"),
        ("draws", {**DRAW, "amount": 1000}, 400, "amount"),
        ("draws", {**DRAW, "amount": ...}, 400, "amount"),
        ("draws", {**DRAW, "on": "2026-02-30"}, 400, "on"),
        ("draws", {**DRAW, "on": ...}, 400, "on"),
        ("draws", {**DRAW, "value": "1.001"}, 400, "value"),
        ("draws", {**DRAW, "to_wallet": "NOPE"}, 400, "to_wallet"),
        ("draws", {**DRAW, "colour": "red"}, 400, "colour"),
        ("pledges", {**PLEDGE, "units": "10"}, 400, "units"),
        ("pledges", {**PLEDGE, "units": "0.000000001"}, 400, "units"),
        ("pledges", {**PLEDGE, "from_wallet": "NOPE"}, 400, "from_wallet"),
        ("pledges", {**PLEDGE, "from_wallet": ...}, 400, "from_wallet"),
        ("pledges", {**PLEDGE, "control": "shared"}, 400, "control"),
        ("releases", {**RELEASE, "units": "5"}, 400, "units"),
        ("releases", {**RELEASE, "to_wallet": ...}, 400, "to_wallet"),
        ("repayments", {**REPAY, "amount": "999999.00"}, 400, "amount"),
        ("repayments", {**REPAY, "on": "03/01/2026"}, 400, "on"),
        ("liquidations", {**LIQUIDATE, "proceeds": "999999.00"}, 400, "proceeds"),
        ("liquidations", {**LIQUIDATE, "units": "4"}, 400, "units"),
        ("liquidations", {**LIQUIDATE, "proceeds": ...}, 400, "proceeds"),
        ("accruals", {"on": "2027-01-01"}, 400, "on"),
        ("accruals", {"on": "2025-12-31"}, 400, "on"),
        ("accruals", {}, 400, "on"),
        ("accruals", {"on": "2026-01-02", "through": "2026-01-03"}, 400, "through"),
    ],
)
def test_bad_events_are_refused_naming_the_field_and_write_nothing(
    running_loan, api_client_for, url, body, status, field
):
    body = {key: value for key, value in body.items() if value is not ...}
    before = written()
    assert_error(post(api_client_for("staff"), f"/loans/L-1/{url}/", body), status, field)
    assert written() == before


@pytest.mark.django_db
def test_a_wallet_of_another_commodity_is_refused(running_loan, api_client_for):
    setup.wallet_create(code="USDT-1", name="USDT wallet", commodity="USDT", parent_account="1110")
    client = api_client_for("staff")
    before = written()
    body = assert_error(
        post(client, "/loans/L-1/pledges/", {**PLEDGE, "from_wallet": "USDT-1"}), 400, "from_wallet"
    )
    assert "holds USDT, not BTC" in body["detail"]
    assert_error(
        post(client, "/loans/L-1/draws/", {**DRAW, "to_wallet": "COLD-1"}), 400, "to_wallet"
    )
    assert written() == before


@pytest.mark.django_db
def test_a_usdt_loan_draws_into_and_repays_from_its_wallet(world, api_client_for):
    setup.wallet_create(code="USDT-1", name="USDT wallet", commodity="USDT", parent_account="1110")
    make_loan("L-T", principal="USDT", start=date(2026, 1, 1), maturity=date(2026, 12, 31))
    client = api_client_for("staff")
    before = written()
    # A USDT draw needs the wallet it arrives in: the service names the field.
    assert_error(post(client, "/loans/L-T/draws/", DRAW), 400, "to_wallet")
    assert written() == before
    draw = post(
        client,
        "/loans/L-T/draws/",
        {"amount": "1000.000000", "on": "2026-01-01", "to_wallet": "USDT-1", "value": "999.50"},
    )
    assert draw.status_code == 201, draw.content
    assert (draw.json()["amount"], draw.json()["details"]) == ("1000.000000", {"value": "999.50"})
    before = written()
    assert_error(post(client, "/loans/L-T/repayments/", REPAY), 400, "from_wallet")
    assert written() == before
    repay = post(
        client,
        "/loans/L-T/repayments/",
        {"amount": "400", "on": "2026-01-02", "from_wallet": "USDT-1"},
    )
    assert repay.status_code == 201, repay.content
    loan = Loan.objects.get(code="L-T")
    assert loans_selectors.loan_status(loan=loan, as_of=date(2026, 1, 2)).principal == D("600")


@pytest.mark.django_db
def test_a_non_json_body_is_refused(running_loan, api_client_for):
    before = written()
    response = api_client_for("staff").post(
        f"{API}/loans/L-1/draws/", "amount=1", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert written() == before


@pytest.mark.django_db
def test_the_api_root_and_the_schema_list_the_loans(running_loan, api_client_for):
    client = api_client_for("auditor")
    assert client.get(f"{API}/").json()["loans"].endswith("/api/v1/loans/")
    paths = client.get(f"{API}/schema/", {"format": "json"}).json()["paths"]
    assert set(paths["/api/v1/loans/"]) == {"get"}
    assert set(paths["/api/v1/loans/{code}/"]) == {"get"}
    assert set(paths["/api/v1/loans/{code}/events/"]) == {"get"}
    for action in ("draws", "pledges", "releases", "repayments", "liquidations", "accruals"):
        operations = paths[f"/api/v1/loans/{{code}}/{action}/"]
        assert set(operations) == {"post"}, action
        assert {"201", "400", "401", "403", "404", "409"} <= set(operations["post"]["responses"])
    detail = {p["name"] for p in paths["/api/v1/loans/{code}/"]["get"]["parameters"]}
    assert detail == {"code", "as_of"}
    events = {p["name"] for p in paths["/api/v1/loans/{code}/events/"]["get"]["parameters"]}
    assert events >= {"code", "kind", "start", "end", "page", "page_size"}


@pytest.mark.django_db
def test_an_event_in_a_closed_period_is_refused_naming_on(
    running_loan, api_client_for, approver_user
):
    """The ledger's refusal of the entry's date names the body's own field, `on` (it named
    the entry's `effective_date`, which the body has not)."""
    ledger_services.period_close(through=date(2026, 1, 31), by=approver_user)
    client = api_client_for("staff")
    before = written()
    for url, body in [
        ("/loans/L-1/draws/", {**DRAW, "on": "2026-01-10"}),
        ("/loans/L-1/repayments/", {**REPAY, "on": "2026-01-10"}),
        ("/loans/L-1/accruals/", {"on": "2026-01-10"}),
    ]:
        assert_error(post(client, url, body), 400, "on", "closed_period")
    assert written() == before
