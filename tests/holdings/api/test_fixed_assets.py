"""Fixed assets through the API: every role reads, finance staff and approvers record, only
an approver impairs; a life from deposit to disposal against hand-computed figures; bad
input refused naming the field with nothing written; Idempotency-Key replays."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from holdings.models import AssetEvent, FixedAsset, VendorDeposit
from holdings.services import setup
from ledger import selectors as ledger_selectors
from ledger import services as ledger_services
from ledger.models import JournalEntry
from tests.ledger.api.test_entries import assert_error

pytestmark = pytest.mark.django_db
API = "/api/v1"
D = Decimal
ROLES = ["anonymous", "no_role", "auditor", "staff", "approver"]
READ_STATUS = {"anonymous": 401, "no_role": 403, "auditor": 200, "staff": 200, "approver": 200}
WRITE_STATUS = {"anonymous": 401, "no_role": 403, "auditor": 403, "staff": 201, "approver": 201}
RECEIPT = {
    "code": "M-1",
    "asset_class": "ASIC",
    "cost": "36000.00",
    "received_on": "2025-01-01",
    "units": 100,
    "power_kw": "350",
    "description": "S21",
}


@pytest.fixture
def site(chart):
    ledger_services.entry_post(
        effective_date=date(2024, 12, 1),
        memo="Capital",
        postings=[("1000", D("100000.00"), D("100000.00")), ("3000", -D("100000"), -D("100000"))],
    )
    return setup.site_create(code="SITE-A", name="A", region="NA", deployed_hashrate_hs="1")


def balance(code: str, as_of: date = date(2030, 12, 31)) -> Decimal:
    return ledger_selectors.account_balance(account=code, as_of=as_of).value


def post(client, url: str, body: dict, **headers):
    return client.post(f"{API}/{url}", body, format="json", **headers)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_and_finance_staff_and_approvers_record(site, api_client_for, role):
    client = api_client_for(role)
    for url in ("fixed-assets/", "vendor-deposits/"):
        assert client.get(f"{API}/{url}").status_code == READ_STATUS[role]
    response = post(client, "fixed-assets/", RECEIPT)
    assert response.status_code == WRITE_STATUS[role], response.content
    assert FixedAsset.objects.count() == (1 if WRITE_STATUS[role] == 201 else 0)
    if WRITE_STATUS[role] == 201:
        for url in ("fixed-assets/M-1/", "fixed-assets/M-1/events/"):
            assert client.get(f"{API}/{url}").status_code == 200


def test_an_asset_from_deposit_to_disposal(site, api_client_for):
    staff, approver = api_client_for("staff"), api_client_for("approver")
    deposit = post(
        staff,
        "vendor-deposits/",
        {"vendor": "Bitmain", "reference": "DEP-1", "amount": "10000.00", "paid_on": "2024-12-15"},
    )
    assert deposit.status_code == 201, deposit.content
    assert deposit.json()["left"] == "10000.00" and deposit.json()["cancellation"] is None
    received = post(
        staff, "fixed-assets/", {**RECEIPT, "deposit": "DEP-1", "deposit_applied": "10000.00"}
    )
    assert received.status_code == 201, received.content
    asset = received.json()
    assert (asset["cost"], asset["deposit"], asset["power_kw"]) == ("36000.00", "DEP-1", "350.000")
    assert asset["state"]["net_book_value"] == "36000.00" and asset["site"] is None
    assert balance("1600") == D("36000.00") and balance("1500") == D("0.00")
    assert balance("2210") == D("-26000.00")
    assert staff.get(f"{API}/vendor-deposits/").json()["results"][0]["left"] == "0.00"

    placed = post(staff, "fixed-assets/M-1/in-service/", {"site": "SITE-A", "on": "2025-01-01"})
    assert placed.status_code == 201, placed.content
    assert placed.json()["kind"] == "in_service" and placed.json()["useful_life_months"] == 36
    run = post(staff, "fixed-assets/depreciation/", {"through": "2025-03-31"})
    assert run.status_code == 201
    assert [(e["month"], e["amount"]) for e in run.json()] == [
        ("2025-01-01", "1000.00"),
        ("2025-02-01", "1000.00"),
        ("2025-03-01", "1000.00"),
    ]
    again = post(staff, "fixed-assets/depreciation/", {"through": "2025-03-31"})
    assert again.status_code == 200 and again.json() == []

    # 33,000.00 left over the 21 months left of a 24-month life: 1,571.43 for April.
    new_life = {"from_month": "2025-04-01", "useful_life_months": 24}
    life = post(staff, "fixed-assets/M-1/life-changes/", new_life)
    assert life.status_code == 201, life.content
    (april,) = post(staff, "fixed-assets/depreciation/", {"through": "2025-04-30"}).json()
    assert april["amount"] == "1571.43"

    impairment = {"on": "2025-04-30", "fair_value": "20000.00", "evidence": "Quote Q-7"}
    assert_error(post(staff, "fixed-assets/M-1/impairments/", impairment), 403, None)
    impaired = post(approver, "fixed-assets/M-1/impairments/", impairment)
    assert impaired.status_code == 201, impaired.content
    # Net book value 36,000.00 - 4,571.43 = 31,428.57 written down to 20,000.00.
    assert (impaired.json()["amount"], impaired.json()["accumulated"]) == ("11428.57", "4571.43")
    assert balance("5500-SITE-A") == D("11428.57") and balance("1600") == D("20000.00")

    # Sold on 16 May: 15 of May's 31 days of 20,000.00 over the 20 months left = 483.87.
    sold = post(staff, "fixed-assets/M-1/disposals/", {"on": "2025-05-16", "proceeds": "15000.00"})
    assert sold.status_code == 201, sold.content
    assert (sold.json()["carrying_value"], sold.json()["amount"]) == ("19516.13", "-4516.13")
    assert balance("1600") == D("0.00") and balance("1690") == D("0.00")
    assert balance("4300") == D("4516.13")

    shown = staff.get(f"{API}/fixed-assets/M-1/").json()
    assert shown["disposed_on"] == "2025-05-16" and shown["state"]["disposed_on"] == "2025-05-16"
    events = staff.get(f"{API}/fixed-assets/M-1/events/").json()["results"]
    assert [e["kind"] for e in events] == [
        "in_service",
        *["depreciation"] * 3,
        "life_change",
        "depreciation",
        "impairment",
        "depreciation",
        "disposal",
    ]
    at_march = staff.get(f"{API}/fixed-assets/", {"as_of": "2025-03-31"}).json()["results"][0]
    assert at_march["state"]["accumulated"] == "3000.00"
    assert at_march["state"]["net_book_value"] == "33000.00"


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("fixed-assets/", {**RECEIPT, "cost": "1.001"}, "cost"),
        ("fixed-assets/", {**RECEIPT, "cost": "0.00"}, "cost"),
        ("fixed-assets/", {**RECEIPT, "asset_class": "NOPE"}, "asset_class"),
        ("fixed-assets/", {**RECEIPT, "code": "bad code"}, "code"),
        ("fixed-assets/", {**RECEIPT, "deposit": "DEP-X"}, "deposit"),
        ("fixed-assets/", {**RECEIPT, "deposit_applied": "5.00"}, "deposit"),
        ("fixed-assets/", {**RECEIPT, "received_on": "9999-12-31"}, "received_on"),
        ("fixed-assets/", {**RECEIPT, "colour": "red"}, "colour"),
        ("fixed-assets/", {**RECEIPT, "power_kw": 350}, "power_kw"),
        ("fixed-assets/", {**RECEIPT, "power_kw": "-1"}, "power_kw"),
        ("fixed-assets/", {**RECEIPT, "hashrate_ths": "1.0001"}, "hashrate_ths"),
        ("fixed-assets/", {**RECEIPT, "units": 2_147_483_648}, "units"),
        ("vendor-deposits/", {"vendor": "V", "reference": "R", "amount": "-1.00"}, "paid_on"),
        (
            "vendor-deposits/",
            {"vendor": "V", "reference": "R", "amount": "-1.00", "paid_on": "2025-01-01"},
            "amount",
        ),
    ],
)
def test_bad_receipts_and_deposits_are_refused_naming_the_field(
    site, api_client_for, url, body, field
):
    before = JournalEntry.objects.count()
    assert_error(post(api_client_for("staff"), url, body), 400, field)
    assert JournalEntry.objects.count() == before
    assert not FixedAsset.objects.exists() and not VendorDeposit.objects.exists()


@pytest.fixture
def in_service(site, api_client_for):
    staff = api_client_for("staff")
    assert post(staff, "fixed-assets/", RECEIPT).status_code == 201
    placed = post(staff, "fixed-assets/M-1/in-service/", {"site": "SITE-A", "on": "2025-01-01"})
    assert placed.status_code == 201
    return staff


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("in-service/", {"site": "SITE-A", "on": "2025-02-01"}, "on"),
        ("life-changes/", {"from_month": "2025-03-15", "useful_life_months": 24}, "from_month"),
        (
            "life-changes/",
            {"from_month": "2025-03-01", "useful_life_months": 0},
            "useful_life_months",
        ),
        ("disposals/", {"on": "2025-03-16", "proceeds": "1.00"}, "on"),
        ("disposals/", {"on": "2025-01-16", "proceeds": "1.001"}, "proceeds"),
    ],
)
def test_bad_events_are_refused_naming_the_field(in_service, url, body, field):
    before = (JournalEntry.objects.count(), AssetEvent.objects.count())
    assert_error(post(in_service, f"fixed-assets/M-1/{url}", body), 400, field)
    assert (JournalEntry.objects.count(), AssetEvent.objects.count()) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"on": "2025-01-31", "fair_value": "1000.00", "evidence": " "}, "evidence"),
        ({"on": "2025-01-31", "fair_value": "1000.00"}, "evidence"),
        ({"on": "2025-01-30", "fair_value": "1000.00", "evidence": "Quote"}, "on"),
        ({"on": "2025-01-31", "fair_value": "40000.00", "evidence": "Quote"}, "fair_value"),
    ],
)
def test_an_impairment_needs_its_evidence_a_month_end_and_a_lower_value(
    in_service, api_client_for, body, field
):
    post(in_service, "fixed-assets/depreciation/", {"through": "2025-01-31"})
    before = (JournalEntry.objects.count(), AssetEvent.objects.count())
    approver = api_client_for("approver")
    assert_error(post(approver, "fixed-assets/M-1/impairments/", body), 400, field)
    assert (JournalEntry.objects.count(), AssetEvent.objects.count()) == before


def test_an_unknown_asset_is_a_404(site, api_client_for):
    staff = api_client_for("staff")
    assert staff.get(f"{API}/fixed-assets/NOPE/").status_code == 404
    assert staff.get(f"{API}/fixed-assets/NOPE/events/").status_code == 404
    body = {"on": "2025-01-16", "proceeds": "1.00"}
    assert post(staff, "fixed-assets/NOPE/disposals/", body).status_code == 404


def test_an_idempotency_key_replays_and_refuses_other_content(site, api_client_for):
    staff = api_client_for("staff")
    first = post(staff, "fixed-assets/", RECEIPT, HTTP_IDEMPOTENCY_KEY="receipt-1")
    assert first.status_code == 201
    again = post(staff, "fixed-assets/", RECEIPT, HTTP_IDEMPOTENCY_KEY="receipt-1")
    assert again.status_code == 200 and again.json()["code"] == "M-1"
    other = post(
        staff, "fixed-assets/", {**RECEIPT, "code": "M-2"}, HTTP_IDEMPOTENCY_KEY="receipt-1"
    )
    assert_error(other, 409, "idempotency_key")
    assert FixedAsset.objects.count() == 1
    # Without a key, the same code again is refused.
    assert_error(post(staff, "fixed-assets/", RECEIPT), 400, "code")
    sold = {"on": "2025-01-20", "proceeds": "100.00"}
    first = post(staff, "fixed-assets/M-1/disposals/", sold, HTTP_IDEMPOTENCY_KEY="sale-1")
    again = post(staff, "fixed-assets/M-1/disposals/", sold, HTTP_IDEMPOTENCY_KEY="sale-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]


def test_a_cancelled_receipt_shows_its_cancellation(site, api_client_for, approver_user):
    staff = api_client_for("staff")
    post(staff, "fixed-assets/", RECEIPT)
    entry = FixedAsset.objects.get().receipt_entry
    response = post(
        staff,
        "cancellations/",
        {"entry": entry.pk, "effective_date": "2025-01-02", "reason": "Entered twice"},
    )
    assert response.status_code == 201, response.content
    shown = staff.get(f"{API}/fixed-assets/M-1/").json()
    assert shown["receipt_cancellation"]["status"] == response.json()["status"]


def test_the_asset_list_reads_every_assets_events_in_one_query(site, api_client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from holdings.services import fixed_assets

    def machines(code: str) -> None:
        fixed_assets.asset_receive(
            code=code, asset_class="ASIC", cost=D("3600.00"), received_on=date(2025, 1, 1)
        )
        fixed_assets.asset_place_in_service(asset=code, site=site, on=date(2025, 1, 1))

    client = api_client_for("auditor")

    def listed() -> tuple[int, list[dict]]:
        client.get(f"{API}/fixed-assets/")  # the log-in and the first read settled
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{API}/fixed-assets/", {"as_of": "2025-03-31"})
        assert response.status_code == 200, response.content
        return len(queries), response.json()["results"]

    machines("M-1")
    fixed_assets.depreciation_run(through=date(2025, 3, 31))
    few, _ = listed()
    for n in range(2, 7):
        machines(f"M-{n}")
    fixed_assets.depreciation_run(through=date(2025, 3, 31))
    many, rows = listed()
    assert many == few
    # Each asset's state from its own events: three months of 100.00.
    assert {row["code"]: row["state"]["accumulated"] for row in rows} == {
        f"M-{n}": "300.00" for n in range(1, 7)
    }


def test_the_deposit_list_reads_what_is_left_of_each_in_the_same_query(site, api_client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from holdings.services import fixed_assets

    client = api_client_for("auditor")

    def listed() -> tuple[int, dict[str, str]]:
        client.get(f"{API}/vendor-deposits/")  # the log-in and the first read settled
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{API}/vendor-deposits/")
        assert response.status_code == 200, response.content
        return len(queries), {r["reference"]: r["left"] for r in response.json()["results"]}

    def deposit(n: int) -> None:
        fixed_assets.vendor_deposit_record(
            vendor="Bitmain", reference=f"DEP-{n}", amount=D("1000.00"), paid_on=date(2025, 1, 1)
        )

    deposit(1)
    few, _ = listed()
    for n in range(2, 6):
        deposit(n)
    fixed_assets.asset_receive(
        code="M-1",
        asset_class="ASIC",
        cost=D("3600.00"),
        received_on=date(2025, 2, 1),
        deposit="DEP-2",
        deposit_applied=D("400.00"),
    )
    many, left = listed()
    assert many == few
    assert left == {f"DEP-{n}": ("600.00" if n == 2 else "1000.00") for n in range(1, 6)}
