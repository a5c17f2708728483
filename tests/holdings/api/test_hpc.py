"""HPC contracts and their monthly revenue through the API: every role reads, finance staff
and approvers record; a month's revenue run once; bad input named, nothing written."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from holdings.models import HpcContract, HpcRevenue
from holdings.services import setup
from ledger import selectors as ledger_selectors
from ledger.models import JournalEntry
from tests.ledger.api.test_entries import assert_error

pytestmark = pytest.mark.django_db
API = "/api/v1"
ROLES = ["anonymous", "no_role", "auditor", "staff", "approver"]
READ_STATUS = {"anonymous": 401, "no_role": 403, "auditor": 200, "staff": 200, "approver": 200}
WRITE_STATUS = {"anonymous": 401, "no_role": 403, "auditor": 403, "staff": 201, "approver": 201}
CONTRACT = {
    "code": "HPC-1",
    "customer": "Compute Co",
    "site": "SITE-H",
    "capacity_mw": "2",
    "monthly_fee": "310000.00",
    "usage_rate": "0.05",
    "start": "2025-01-15",
    "term_months": 12,
}


@pytest.fixture
def site(chart):
    return setup.site_create(code="SITE-H", name="H", region="NA", deployed_hashrate_hs="1")


def post(client, url: str, body: dict, **headers):
    return client.post(f"{API}/{url}", body, format="json", **headers)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_and_finance_staff_and_approvers_record(site, api_client_for, role):
    client = api_client_for(role)
    for url in ("hpc-contracts/", "hpc-revenue/"):
        assert client.get(f"{API}/{url}").status_code == READ_STATUS[role]
    assert post(client, "hpc-contracts/", CONTRACT).status_code == WRITE_STATUS[role]
    run = post(client, "hpc-revenue/", {"month": "2025-01-01"})
    assert run.status_code == WRITE_STATUS[role], run.content
    assert HpcRevenue.objects.count() == (1 if WRITE_STATUS[role] == 201 else 0)


def test_a_contract_and_its_months_revenue(site, api_client_for):
    staff = api_client_for("staff")
    created = post(staff, "hpc-contracts/", CONTRACT, HTTP_IDEMPOTENCY_KEY="c-1")
    assert created.status_code == 201, created.content
    contract = created.json()
    assert (contract["capacity_mw"], contract["usage_rate"]) == ("2.000", "0.050000")
    assert contract["end"] == "2026-01-15" and contract["site"] == "SITE-H"
    replay = post(staff, "hpc-contracts/", CONTRACT, HTTP_IDEMPOTENCY_KEY="c-1")
    assert replay.status_code == 200 and HpcContract.objects.count() == 1
    # January: 17 days of 31 from the 15th, of a 310,000.00 month.
    run = post(staff, "hpc-revenue/", {"month": "2025-01-01"})
    assert run.status_code == 201, run.content
    (january,) = run.json()
    assert (january["contract"], january["days"], january["fixed_fee"]) == (
        "HPC-1",
        17,
        "170000.00",
    )
    assert january["amount"] == "170000.00" and january["cancellation"] is None
    balance = ledger_selectors.account_balance(account="1350", as_of=date(2025, 1, 31)).value
    assert balance == Decimal("170000.00")
    again = post(staff, "hpc-revenue/", {"month": "2025-01-01"})
    assert again.status_code == 200 and again.json() == []
    post(staff, "hpc-revenue/", {"month": "2025-02-01"})
    listed = staff.get(f"{API}/hpc-revenue/", {"contract": "HPC-1"}).json()["results"]
    assert [r["month"] for r in listed] == ["2025-02-01", "2025-01-01"]
    assert_error(staff.get(f"{API}/hpc-revenue/", {"contract": "NOPE"}), 400, "contract")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**CONTRACT, "site": "NOPE"}, "site"),
        ({**CONTRACT, "capacity_mw": "0"}, "capacity_mw"),
        ({**CONTRACT, "capacity_mw": "1.0001"}, "capacity_mw"),
        ({**CONTRACT, "monthly_fee": "-1.00"}, "monthly_fee"),
        ({**CONTRACT, "monthly_fee": 100}, "monthly_fee"),
        ({**CONTRACT, "usage_rate": "0.0000001"}, "usage_rate"),
        ({**CONTRACT, "term_months": 0}, "term_months"),
        ({**CONTRACT, "customer": " "}, "customer"),
        ({**CONTRACT, "code": "a b"}, "code"),
        ({**CONTRACT, "start": "2025-02-30"}, "start"),
        # Its term would end after the last date the ledger takes (9998-12-31).
        ({**CONTRACT, "start": "9990-01-01", "term_months": 600}, "start"),
        ({**CONTRACT, "start": "9998-12-01", "term_months": 1}, "start"),
        ({**CONTRACT, "rate": "1"}, "rate"),
    ],
)
def test_a_bad_contract_is_refused_naming_the_field(site, api_client_for, body, field):
    assert_error(post(api_client_for("staff"), "hpc-contracts/", body), 400, field)
    assert not HpcContract.objects.exists()


@pytest.mark.parametrize("month", ["2025-01-15", "9999-12-01", "2025-13-01", ""])
def test_a_bad_month_is_refused_naming_it(site, api_client_for, month):
    staff = api_client_for("staff")
    post(staff, "hpc-contracts/", CONTRACT)
    before = JournalEntry.objects.count()
    assert_error(post(staff, "hpc-revenue/", {"month": month}), 400, "month")
    assert JournalEntry.objects.count() == before


def test_a_code_used_already_is_refused(site, api_client_for):
    staff = api_client_for("staff")
    assert post(staff, "hpc-contracts/", CONTRACT).status_code == 201
    assert_error(post(staff, "hpc-contracts/", CONTRACT), 400, "code")
