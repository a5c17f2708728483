"""The loans admin: loans and their events read-only for every role, today's status and the
events on a loan's page, tier crossings flagged, events filtered by kind; a loan event
recorded through the services, auditors recording nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from holdings.models import LoanEvent
from holdings.services import loans, setup
from tests.conftest import UserFactory
from tests.holdings.api.test_loans import written
from tests.holdings.services.test_loans import make_loan
from tests.holdings.services.test_treasury import OPENING

pytestmark = pytest.mark.django_db
D = Decimal

EVENT_FORM = {
    "loan": "L-1",
    "kind": "release",
    "on": "2026-01-03",
    "amount": "",
    "units": "1",
    "proceeds": "",
    "wallet": "COLD-1",
    "control": "retained",
}


@pytest.fixture
def as_role(client, staff_user, approver_user, auditor_user, no_role_user):
    people = {
        "superuser": UserFactory(username="root", is_superuser=True, is_staff=True),
        "staff": staff_user,
        "approver": approver_user,
        "auditor": auditor_user,
        "no_role": no_role_user,
    }
    for user in people.values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])

    def login(role: str) -> Any:
        client.force_login(people[role])
        return client

    return login


@pytest.fixture
def running_loan(world):
    """As in the API's tests: L-1 with all 3 BTC of COLD-1 pledged, then 150,000.00 drawn,
    on 2026-01-01 (LTV 0.5000)."""
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    loan = make_loan(start=date(2026, 1, 1), maturity=date(2026, 12, 31))
    loans.loan_pledge(loan=loan, units=D("3"), from_wallet="COLD-1", on=date(2026, 1, 1))
    loans.loan_draw(loan=loan, amount=D("150000.00"), on=date(2026, 1, 1))
    return loan


def url(name: str, *args: Any) -> str:
    return reverse(f"admin:holdings_{name}", args=args)


def margin_call(loan: Any) -> None:
    """1 BTC back: 2 BTC at 102,000 against 150,000.00, LTV 0.7353, a margin call."""
    loans.loan_release(loan=loan, units=D("1"), to_wallet="COLD-1", on=date(2026, 1, 3))


@pytest.mark.parametrize("role", ["superuser", "staff", "approver", "auditor"])
def test_loans_and_their_events_are_read_only_for_every_role(as_role, role, running_loan):
    margin_call(running_loan)
    client = as_role(role)
    event = LoanEvent.objects.get(kind="pledge")
    for name, obj in (("loan", running_loan), ("loanevent", event)):
        assert client.get(url(f"{name}_changelist")).status_code == 200, name
        detail = client.get(url(f"{name}_change", obj.pk))
        assert detail.status_code == 200, name
        assert 'name="_save"' not in detail.content.decode(), name
        assert client.post(url(f"{name}_change", obj.pk), {}).status_code == 403, name
        assert client.post(url(f"{name}_delete", obj.pk), {"post": "yes"}).status_code == 403
    assert client.get(url("loan_add")).status_code == 403


def test_a_loans_page_shows_its_terms_status_and_events(as_role, running_loan):
    margin_call(running_loan)
    client = as_role("auditor")
    listing = client.get(url("loan_changelist")).content.decode()
    assert "L-1" in listing and "Lender Ltd" in listing and "10%" in listing
    page = client.get(url("loan_change", running_loan.pk)).content.decode()
    for text in (
        "0.6000 / 0.7000 / 0.8000",
        "2000-L-1",
        "1230-L-1",
        "Status today (UTC)",
        # The world has no price for today: the status says why instead of failing.
        "Not available: no BTC/USD price",
        "150,000.00 USD",
        "3.00000000 BTC",
        "loan-tier-crossed",
        "LTV tier crossed: ok &rarr; margin_call (LTV 0.7353)",
    ):
        assert text in page, text


def test_the_status_shows_the_figures_when_there_is_a_price(as_role, running_loan, monkeypatch):
    noon = datetime(2026, 1, 2, 12, tzinfo=UTC)
    monkeypatch.setattr("holdings.admin.loans.timezone.now", lambda: noon)
    page = as_role("staff").get(url("loan_change", running_loan.pk)).content.decode()
    for text in ("303,000.00", "0.4950", "101000.00", "<td>ok</td>"):
        assert text in page, text


def test_loan_events_filter_by_kind_and_flag_tier_crossings(as_role, running_loan):
    margin_call(running_loan)
    client = as_role("auditor")
    tiers = client.get(url("loanevent_changelist"), {"kind": "tier"}).content.decode()
    assert "LTV tier crossed: ok &rarr; margin_call" in tiers
    assert '<td class="field-kind_display">Collateral pledged' not in tiers
    pledges = client.get(url("loanevent_changelist"), {"kind": "pledge"}).content.decode()
    assert '<td class="field-kind_display">Collateral pledged' in pledges
    assert "loan-tier-crossed" not in pledges


def test_recording_a_loan_event(as_role, running_loan):
    client = as_role("staff")
    page = client.get(url("loanevent_add")).content.decode()
    assert "Record a loan event" in page
    response = client.post(url("loanevent_add"), EVENT_FORM)
    event = LoanEvent.objects.get(kind="release")
    assert response.status_code == 302, response.content.decode()
    assert response["Location"] == url("loanevent_change", event.pk)
    assert (event.units, event.created_by.username) == (D("1"), "staff")
    assert event.details == {"control": "retained", "wallet": "COLD-1"}
    # The tier crossing the release caused is recorded by the service.
    assert LoanEvent.objects.filter(kind="tier").count() == 1
    accrual = client.post(
        url("loanevent_add"), {**EVENT_FORM, "kind": "accrual", "units": "", "wallet": ""}
    )
    assert accrual.status_code == 302
    assert LoanEvent.objects.get(kind="accrual").amount == D("41.10")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"units": "5"}, "less than 5"),
        ({"units": ""}, "A release needs this."),
        ({"wallet": ""}, "A release needs this."),
        ({"kind": "repayment", "amount": "999999"}, "exceeds what loan L-1 owes"),
        ({"kind": "draw", "amount": "-1"}, "amount must be a positive amount"),
        ({"on": "03/01/2026"}, "Enter a valid date"),
        ({"loan": "NOPE"}, "Select a valid choice"),
    ],
)
def test_a_refused_event_shows_why_on_the_form_and_writes_nothing(
    as_role, running_loan, changes, message
):
    client = as_role("approver")
    before = written()
    response = client.post(url("loanevent_add"), {**EVENT_FORM, **changes})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert written() == before


def test_auditors_and_users_without_a_role_cannot_record(as_role, running_loan):
    before = written()
    for role in ("auditor", "no_role"):
        client = as_role(role)
        assert client.get(url("loanevent_add")).status_code == 403
        assert client.post(url("loanevent_add"), EVENT_FORM).status_code == 403
    assert written() == before
    changelist = as_role("auditor").get(url("loanevent_changelist")).content.decode()
    assert url("loanevent_add") not in changelist
