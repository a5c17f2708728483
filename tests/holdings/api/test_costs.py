"""The site costs' endpoints and the cost-to-mine report: every role, files imported all or
nothing with every problem named, the report in JSON and CSV."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from holdings.models import AssetClass, SiteCost
from holdings.services import setup
from tests.holdings.selectors.test_costs import cost_world  # noqa: F401
from tests.ledger.api.test_entries import assert_error

pytestmark = pytest.mark.django_db
API = "/api/v1"
ROLES = ["anonymous", "no_role", "auditor", "staff", "approver"]
READ_STATUS = {"anonymous": 401, "no_role": 403, "auditor": 200, "staff": 200, "approver": 200}
WRITE_STATUS = {"anonymous": 401, "no_role": 403, "auditor": 403, "staff": 201, "approver": 201}

ONE_INVOICE = (
    b"site,kind,reference,period_start,period_end,amount,hosting_basis\n"
    b"SITE-A,hosting,H-1,2025-07-01,2025-07-31,100.00,fixed\n"
)


@pytest.fixture
def site(chart):
    return setup.site_create(code="SITE-A", name="A", region="NA", deployed_hashrate_hs="1")


def send(client, url: str, content: bytes, name: str = "invoices.csv"):
    upload = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(f"{API}/{url}", {"file": upload}, format="multipart")


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_and_finance_staff_and_approvers_import(site, api_client_for, role):
    client = api_client_for(role)
    for url in ("site-costs/", "meter-readings/"):
        assert client.get(f"{API}/{url}").status_code == READ_STATUS[role]
    response = send(client, "site-costs/", ONE_INVOICE)
    assert response.status_code == WRITE_STATUS[role], response.content
    assert SiteCost.objects.count() == (1 if WRITE_STATUS[role] == 201 else 0)


def test_an_imported_file_is_listed_and_the_same_file_again_changes_nothing(site, api_client_for):
    client = api_client_for("staff")
    first = send(client, "site-costs/", ONE_INVOICE)
    assert first.status_code == 201 and first.json()["rows"] == 1
    again = send(client, "site-costs/", ONE_INVOICE)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    listed = client.get(f"{API}/site-costs/", {"site": "SITE-A", "start": "2025-07-31"}).json()
    (cost,) = listed["results"]
    assert cost["amount"] == "100.00" and cost["status"] == "posted" and cost["entry"]
    assert client.get(f"{API}/site-costs/", {"end": "2025-07-30"}).json()["results"] == []
    assert_error(client.get(f"{API}/site-costs/", {"site": "NOPE"}), 400, "site")


def test_a_bad_file_is_refused_naming_each_row_and_field_and_nothing_is_written(
    site, api_client_for
):
    content = ONE_INVOICE + b"SITE-Z,hosting,H-2,2025-07-01,2025-07-31,1.001,weekly\n"
    body = assert_error(
        send(api_client_for("staff"), "site-costs/", content), 400, "file", "import_failed"
    )
    details = [e["detail"] for e in body["errors"]]
    assert "invoices.csv, row 3, field amount: 1.001 has more decimal places" in details[0]
    assert any("row 3, field hosting_basis" in d for d in details)
    assert not SiteCost.objects.exists()
    unknown_site = ONE_INVOICE + b"SITE-Z,hosting,H-2,2025-07-01,2025-07-31,1.00,fixed\n"
    body = assert_error(send(api_client_for("staff"), "site-costs/", unknown_site), 400, "file")
    assert body["detail"] == "invoices.csv, row 3, field site: no site 'SITE-Z'"
    assert not SiteCost.objects.exists()
    assert_error(send(api_client_for("staff"), "site-costs/", b""), 400, "file")


def test_meter_readings_are_imported(site, api_client_for):
    content = b"site,period_start,period_end,kwh\nSITE-A,2025-07-01,2025-07-31,1000.5\n"
    response = send(api_client_for("approver"), "meter-readings/", content, "meters.csv")
    assert response.status_code == 201, response.content
    (reading,) = api_client_for("auditor").get(f"{API}/meter-readings/").json()["results"]
    assert reading["kwh"] == "1000.500" and reading["hpc_kwh"] == "0.000"


@pytest.mark.parametrize("role", ROLES)
def test_the_cost_to_mine_report_for_every_role(cost_world, api_client_for, role):  # noqa: F811
    response = api_client_for(role).get(
        f"{API}/reports/cost-to-mine/", {"start": "2025-07-01", "end": "2025-08-31"}
    )
    assert response.status_code == READ_STATUS[role]


def test_the_cost_to_mine_report_by_month_in_json_and_csv(cost_world, api_client_for):  # noqa: F811
    client = api_client_for("auditor")
    query = {"start": "2025-07-01", "end": "2025-08-31", "group_by": "month"}
    body = client.get(f"{API}/reports/cost-to-mine/", query).json()
    assert [row["label"] for row in body["results"]] == ["2025-07", "2025-08"]
    july = body["results"][0]
    assert july["btc_mined"] == "2.50000000"
    assert (july["cash_cost_per_btc"], july["all_in_cost_per_btc"]) == ("80000.00", "80400.00")
    assert july["power_credits"] == "15000.00" and july["extras"] == []
    assert body["total"]["cash_cost"] == "300000.00"
    assert "BTC mined" in body["definitions"]["cash_cost_per_btc"]
    response = client.get(f"{API}/reports/cost-to-mine/", {**query, "format": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["label"] for row in rows] == ["2025-07", "2025-08", "Total"]
    assert rows[0]["cash_cost_per_btc"] == "80000.00"
    assert rows[2]["cash_cost"] == "300000.00"
    by_site = client.get(
        f"{API}/reports/cost-to-mine/",
        {"start": "2025-07-01", "end": "2025-07-31", "group_by": "site", "site": "SITE-B"},
    ).json()
    assert [row["label"] for row in by_site["results"]] == ["SITE-B"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2025-07-01"}, "end"),
        ({"start": "2025-07-31", "end": "2025-07-01"}, "end"),
        ({"start": "2025-07-01", "end": "2025-07-31", "group_by": "week"}, "group_by"),
        ({"start": "2025-07-01", "end": "2025-07-31", "site": "NOPE"}, "site"),
        ({"start": "2025-07-01", "end": "2025-07-31", "pool": "x"}, "pool"),
        ({"start": "1900-01-01", "end": "2025-07-31", "group_by": "month"}, "end"),
    ],
)
def test_bad_report_queries_are_refused_naming_the_parameter(chart, api_client_for, query, field):
    response = api_client_for("staff").get(f"{API}/reports/cost-to-mine/", query)
    assert_error(response, 400, field)


def test_the_published_quarter_shape(cost_world, api_client_for):  # noqa: F811
    body = (
        api_client_for("staff")
        .get(
            f"{API}/reports/cost-to-mine/",
            {"start": "2025-07-01", "end": "2025-09-30", "group_by": "quarter"},
        )
        .json()
    )
    (q3,) = body["results"]
    assert q3["label"] == "2025-Q3" and q3["start"] == "2025-07-01"
    assert q3["end"] == date(2025, 9, 30).isoformat()


@pytest.mark.parametrize("role", ROLES)
def test_the_fixed_assets_report_ties_to_the_trial_balance(cost_world, api_client_for, role):  # noqa: F811
    client = api_client_for(role)
    query = {"start": "2025-07-01", "end": "2025-08-31"}
    response = client.get(f"{API}/reports/fixed-assets/", query)
    assert response.status_code == READ_STATUS[role]
    if response.status_code != 200:
        return
    body = response.json()
    (asset,) = body["register"]
    assert (asset["code"], asset["site"], asset["cost"], asset["accumulated"]) == (
        "M-1",
        "SITE-A",
        "36000.00",
        "2000.00",
    )
    assert asset["net_book_value"] == "34000.00" and asset["life_end"] == "2028-07-01"
    asic = next(line for line in body["rollforward"] if line["asset_class"] == "ASIC")
    assert (asic["opening_cost"], asic["additions"], asic["closing_cost"]) == (
        "0.00",
        "36000.00",
        "36000.00",
    )
    assert asic["depreciation"] == "2000.00" and asic["ledger_accumulated"] == "2000.00"
    assert all(line["ties_to_trial_balance"] for line in body["rollforward"])
    csv_rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    f"{API}/reports/fixed-assets/", {**query, "format": "csv"}
                ).content.decode()
            )
        )
    )
    assert [row["asset_class"] for row in csv_rows] == ["ASIC", "GPU"]
    assert_error(client.get(f"{API}/reports/fixed-assets/", {"start": "2025-07-01"}), 400, "end")


def test_an_asset_class_naming_an_account_the_chart_lacks_reads_as_holding_nothing(
    cost_world,  # noqa: F811
    api_client_for,
):
    """A ledger upgraded from a release whose chart lacked an asset class's accounts (until
    `load_chart` adds them) answered the report with a 500."""
    AssetClass.objects.create(
        code="IMMERSION",
        name="Immersion tanks",
        cost_account="1620",
        accumulated_account="1696",
        expense_account="5110",
        useful_life_months=60,
    )
    response = api_client_for("auditor").get(
        f"{API}/reports/fixed-assets/", {"start": "2025-07-01", "end": "2025-08-31"}
    )
    assert response.status_code == 200
    line = next(x for x in response.json()["rollforward"] if x["asset_class"] == "IMMERSION")
    assert (line["closing_cost"], line["ledger_cost"], line["ledger_accumulated"]) == (
        "0.00",
        "0.00",
        "0.00",
    )
    assert line["ties_to_trial_balance"]


@pytest.mark.parametrize("role", ROLES)
def test_gross_profit_by_segment(cost_world, api_client_for, role):  # noqa: F811
    client = api_client_for(role)
    query = {"start": "2025-07-01", "end": "2025-07-31"}
    response = client.get(f"{API}/reports/gross-profit/", query)
    assert response.status_code == READ_STATUS[role]
    if response.status_code != 200:
        return
    body = response.json()
    assert (body["revenue"], body["cost_of_revenue"], body["gross_profit"]) == (
        "250000.00",
        "200000.00",
        "50000.00",
    )
    assert body["depreciation"] == "1000.00"
    assert [(s["name"], s["gross_profit"]) for s in body["segments"]] == [
        ("Mining", "50000.00"),
        ("HPC", "0.00"),
    ]
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    f"{API}/reports/gross-profit/", {**query, "format": "csv"}
                ).content.decode()
            )
        )
    )
    assert [(r["name"], r["gross_profit"]) for r in rows] == [
        ("Mining", "50000.00"),
        ("HPC", "0.00"),
        ("Total", "50000.00"),
    ]


TYPED = {
    "site": "SITE-A",
    "kind": "power",
    "reference": "P-9",
    "period_start": "2025-07-01",
    "period_end": "2025-07-31",
    "energy": "1000.00",
    "credits": "100.00",
    "kwh": "20000",
}


@pytest.mark.parametrize("role", ROLES)
def test_an_invoice_typed_through_the_api_for_every_role(site, api_client_for, role):
    response = api_client_for(role).post(f"{API}/site-costs/typed/", TYPED, format="json")
    assert response.status_code == WRITE_STATUS[role], response.content
    if response.status_code == 201:
        body = response.json()
        assert (body["status"], body["amount"], body["entry"]) == ("submitted", "900.00", None)


def test_a_typed_invoice_is_checked_then_approved_by_another_person(
    site, api_client_for, staff_user
):
    staff = api_client_for("staff")
    bad = {**TYPED, "period_end": "2025-06-30", "credits": "1.001", "hosting_basis": "per_kw"}
    body = assert_error(staff.post(f"{API}/site-costs/typed/", bad, format="json"), 400, None)
    assert {e["field"] for e in body["errors"]} == {"period_end", "credits", "hosting_basis"}
    assert_error(
        staff.post(f"{API}/site-costs/typed/", {**TYPED, "colour": "red"}, format="json"),
        400,
        "colour",
    )
    assert_error(
        staff.post(f"{API}/site-costs/typed/", {**TYPED, "site": "NOPE"}, format="json"),
        400,
        "site",
    )
    assert not SiteCost.objects.exists()
    cost = staff.post(f"{API}/site-costs/typed/", TYPED, format="json").json()
    approve = f"{API}/site-costs/{cost['id']}/approve/"
    assert_error(staff.post(approve), 403, None)
    approver = api_client_for("approver")
    posted = approver.post(approve)
    assert posted.status_code == 200, posted.content
    assert posted.json()["status"] == "posted" and posted.json()["entry"]
    assert_error(approver.post(approve), 409, "status")
    second = staff.post(
        f"{API}/site-costs/typed/", {**TYPED, "reference": "P-10"}, format="json"
    ).json()
    reject = f"{API}/site-costs/{second['id']}/reject/"
    assert_error(approver.post(reject, {}, format="json"), 400, "reason")
    rejected = approver.post(reject, {"reason": "a duplicate"}, format="json")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert api_client_for("staff").post(f"{API}/site-costs/999999/approve/").status_code == 403
    assert approver.post(f"{API}/site-costs/999999/approve/").status_code == 404


def test_the_cost_to_mine_by_pool_in_json_and_csv(cost_world, api_client_for):  # noqa: F811
    client = api_client_for("auditor")
    query = {"start": "2025-07-01", "end": "2025-07-31", "group_by": "pool"}
    body = client.get(f"{API}/reports/cost-to-mine/", query).json()
    (row,) = body["results"]
    assert (row["label"], row["pool"], row["btc_mined"]) == ("other", "other", "2.50000000")
    assert row["cash_cost"] == body["total"]["cash_cost"] == "200000.00"
    assert "in proportion to the BTC" in body["definitions"]["pool"]
    response = client.get(f"{API}/reports/cost-to-mine/", {**query, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["label"], r["pool"]) for r in rows] == [("other", "other"), ("Total", "")]
    assert rows[0]["cash_cost_per_btc"] == "80000.00"
