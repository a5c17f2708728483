"""The treasury API: sales (recorded and previewed), transfers and the realized gains report,
for every role; bad input refused naming the field with nothing written; the figures the
same as the services' and tied to the lots."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from holdings.models import Disposal, Lot, LotMovement, Sale, Transfer
from holdings.services import treasury
from ledger.models import JournalEntry, Posting
from ledger.services import period_close
from tests.holdings.services.test_treasury import SOLD_AT, holdings_at_fair_value
from tests.ledger.api.test_entries import assert_error

API = "/api/v1"
ROLES = ["anonymous", "no_role", "auditor", "staff", "approver"]
READ_STATUS = {"anonymous": 401, "no_role": 403, "auditor": 200, "staff": 200, "approver": 200}
D = Decimal
TXID = "ab" * 32
SENT_AT = "2026-01-05T08:00:00Z"

SALE = {
    "reference": "T-1",
    "wallet": "COLD-1",
    "units": "1.5",
    "sold_at": "2026-01-10T15:30:00Z",
    "proceeds_commodity": "USDT",
    "gross_proceeds": "150000",
    "fee": "150",
    "proceeds_value": "150000.00",
    "proceeds_wallet": "USDT-1",
}
TRANSFER = {
    "txid": TXID,
    "from_wallet": "COLD-1",
    "to_wallet": "HOT-1",
    "units": "0.5",
    "fee_units": "0.0001",
    "sent_at": SENT_AT,
}


def sale_body(**changes: Any) -> dict[str, Any]:
    body = {**SALE, **changes}
    return {key: value for key, value in body.items() if value is not ...}


def written() -> tuple[int, ...]:
    """Everything a sale or a transfer writes, counted."""
    return (
        JournalEntry.objects.count(),
        Posting.objects.count(),
        Sale.objects.count(),
        Transfer.objects.count(),
        Disposal.objects.count(),
        Lot.objects.count(),
        LotMovement.objects.count(),
    )


@pytest.fixture
def treasury_world(world):
    """3 BTC in COLD-1 (lot A 1 BTC at 80,000.00, lot B 2 BTC at 210,000.00) remeasured
    +7,000.00 at 2025-12-31, and an empty USDT wallet."""
    holdings_at_fair_value()
    return world


def post(client: Any, url: str, body: Any) -> Any:
    return client.post(f"{API}{url}", body, format="json")


# --- roles on every endpoint -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    "url",
    [
        "/sales/",
        "/sales/{sale}/",
        "/transfers/",
        "/reports/realized-gains/?start=2026-01-01&end=2026-01-31",
    ],
)
def test_every_read_endpoint_for_every_role(treasury_world, api_client_for, role, url):
    sale = treasury.sale_record(
        reference="R-1",
        wallet="COLD-1",
        units=D("0.1"),
        sold_at=SOLD_AT,
        proceeds_commodity="USD",
        gross_proceeds=D("10000.00"),
    )
    response = api_client_for(role).get(f"{API}{url.format(sale=sale.pk)}")
    assert response.status_code == READ_STATUS[role], response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 401), ("no_role", 403), ("auditor", 403), ("staff", 201), ("approver", 201)],
)
def test_record_a_sale_for_every_role(treasury_world, api_client_for, role, status):
    before = written()
    response = post(api_client_for(role), "/sales/", sale_body())
    assert response.status_code == status, response.content
    if status == 201:
        assert Sale.objects.get().created_by.username == role
        assert response["Location"].endswith(f"/api/v1/sales/{response.json()['id']}/")
    else:
        assert written() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 401), ("no_role", 403), ("auditor", 403), ("staff", 200), ("approver", 200)],
)
def test_preview_a_sale_for_every_role(treasury_world, api_client_for, role, status):
    before = written()
    response = post(api_client_for(role), "/sales/preview/", sale_body())
    assert response.status_code == status, response.content
    assert written() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [("anonymous", 401), ("no_role", 403), ("auditor", 403), ("staff", 201), ("approver", 201)],
)
def test_record_a_transfer_for_every_role(treasury_world, api_client_for, role, status):
    before = written()
    response = post(api_client_for(role), "/transfers/", TRANSFER)
    assert response.status_code == status, response.content
    if status != 201:
        assert written() == before


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["anonymous", "no_role", "auditor", "staff", "approver"])
def test_the_report_and_the_preview_refuse_other_methods(treasury_world, api_client_for, role):
    client = api_client_for(role)
    refused = {"anonymous": 401, "no_role": 403}
    report = post(client, "/reports/realized-gains/", {})
    assert report.status_code == {**refused, "auditor": 403}.get(role, 405)
    preview = client.get(f"{API}/sales/preview/")
    assert preview.status_code == refused.get(role, 405)


# --- sales -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_preview_shows_the_lots_relieved_and_writes_nothing(treasury_world, api_client_for):
    before = written()
    response = post(api_client_for("staff"), "/sales/preview/", sale_body())
    assert response.status_code == 200, response.content
    assert written() == before
    body = response.json()
    lot_a, lot_b = Lot.objects.filter(account__code="1210-COLD-1").order_by("acquired_at")
    assert {k: body[k] for k in body if k != "reliefs"} == {
        "wallet": "COLD-1",
        "commodity": "BTC",
        "units": "1.50000000",
        "sold_at": "2026-01-10T15:30:00Z",
        "method": "fifo",
        "proceeds_account": "1110-USDT-1",
        "proceeds_commodity": "USDT",
        "gross_proceeds": "150000.000000",
        "fee": "150.000000",
        "net_proceeds": "149850.000000",
        "proceeds_value": "150000.00",
        "fee_value": "150.00",
        "cost": "132500.00",
        "adjustment": "3500.00",
        "carrying_value": "136000.00",
        "realized_gain": "17500.00",
        "gain_on_carrying_value": "14000.00",
    }
    assert body["reliefs"] == [
        {
            "lot": lot_a.pk,
            "acquired_at": "2025-03-01T10:00:00Z",
            "units": "1.00000000",
            "cost": "80000.00",
            "adjustment": "2333.33",
            "carrying_value": "82333.33",
            "proceeds": "100000.00",
            "realized_gain": "20000.00",
            "days_held": 315,
        },
        {
            "lot": lot_b.pk,
            "acquired_at": "2025-06-01T10:00:00Z",
            "units": "0.50000000",
            "cost": "52500.00",
            "adjustment": "1166.67",
            "carrying_value": "53666.67",
            "proceeds": "50000.00",
            "realized_gain": "-2500.00",
            "days_held": 223,
        },
    ]


@pytest.mark.django_db
def test_a_sale_through_the_api_has_the_services_figures(treasury_world, api_client_for):
    client = api_client_for("staff")
    preview = post(client, "/sales/preview/", sale_body()).json()
    response = post(client, "/sales/", sale_body())
    assert response.status_code == 201, response.content
    body = response.json()
    sale = Sale.objects.get()
    assert body["id"] == sale.pk and body["reference"] == "T-1"
    for name in (
        "cost",
        "carrying_value",
        "adjustment",
        "realized_gain",
        "gain_on_carrying_value",
        "proceeds_value",
        "fee_value",
        "units",
        "gross_proceeds",
        "fee",
        "net_proceeds",
        "method",
        "proceeds_account",
    ):
        assert body[name] == preview[name], name
    assert (D(body["cost"]), D(body["realized_gain"])) == (sale.cost, sale.realized_gain)
    assert body["entry"] == sale.entry_id and body["created_by"] == "staff"
    disposals = body["disposals"]
    assert [(d["lot"], d["units"], d["cost"], d["carrying_value"]) for d in disposals] == [
        (r["lot"], r["units"], r["cost"], r["carrying_value"]) for r in preview["reliefs"]
    ]
    assert [(d["proceeds"], d["realized_gain"], d["days_held"]) for d in disposals] == [
        (r["proceeds"], r["realized_gain"], r["days_held"]) for r in preview["reliefs"]
    ]
    assert {d["kind"] for d in disposals} == {"sale"}
    assert {(d["sale"], d["wallet"], d["account"]) for d in disposals} == {
        ("T-1", "COLD-1", "1210-COLD-1")
    }

    detail = client.get(body["url"])
    assert detail.status_code == 200 and detail.json() == body
    listing = api_client_for("auditor").get(f"{API}/sales/", {"wallet": "COLD-1"})
    assert listing.status_code == 200
    assert [row["reference"] for row in listing.json()["results"]] == ["T-1"]
    assert (
        api_client_for("auditor").get(f"{API}/sales/", {"wallet": "HOT-1"}).json()["results"] == []
    )
    assert client.get(f"{API}/sales/{sale.pk + 1000}/").status_code == 404


@pytest.mark.django_db
def test_a_sale_for_usd_and_by_specific_identification(treasury_world, api_client_for):
    lot_b = Lot.objects.get(account__code="1210-COLD-1", original_quantity=2)
    body = sale_body(
        units="0.5",
        proceeds_commodity="USD",
        gross_proceeds="50000.00",
        fee="0",
        proceeds_value=...,
        proceeds_wallet=...,
        lots=[{"lot": lot_b.pk, "units": "0.5"}],
    )
    response = post(api_client_for("approver"), "/sales/", body)
    assert response.status_code == 201, response.content
    shown = response.json()
    assert (shown["method"], shown["proceeds_account"], shown["gross_proceeds"]) == (
        "specific",
        "1000",
        "50000.00",
    )
    assert [(d["lot"], d["cost"], d["realized_gain"]) for d in shown["disposals"]] == [
        (lot_b.pk, "52500.00", "-2500.00")
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"wallet": "NOPE-1"}, 400, "wallet"),
        ({"wallet": "bad wallet!"}, 400, "wallet"),
        ({"units": "3.5"}, 400, "units"),
        ({"units": "0.123456789"}, 400, "units"),
        ({"units": 1.5}, 400, "units"),
        ({"units": "1e2"}, 400, "units"),
        ({"units": "-1"}, 400, "units"),
        ({"units": "0"}, 400, "units"),
        ({"sold_at": "2026-01-10T15:30:00"}, 400, "sold_at"),
        ({"sold_at": "2026-01-10T16:30:00+01:00"}, 400, "sold_at"),
        ({"sold_at": "2026-01-10"}, 400, "sold_at"),
        ({"sold_at": "yesterday"}, 400, "sold_at"),
        ({"proceeds_commodity": "BTC"}, 400, "proceeds_commodity"),
        ({"gross_proceeds": "150000.1234567"}, 400, "gross_proceeds"),
        ({"fee": "150000"}, 400, "fee"),
        ({"proceeds_value": "150000.001"}, 400, "proceeds_value"),
        ({"proceeds_wallet": ...}, 400, "proceeds_wallet"),
        ({"proceeds_wallet": "COLD-1"}, 400, "proceeds_wallet"),
        ({"reference": ""}, 400, "reference"),
        ({"reference": ...}, 400, "reference"),
        ({"lots": [{"lot": 999999, "units": "1.5"}]}, 400, "lots[0].lot"),
        ({"lots": [{"lot": "x", "units": "1.5"}]}, 400, "lots[0].lot"),
        ({"lots": [{"lot": 1}]}, 400, "lots[0].units"),
        ({"colour": "red"}, 400, "colour"),
    ],
)
def test_bad_sales_are_refused_naming_the_field_and_write_nothing(
    treasury_world, api_client_for, changes, status, field
):
    client = api_client_for("staff")
    before = written()
    for url in ("/sales/preview/", "/sales/"):
        assert_error(post(client, url, sale_body(**changes)), status, field)
    assert written() == before


@pytest.mark.django_db
def test_the_preview_is_refused_as_the_sale_itself_would_be(
    treasury_world, api_client_for, approver_user
):
    """The preview answers what recording the same body would: its reference already
    recorded (409), its day in a closed period (400), each naming its field, nothing
    written. It used to show the lots and the gain of sales the ledger then refused."""
    client = api_client_for("staff")
    recorded = post(client, "/sales/", sale_body(units="0.5"))
    assert recorded.status_code == 201, recorded.content
    before = written()
    for url in ("/sales/", "/sales/preview/"):
        assert_error(
            post(client, url, sale_body(units="0.5")), 409, "reference", "already_recorded"
        )

    period_close(through=date(2026, 1, 15), by=approver_user)  # the sale's day, 2026-01-10
    for url in ("/sales/", "/sales/preview/"):
        assert_error(
            post(client, url, sale_body(reference="OTC-2", units="0.5")),
            400,
            "sold_at",
            "closed_period",
        )
    assert written() == before


@pytest.mark.django_db
def test_named_lots_that_do_not_add_up_are_refused(treasury_world, api_client_for):
    lot_a, _ = Lot.objects.filter(account__code="1210-COLD-1").order_by("acquired_at")
    client = api_client_for("staff")
    before = written()
    too_much = sale_body(lots=[{"lot": lot_a.pk, "units": "2"}])
    assert_error(post(client, "/sales/", too_much), 400, "lots[0].units", "insufficient_lots")
    short = sale_body(lots=[{"lot": lot_a.pk, "units": "1"}])
    assert_error(post(client, "/sales/", short), 400, "lots")
    assert written() == before


@pytest.mark.django_db
def test_a_duplicate_reference_is_refused_and_writes_nothing(treasury_world, api_client_for):
    client = api_client_for("staff")
    assert post(client, "/sales/", sale_body(units="0.5")).status_code == 201
    before = written()
    body = assert_error(post(client, "/sales/", sale_body(units="0.5")), 409, "reference")
    assert "already recorded" in body["detail"]
    assert written() == before


@pytest.mark.django_db
def test_a_non_json_body_is_refused(treasury_world, api_client_for):
    response = api_client_for("staff").post(
        f"{API}/sales/", "reference=T-1", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert not Sale.objects.exists()


# --- transfers ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_transfer_through_the_api(treasury_world, api_client_for):
    client = api_client_for("staff")
    response = post(client, "/transfers/", TRANSFER)
    assert response.status_code == 201, response.content
    body = response.json()
    record = Transfer.objects.get()
    assert {k: body[k] for k in ("txid", "from_wallet", "to_wallet", "commodity")} == {
        "txid": TXID,
        "from_wallet": "COLD-1",
        "to_wallet": "HOT-1",
        "commodity": "BTC",
    }
    assert (body["units"], body["fee_units"], body["sent_at"]) == (
        "0.50000000",
        "0.00010000",
        SENT_AT,
    )
    assert body["entry"] == record.entry_id and body["created_by"] == "staff"
    [fee] = body["fee_disposals"]
    assert (fee["kind"], fee["transfer"], fee["sale"]) == ("fee", TXID, None)
    assert (fee["units"], fee["cost"], fee["carrying_value"], fee["proceeds"]) == (
        "0.00010000",
        "8.00",
        "8.23",
        "0.00",
    )
    moved = Lot.objects.get(account__code="1220-HOT-1")
    assert (moved.quantity, moved.acquired_at) == (D("0.5"), datetime(2025, 3, 1, 10, tzinfo=UTC))
    listing = api_client_for("auditor").get(f"{API}/transfers/", {"to_wallet": "HOT-1"})
    assert [row["txid"] for row in listing.json()["results"]] == [TXID]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"to_wallet": "COLD-1"}, "to_wallet"),
        ({"to_wallet": "USDT-1"}, "to_wallet"),
        ({"from_wallet": "NOPE"}, "from_wallet"),
        ({"units": "3.5"}, "units"),
        ({"units": "0.000000001"}, "units"),
        ({"fee_units": "-0.1"}, "fee_units"),
        ({"sent_at": "2026-01-05T08:00:00"}, "sent_at"),
        ({"txid": ""}, "txid"),
        ({"txid": "a" * 65}, "txid"),
    ],
)
def test_bad_transfers_are_refused_naming_the_field_and_write_nothing(
    treasury_world, api_client_for, changes, field
):
    before = written()
    assert_error(post(api_client_for("staff"), "/transfers/", {**TRANSFER, **changes}), 400, field)
    assert written() == before


@pytest.mark.django_db
def test_a_duplicate_txid_is_refused(treasury_world, api_client_for):
    client = api_client_for("staff")
    assert post(client, "/transfers/", TRANSFER).status_code == 201
    before = written()
    assert_error(post(client, "/transfers/", TRANSFER), 409, "txid")
    assert written() == before


# --- the realized gains report -----------------------------------------------------------


def report(client: Any, **params: str) -> Any:
    return client.get(f"{API}/reports/realized-gains/", params)


@pytest.mark.django_db
def test_the_realized_gains_report_ties_to_the_disposals_and_the_lots(
    treasury_world, api_client_for
):
    client = api_client_for("staff")
    assert post(client, "/sales/", sale_body()).status_code == 201
    lot_b = Lot.objects.get(account__code="1210-COLD-1", original_quantity=2)
    second = sale_body(
        reference="T-2",
        units="0.25",
        sold_at="2026-01-20T09:00:00Z",
        proceeds_commodity="USD",
        gross_proceeds="30000.00",
        fee="0",
        proceeds_value=...,
        proceeds_wallet=...,
        lots=[{"lot": lot_b.pk, "units": "0.25"}],
    )
    assert post(client, "/sales/", second).status_code == 201

    response = report(api_client_for("auditor"), start="2026-01-01", end="2026-01-31")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["commodity"], body["start"], body["end"]) == ("BTC", "2026-01-01", "2026-01-31")
    rows = body["results"]
    disposals = list(Disposal.objects.order_by("disposed_on", "id"))
    assert [row["id"] for row in rows] == [d.pk for d in disposals]
    assert [(row["sale"], row["method"]) for row in rows] == [
        ("T-1", "fifo"),
        ("T-1", "fifo"),
        ("T-2", "specific"),
    ]
    assert rows[0]["lot_acquired_at"] == "2025-03-01T10:00:00Z"
    assert rows[2]["days_held"] == 233 and rows[2]["cost"] == "26250.00"
    totals = body["totals"]
    assert totals["disposals"] == 3
    for name in ("cost", "carrying_value", "proceeds", "realized_gain"):
        assert D(totals[name]) == sum((getattr(d, name) for d in disposals), D(0)), name
        assert D(totals[name]) == sum(D(row[name]) for row in rows), name
    assert totals == {
        "disposals": 3,
        "units": "1.75000000",
        "cost": "158750.00",
        "carrying_value": "162833.33",  # 136,000.00 + 26,250.00 + 583.33
        "proceeds": "180000.00",
        "realized_gain": "21250.00",
    }
    # Units relieved = the wallet's lots' original units less what they still hold.
    lots = Lot.objects.filter(account__code="1210-COLD-1")
    relieved = sum((lot.original_quantity - lot.quantity for lot in lots), D(0))
    assert D(totals["units"]) == relieved == sum(D(row["units"]) for row in rows)
    assert sum(D(s.realized_gain) for s in Sale.objects.all()) == D(totals["realized_gain"])

    # The period bounds both ways.
    early = report(client, start="2026-01-01", end="2026-01-15").json()
    assert early["totals"]["disposals"] == 2 and early["totals"]["units"] == "1.50000000"
    assert report(client, start="2026-02-01", end="2026-02-28").json()["results"] == []
    usdt = report(client, start="2026-01-01", end="2026-01-31", commodity="USDT").json()
    assert usdt["commodity"] == "USDT" and usdt["totals"]["units"] == "0.000000"


@pytest.mark.django_db
def test_the_report_shows_network_fees_as_disposals(treasury_world, api_client_for):
    client = api_client_for("staff")
    assert post(client, "/transfers/", TRANSFER).status_code == 201
    body = report(client, start="2026-01-05", end="2026-01-05").json()
    [row] = body["results"]
    assert (row["kind"], row["transfer"], row["sale"], row["wallet"]) == (
        "fee",
        TXID,
        None,
        "COLD-1",
    )
    assert (row["units"], row["proceeds"], row["realized_gain"]) == (
        "0.00010000",
        "0.00",
        "-8.00",
    )
    # COLD-1's lots lost the transfer and the fee; only the fee was disposed of.
    lots = Lot.objects.filter(account__code="1210-COLD-1")
    relieved = sum((lot.original_quantity - lot.quantity for lot in lots), D(0))
    assert relieved - D(TRANSFER["units"]) == D(body["totals"]["units"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"end": "2026-01-31"}, "start"),
        ({"start": "2026-01-01"}, "end"),
        ({"start": "2026-02-01", "end": "2026-01-01"}, "end"),
        ({"start": "2026-13-01", "end": "2026-12-31"}, "start"),
        ({"start": "2026-01-01", "end": "2026-01-31", "commodity": "XYZ"}, "commodity"),
    ],
)
def test_bad_report_queries_are_400_naming_the_field(treasury_world, api_client_for, params, field):
    assert_error(report(api_client_for("auditor"), **params), 400, field)


@pytest.mark.django_db
def test_the_api_root_and_the_schema_list_the_treasury(treasury_world, api_client_for):
    client = api_client_for("auditor")
    root = client.get(f"{API}/").json()
    assert root["sales"].endswith("/api/v1/sales/")
    assert root["transfers"].endswith("/api/v1/transfers/")
    assert root["realized_gains_report"].endswith("/api/v1/reports/realized-gains/")
    paths = client.get(f"{API}/schema/", {"format": "json"}).json()["paths"]
    assert set(paths["/api/v1/sales/"]) == {"get", "post"}
    assert set(paths["/api/v1/sales/preview/"]) == {"post"}
    assert set(paths["/api/v1/transfers/"]) == {"get", "post"}
    create = paths["/api/v1/sales/"]["post"]
    assert {"201", "400", "401", "403"} <= set(create["responses"])
    gains = {p["name"] for p in paths["/api/v1/reports/realized-gains/"]["get"]["parameters"]}
    assert gains == {"start", "end", "commodity", "format", "page", "page_size"}


@pytest.mark.django_db
def test_the_realized_gains_report_pages_its_disposals_and_totals_them_all(
    treasury_world, api_client_for
):
    """JSON pages the disposals (count, next, previous) in a fixed number of queries,
    whatever the page's size; the totals are the whole period's; CSV holds every one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_client_for("staff")
    for n, units in enumerate(("0.1", "0.2", "0.3", "0.4"), start=1):
        body = sale_body(reference=f"P-{n}", units=units, sold_at=f"2026-01-1{n}T09:00:00Z")
        assert post(client, "/sales/", body).status_code == 201, n
    disposals = list(Disposal.objects.order_by("disposed_on", "id"))
    assert len(disposals) >= 4
    auditor = api_client_for("auditor")
    report(auditor, start="2026-01-01", end="2026-01-31")  # the token, once
    queries = {}
    for size in (1, len(disposals)):
        with CaptureQueriesContext(connection) as captured:
            response = report(auditor, start="2026-01-01", end="2026-01-31", page_size=str(size))
        assert response.status_code == 200, response.content
        body = response.json()
        queries[size] = len(captured)
        assert body["count"] == len(disposals) == body["totals"]["disposals"]
        assert [row["id"] for row in body["results"]] == [d.pk for d in disposals][:size]
        assert D(body["totals"]["cost"]) == sum((d.cost for d in disposals), D(0))
    assert queries[1] == queries[len(disposals)], queries
    first = report(auditor, start="2026-01-01", end="2026-01-31", page_size="1").json()
    assert first["previous"] is None and "page=2" in first["next"]
    second = auditor.get(first["next"]).json()
    assert second["results"][0]["id"] == disposals[1].pk
    csv = report(auditor, start="2026-01-01", end="2026-01-31", page_size="1", format="csv")
    assert csv.status_code == 200
    assert csv.content.decode().count("\n") == len(disposals) + 2  # header, rows, total


@pytest.mark.django_db
def test_an_etc_transfer_with_a_0x_txid_and_a_dust_fee_through_the_api(world, api_client_for):
    from holdings.services import setup

    for code in ("ETC-A", "ETC-B"):
        setup.wallet_create(code=code, name=code, commodity="ETC")
    setup.opening_lots_load(
        as_of=datetime(2025, 12, 30, tzinfo=UTC).date(),
        rows=[
            {
                "wallet": "ETC-A",
                "acquired_at": "2025-06-01T10:00:00Z",
                "quantity": "12.5",
                "cost_usd": "212.50",
            }
        ],
    )
    txid = "ab" * 32
    body = {
        "txid": "0x" + txid.upper(),  # as an EVM explorer writes it, and imports accept it
        "from_wallet": "ETC-A",
        "to_wallet": "ETC-B",
        "units": "1.234567890123456789",
        "fee_units": "0.000021",  # worth 0.000357 USD at cost
        "sent_at": SENT_AT,
    }
    response = post(api_client_for("staff"), "/transfers/", body)
    assert response.status_code == 201, response.content
    assert response.json()["txid"] == txid
    assert response.json()["units"] == "1.234567890123456789"
    record = Transfer.objects.get()
    assert record.txid == txid and record.fee_units == Decimal("0.000021")
    [fee] = record.fee_disposals.all()
    assert fee.units == Decimal("0.000021") and fee.carrying_value == 0
