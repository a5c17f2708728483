"""Site costs and fixed assets in the admin: pages per role, files imported, an invoice typed
then approved by another person, the cost-to-mine report with its drill-down to the
invoices, the income statement's gross profit and the fixed asset register."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from holdings.models import CostStatus, HpcContract, SiteCost
from holdings.services import setup
from tests.conftest import UserFactory
from tests.holdings.admin.test_dashboard_worklist import waiting
from tests.holdings.selectors.test_costs import cost_world  # noqa: F401

pytestmark = pytest.mark.django_db
D = Decimal
PAGES = (
    "holdings_sitecost",
    "holdings_meterreading",
    "holdings_fixedasset",
    "holdings_hpccontract",
    "holdings_hpcrevenue",
)


@pytest.fixture
def users(staff_user, approver_user, auditor_user, no_role_user):
    people = {
        "staff": staff_user,
        "approver": approver_user,
        "auditor": auditor_user,
        "no_role": no_role_user,
        "superuser": UserFactory(username="root", is_superuser=True, is_staff=True),
    }
    for user in people.values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return people


def as_user(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", ["superuser", "staff", "approver", "auditor", "no_role"])
def test_the_lists_for_every_role(cost_world, users, client, role):  # noqa: F811
    as_user(client, users[role])
    for page in PAGES:
        response = client.get(reverse(f"admin:{page}_changelist"))
        assert response.status_code == (403 if role == "no_role" else 200), page
    cost = SiteCost.objects.first()
    response = client.get(reverse("admin:holdings_sitecost_change", args=[cost.pk]))
    assert response.status_code == (403 if role == "no_role" else 200)


def test_a_file_is_imported_and_a_bad_one_named_by_row_and_field(users, client, chart):
    setup.site_create(code="SITE-A", name="A", region="NA", deployed_hashrate_hs="1")
    as_user(client, users["auditor"])
    url = reverse("admin:holdings_sitecost_import")
    assert client.get(url).status_code == 403
    as_user(client, users["staff"])
    bad = (
        b"site,kind,reference,period_start,period_end,amount\n"
        b"SITE-A,rent,R-1,2025-07-01,2025-07-31,5.00\n"
    )
    response = client.post(url, {"file": SimpleUploadedFile("bad.csv", bad)})
    assert response.status_code == 200
    assert "row 2, field kind" in response.content.decode()
    good = (
        b"site,kind,reference,period_start,period_end,amount,hosting_basis\n"
        b"SITE-A,hosting,H-1,2025-07-01,2025-07-31,5.00,fixed\n"
    )
    response = client.post(url, {"file": SimpleUploadedFile("good.csv", good)})
    assert response.status_code == 302
    assert SiteCost.objects.get().status == CostStatus.POSTED
    meters = reverse("admin:holdings_meterreading_import")
    content = b"site,period_start,period_end,kwh\nSITE-A,2025-07-01,2025-07-31,10\n"
    assert client.post(meters, {"file": SimpleUploadedFile("m.csv", content)}).status_code == 302


def test_a_typed_invoice_waits_for_another_persons_approval(users, client, chart):
    setup.site_create(code="SITE-A", name="A", region="NA", deployed_hashrate_hs="1")
    as_user(client, users["staff"])
    form = {
        "site": "SITE-A",
        "kind": "power",
        "reference": "P-1",
        "period_start": "2025-07-01",
        "period_end": "2025-07-31",
        "energy": "100.00",
        "credits": "200.00x",
    }
    response = client.post(reverse("admin:holdings_sitecost_add"), form)
    assert response.status_code == 200 and not SiteCost.objects.exists()
    assert "must be a number" in response.content.decode()
    response = client.post(reverse("admin:holdings_sitecost_add"), {**form, "credits": "10.00"})
    assert response.status_code == 302, response.content.decode()[:2000]
    cost = SiteCost.objects.get()
    assert cost.status == CostStatus.SUBMITTED and cost.amount == D("90.00")
    changelist = reverse("admin:holdings_sitecost_changelist")
    action = {"action": "approve", "_selected_action": [cost.pk]}
    client.post(changelist, action)  # staff have no such action
    cost.refresh_from_db()
    assert cost.status == CostStatus.SUBMITTED
    as_user(client, users["approver"])
    dashboard = waiting(client.get(reverse("admin:index")).content.decode())
    count, label, url = dashboard["invoices-approval"]
    assert (count, label) == (1, "Typed invoices waiting for your approval")
    assert "status__exact=submitted" in url and client.get(url).status_code == 200
    page = client.get(reverse("admin:holdings_sitecost_change", args=[cost.pk]))
    reject = reverse("admin:holdings_sitecost_reject", args=[cost.pk])
    assert reject in page.content.decode()
    assert client.post(changelist, action).status_code == 302
    cost.refresh_from_db()
    assert cost.status == CostStatus.POSTED and cost.entry.approved_by == users["approver"]
    page = client.get(reverse("admin:holdings_sitecost_change", args=[cost.pk]))
    assert reject not in page.content.decode()
    # A second typed invoice, rejected with a reason.
    as_user(client, users["staff"])
    client.post(reverse("admin:holdings_sitecost_add"), {**form, "reference": "P-2", "credits": ""})
    second = SiteCost.objects.get(reference="P-2")
    assert (
        client.get(reverse("admin:holdings_sitecost_reject", args=[second.pk])).status_code == 403
    )
    as_user(client, users["approver"])
    url = reverse("admin:holdings_sitecost_reject", args=[second.pk])
    assert client.post(url, {"reason": ""}).status_code == 200
    assert client.post(url, {"reason": "a duplicate of P-1"}).status_code == 302
    second.refresh_from_db()
    assert second.status == CostStatus.REJECTED and second.rejection_reason == "a duplicate of P-1"


def test_the_cost_to_mine_page_drills_down_to_the_invoices(cost_world, users, client):  # noqa: F811
    as_user(client, users["auditor"])
    url = reverse("admin:reports_cost_to_mine")
    response = client.get(url, {"start": "2025-07-01", "end": "2025-07-31", "group_by": "site"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "80000.00" in page and "95000.00" in page and "80400.00" in page
    assert "(power - power credits - power HPC took + hosting + other direct site costs)" in page
    drill = reverse("admin:holdings_sitecost_changelist") + (
        "?period_end__gte=2025-07-01&amp;period_end__lte=2025-07-31&amp;site__code=SITE-A"
    )
    assert drill in page
    listed = client.get(drill.replace("&amp;", "&"))
    assert listed.status_code == 200
    assert "P-07" in listed.content.decode() and "O-07" not in listed.content.decode()
    bad = client.get(url, {"start": "2025-07-01", "end": "2025-07-31", "group_by": "week"})
    assert bad.status_code == 400 and "group_by" in bad.content.decode()
    csv = client.get(url, {"start": "2025-07-01", "end": "2025-07-31", "format": "csv"})
    assert csv.status_code == 200 and "80000.00" in csv.content.decode()


def test_the_cost_to_mine_page_by_pool_says_how_costs_are_attributed(cost_world, users, client):  # noqa: F811
    as_user(client, users["auditor"])
    url = reverse("admin:reports_cost_to_mine")
    response = client.get(url, {"start": "2025-07-01", "end": "2025-07-31", "group_by": "pool"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "80000.00" in page and '<option value="pool"' in page.replace("'", '"')
    assert "in proportion to the BTC that site&#x27;s pool accounts mined" in page
    csv = client.get(
        url, {"start": "2025-07-01", "end": "2025-07-31", "group_by": "pool", "format": "csv"}
    )
    assert csv.status_code == 200 and "\nother," in csv.content.decode()


def test_the_income_statement_shows_gross_profit_and_the_register_ties(
    cost_world,  # noqa: F811
    users,
    client,
):
    as_user(client, users["approver"])
    response = client.get(
        reverse("admin:reports_income_statement"), {"start": "2025-07-01", "end": "2025-07-31"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Cost of revenue" in page and "Gross profit" in page and "50000.00" in page
    response = client.get(
        reverse("admin:reports_fixed_assets"), {"start": "2025-07-01", "end": "2025-08-31"}
    )
    page = response.content.decode()
    assert response.status_code == 200 and "M-1" in page
    assert "does not tie" not in page


def test_an_hpc_contract_is_recorded_by_finance_staff(users, client, chart):
    site = setup.site_create(code="SITE-A", name="A", region="NA", deployed_hashrate_hs="1")
    url = reverse("admin:holdings_hpccontract_add")
    as_user(client, users["auditor"])
    assert client.get(url).status_code == 403
    as_user(client, users["staff"])
    form = {
        "code": "HPC-1",
        "customer": "Compute Co",
        "site": site.pk,
        "capacity_mw": "2",
        "monthly_fee": "100.00",
        "usage_rate": "0.05",
        "start": "2025-01-15",
        "term_months": "12",
    }
    response = client.post(url, {**form, "capacity_mw": "0"})
    assert response.status_code == 200 and not HpcContract.objects.exists()
    response = client.post(url, form)
    assert response.status_code == 302
    contract = HpcContract.objects.get()
    assert contract.created_by == users["staff"] and contract.capacity_mw == D("2")


def test_the_dashboard_charts_the_cost_to_mine_against_the_price(
    cost_world,  # noqa: F811
    users,
    client,
):
    as_user(client, users["auditor"])
    page = client.get(reverse("admin:index"), {"as_of": "2025-08-31"}).content.decode()
    chart = page[page.index('id="dash-costs"') :]
    chart = chart[: chart.index("</section>")]
    assert chart.count('class="chart-bar"') == 6  # two months, three series
    assert "2025-07: cash cost 80,000 USD, all-in 80,400 USD, BTC price 100,000 USD" in chart
    # Before any cost is posted there is no such chart.
    page = client.get(reverse("admin:index"), {"as_of": "2025-07-30"}).content.decode()
    assert 'id="dash-costs"' not in page
