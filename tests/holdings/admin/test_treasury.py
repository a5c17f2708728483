"""The treasury admin: a sale previewed (nothing written) then confirmed, a transfer
recorded, sales, transfers and disposals read-only for every role, auditors adding nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from holdings.models import Disposal, Lot, Sale, Transfer
from tests.conftest import UserFactory
from tests.holdings.api.test_treasury import TXID, written
from tests.holdings.services.test_treasury import holdings_at_fair_value

pytestmark = pytest.mark.django_db
D = Decimal

SALE_FORM = {
    "reference": "T-1",
    "wallet": "COLD-1",
    "units": "1.5",
    "sold_at": "2026-01-10T15:30:00Z",
    "proceeds_commodity": "USDT",
    "gross_proceeds": "150000",
    "fee": "150",
    "proceeds_value": "150000.00",
    "proceeds_wallet": "USDT-1",
    "lots": "",
}
TRANSFER_FORM = {
    "txid": TXID,
    "from_wallet": "COLD-1",
    "to_wallet": "HOT-1",
    "units": "0.5",
    "fee_units": "0.0001",
    "sent_at": "2026-01-05T08:00:00Z",
}


@pytest.fixture
def users(staff_user, approver_user, auditor_user, no_role_user):
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
    return people


@pytest.fixture
def as_role(client, users):
    def login(role: str) -> Any:
        client.force_login(users[role])
        return client

    return login


@pytest.fixture
def treasury_world(world):
    holdings_at_fair_value()
    return world


def url(name: str, *args: Any) -> str:
    return reverse(f"admin:holdings_{name}", args=args)


def record_sale(client: Any, button: str, **changes: str) -> Any:
    return client.post(url("sale_add"), {**SALE_FORM, **changes, button: "x"})


def test_preview_then_confirm_records_the_sale(as_role, treasury_world):
    client = as_role("staff")
    changelist = client.get(url("sale_changelist"))
    assert changelist.status_code == 200 and url("sale_add") in changelist.content.decode()
    page = client.get(url("sale_add")).content.decode()
    assert "Record a sale" in page and 'name="_preview"' in page and 'name="_confirm"' not in page

    before = written()
    preview = record_sale(client, "_preview")
    assert preview.status_code == 200
    assert written() == before  # the preview writes nothing
    html = preview.content.decode()
    lot_a, lot_b = Lot.objects.filter(account__code="1210-COLD-1").order_by("acquired_at")
    for text in (
        f"#{lot_a.pk}",
        f"#{lot_b.pk}",
        "82,333.33",  # lot A's carrying value
        "53,666.67",
        "132,500.00",  # cost
        "136,000.00",  # carrying value
        "17,500.00",  # realized gain against cost
        "14,000.00",  # gain on carrying value
        "315",  # days held
        'name="_confirm"',
    ):
        assert text in html, text

    response = record_sale(client, "_confirm")
    sale = Sale.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("sale_change", sale.pk)
    assert (sale.cost, sale.realized_gain, sale.created_by.username) == (
        D("132500.00"),
        D("17500.00"),
        "staff",
    )
    detail = client.get(response["Location"]).content.decode()
    assert "T-1" in detail and "82,333.33" in detail and "Save" not in detail
    followed = client.get(url("sale_changelist")).content.decode()
    assert "T-1" in followed


def test_specific_identification_in_the_form(as_role, treasury_world):
    client = as_role("approver")
    lot_b = Lot.objects.get(account__code="1210-COLD-1", original_quantity=2)
    response = record_sale(
        client,
        "_confirm",
        units="0.5",
        proceeds_commodity="USD",
        gross_proceeds="50000",
        fee="0",
        proceeds_value="",
        proceeds_wallet="",
        lots=f"{lot_b.pk}:0.5",
    )
    assert response.status_code == 302, response.content.decode()
    sale = Sale.objects.get()
    assert sale.method == "specific"
    assert [d.lot_id for d in sale.disposals.all()] == [lot_b.pk]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"units": "3.5"}, "wallet COLD-1 held 3.00000000 BTC"),
        ({"units": "0.123456789"}, "more than 8 decimals"),
        ({"sold_at": "2026-01-10T15:30:00"}, "must be in UTC"),
        ({"proceeds_wallet": ""}, "USDT proceeds need the wallet"),
        ({"lots": "not a lot"}, "write lot id:units"),
        ({"lots": "999999:1.5"}, "lot 999999 is not an open lot"),
        ({"wallet": "NOPE"}, "Select a valid choice"),
    ],
)
@pytest.mark.parametrize("button", ["_preview", "_confirm"])
def test_a_refused_sale_shows_why_on_the_form_and_writes_nothing(
    as_role, treasury_world, changes, message, button
):
    client = as_role("staff")
    before = written()
    response = record_sale(client, button, **changes)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert written() == before


def test_a_duplicate_reference_is_refused_on_confirm(as_role, treasury_world):
    client = as_role("staff")
    assert record_sale(client, "_confirm", units="0.5").status_code == 302
    before = written()
    response = record_sale(client, "_confirm", units="0.5")
    assert response.status_code == 200
    assert "sale T-1 is already recorded" in response.content.decode()
    assert written() == before


def test_recording_a_transfer(as_role, treasury_world):
    client = as_role("staff")
    page = client.get(url("transfer_add")).content.decode()
    assert "Record a transfer" in page
    response = client.post(url("transfer_add"), {**TRANSFER_FORM, "_confirm": "x"})
    record = Transfer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("transfer_change", record.pk)
    assert record.created_by.username == "staff"
    detail = client.get(response["Location"]).content.decode()
    assert "network fee disposals" in detail.lower() and "8.23" in detail
    before = written()
    again = client.post(url("transfer_add"), {**TRANSFER_FORM, "_confirm": "x"})
    assert again.status_code == 200 and "already recorded" in again.content.decode()
    same = client.post(url("transfer_add"), {**TRANSFER_FORM, "to_wallet": "COLD-1"})
    assert same.status_code == 200 and "two different wallets" in same.content.decode()
    assert written() == before


@pytest.mark.parametrize("role", ["superuser", "staff", "approver", "auditor"])
def test_sales_transfers_and_disposals_are_read_only_for_every_role(as_role, role, treasury_world):
    staff = as_role("staff")
    assert record_sale(staff, "_confirm").status_code == 302
    assert staff.post(url("transfer_add"), {**TRANSFER_FORM, "_confirm": "x"}).status_code == 302
    client = as_role(role)
    sale, record, disposal = Sale.objects.get(), Transfer.objects.get(), Disposal.objects.first()
    for name, obj in (("sale", sale), ("transfer", record), ("disposal", disposal)):
        assert client.get(url(f"{name}_changelist")).status_code == 200, name
        detail = client.get(url(f"{name}_change", obj.pk))
        assert detail.status_code == 200, name
        assert 'name="_save"' not in detail.content.decode(), name
        assert client.post(url(f"{name}_change", obj.pk), {}).status_code == 403, name
        assert client.post(url(f"{name}_delete", obj.pk), {"post": "yes"}).status_code == 403
    assert client.get(url("disposal_add")).status_code == 403


def test_auditors_and_users_without_a_role_cannot_record(as_role, treasury_world):
    before = written()
    for role in ("auditor", "no_role"):
        client = as_role(role)
        assert client.get(url("sale_add")).status_code == 403
        assert record_sale(client, "_preview").status_code == 403
        assert record_sale(client, "_confirm").status_code == 403
        assert client.post(url("transfer_add"), TRANSFER_FORM).status_code == 403
    assert written() == before
    changelist = as_role("auditor").get(url("sale_changelist")).content.decode()
    assert url("sale_add") not in changelist
