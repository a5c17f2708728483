"""The holdings REST API: every endpoint for every role, uploads queued on commit, bad input
refused naming the field (nothing written), and the numbers of a small known world."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from holdings import tasks
from holdings.importers.prices import parse_prices
from holdings.models import BatchStatus, ImportBatch, Lot, PoolAccount, Price
from holdings.services import fair_value, prices, production, setup
from tests.ledger.api.test_entries import assert_error

API = "/api/v1"
ROLES = ["anonymous", "no_role", "auditor", "staff", "approver"]
READ_STATUS = {"anonymous": 401, "no_role": 403, "auditor": 200, "staff": 200, "approver": 200}
WRITE_STATUS = {"anonymous": 401, "no_role": 403, "auditor": 403, "staff": 202, "approver": 202}
D = Decimal

HOT_ADDRESS = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"
PLEDGED_ADDRESS = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
COLD_ADDRESS = "bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l"
UNKNOWN_ADDRESS = "bc1qm34lsc65zpw79lxes69zkqmk6ee3ewf0j77s3h"

# The small world's prices: day D's earning is valued at 00:00 UTC after it (day-end policy).
PRICES_CSV = """timestamp,base,quote,price,source
2025-12-01T00:00:00Z,BTC,USD,91000.00,test-close
2025-12-02T00:00:00Z,BTC,USD,92000.00,test-close
2025-12-03T00:00:00Z,BTC,USD,93000.00,test-close
2025-12-04T00:00:00Z,BTC,USD,93500.00,test-close
2025-12-31T00:00:00Z,BTC,USD,94123.456789012345,other-source
2026-01-01T00:00:00Z,BTC,USD,95000.50,test-close
"""


# --- builders (imported by the admin tests) ----------------------------------------------


def unix(moment: datetime) -> int:
    return int(moment.timestamp())


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def f2pool_file(
    earnings: list[tuple[date, str, float]] = (),  # type: ignore[assignment]
    payouts: list[tuple[int, datetime, str, str]] = (),  # type: ignore[assignment]
) -> bytes:
    """An F2Pool `/v2/assets/transactions/list` response: (day, net, hashrate) earnings and
    (id, paid_at, amount, address) payouts."""
    items: list[dict[str, Any]] = []
    for day, net, hashrate in earnings:
        items.append(
            {
                "id": 5_000_000 + (day - date(2020, 1, 1)).days,
                "type": "revenue",
                "changed_balance": float(net),
                "created_at": unix(midnight(day + timedelta(days=1))),
                "mining_extra": {
                    "mining_date": unix(midnight(day)),
                    "settle_date": unix(midnight(day + timedelta(days=1))),
                    "pps": float(net),
                    "pps_fee_rate": 0.025,
                    "tx_fee": 0.0,
                    "tx_fee_rate": 0.025,
                    "hash_rate": hashrate,
                },
            }
        )
    for payout_id, paid_at, amount, address in payouts:
        items.append(
            {
                "id": payout_id,
                "type": "payout",
                "changed_balance": -float(amount),
                "created_at": unix(paid_at),
                "payout_extra": {
                    "value": float(amount),
                    "address": address,
                    "tx_id": hashlib.sha256(str(payout_id).encode()).hexdigest(),
                    "paid_time": unix(paid_at),
                    "wallet_type": "mainnet",
                    "tip": 0.00001,
                },
            }
        )
    return json.dumps({"transactions": items}).encode()


# Nov 30 0.5, Dec 1 0.6 and Dec 2 0.4 BTC earned; 0.75 BTC paid to the pledged wallet on
# Dec 3, first in first out: all of Nov 30's lot and 0.25 of Dec 1's.
POOL_FILE = f2pool_file(
    earnings=[
        (date(2025, 11, 30), "0.5", 1.2e18),
        (date(2025, 12, 1), "0.6", 1.5e18),
        (date(2025, 12, 2), "0.4", 1.5e18),
    ],
    payouts=[(77, datetime(2025, 12, 3, 8, tzinfo=UTC), "0.75", PLEDGED_ADDRESS)],
)
# Dec 3 earned 0.2 BTC; the payout goes to an address no wallet owns: the batch fails.
BAD_POOL_FILE = f2pool_file(
    earnings=[(date(2025, 12, 3), "0.2", 1.5e18)],
    payouts=[(78, datetime(2025, 12, 4, 8, tzinfo=UTC), "0.1", UNKNOWN_ADDRESS)],
)


def build_setup() -> dict[str, Any]:
    """Sites, pools, pool accounts and wallets; the prices; 10 BTC of opening lots."""
    site = setup.site_create(
        code="US-TX-01",
        name="Rockdale",
        region="North America",
        deployed_hashrate_hs="1500000000000000000",
    )
    setup.pool_create(code="f2pool", name="F2Pool", kind="f2pool")
    setup.pool_create(code="other", name="Other pool", kind="other")
    account = setup.pool_account_create(code="F2P-A", pool="f2pool", name="cango-a", site=site)
    setup.pool_account_create(code="OTH-B", pool="other", name="cango-b", source="csv")
    setup.wallet_create(
        code="HOT-1", name="Hot wallet", parent_account="1220", addresses=[HOT_ADDRESS]
    )
    setup.wallet_create(
        code="PLEDGED-1",
        name="Pledged to the lender",
        parent_account="1230",
        addresses=[PLEDGED_ADDRESS],
    )
    setup.wallet_create(
        code="COLD-1", name="Cold storage", parent_account="1210", addresses=[COLD_ADDRESS]
    )
    prices.prices_import(
        quotes=parse_prices(PRICES_CSV.encode(), file_name="prices.csv"), file_name="prices.csv"
    )
    setup.opening_lots_load(
        as_of=date(2025, 10, 31),
        rows=[
            {
                "wallet": "COLD-1",
                "acquired_at": "2025-06-01T00:00:00Z",
                "quantity": "10",
                "cost_usd": "500000.00",
            }
        ],
    )
    return {"site": site, "account": account}


def build_world() -> dict[str, Any]:
    """The set-up, the pool file imported, and BTC remeasured at 2025-12-31."""
    world = build_setup()
    batch = production.import_batch_create(
        source="f2pool", file_name="F2P-A-2025-12.json", content=POOL_FILE, pool_account="F2P-A"
    )
    world["batch"] = production.import_batch_run(batch_id=batch.pk)
    assert world["batch"].status == BatchStatus.SUCCEEDED, world["batch"].errors
    world["remeasurement"] = fair_value.remeasure(commodity="BTC", as_of=date(2025, 12, 31))
    return world


def upload(client: Any, file: bytes | None = POOL_FILE, name: str = "f2p.json", **fields: Any):
    data = {"source": "f2pool", "pool_account": "F2P-A", **fields}
    if file is not None:
        data["file"] = SimpleUploadedFile(name, file, content_type="application/json")
    data = {key: value for key, value in data.items() if value is not None}
    return client.post(f"{API}/imports/", data, format="multipart")


@pytest.fixture
def world(chart):
    return build_world()


@pytest.fixture
def setup_only(chart):
    return build_setup()


@pytest.fixture
def queued(monkeypatch):
    """Batch ids the import task was queued for; the task runs at once, as a worker would."""
    ids: list[int] = []

    def delay(batch_id: int) -> Any:
        ids.append(batch_id)
        return tasks.import_batch.apply(args=[batch_id])

    monkeypatch.setattr(tasks.import_batch, "delay", delay)
    return ids


def results(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


# --- roles on every endpoint -------------------------------------------------------------

READ_URLS = [
    "/imports/",
    "/imports/{batch}/",
    "/prices/",
    "/lots/",
    "/production/",
    "/payouts/",
    "/remeasurements/",
    "/reports/production/?start=2025-11-01&end=2025-12-31",
    "/pool-accounts/",
    "/wallets/",
    "/sites/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_read_endpoint_for_every_role(world, api_client_for, role):
    client = api_client_for(role)
    for url in READ_URLS:
        response = client.get(API + url.format(batch=world["batch"].pk))
        assert response.status_code == READ_STATUS[role], (url, response.content)
        if role == "anonymous":
            assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_upload_for_every_role(
    setup_only, api_client_for, role, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api_client_for(role))
    assert response.status_code == WRITE_STATUS[role], response.content
    if WRITE_STATUS[role] == 202:
        batch = ImportBatch.objects.get()
        assert queued == [batch.pk]
        assert batch.created_by.username == role
    else:
        assert response.json()["code"] in {"not_authenticated", "permission_denied"}
        assert not ImportBatch.objects.exists()
        assert queued == []


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_reads_are_read_only(world, api_client_for, method):
    staff, auditor = api_client_for("staff"), api_client_for("auditor")
    for url in ["/prices/", "/lots/", "/production/", "/sites/", f"/imports/{world['batch'].pk}/"]:
        assert getattr(auditor, method)(API + url).status_code == 403
        assert getattr(staff, method)(API + url).status_code == 405
    assert auditor.post(f"{API}/prices/").status_code == 403


# --- imports -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_upload_is_queued_on_commit_and_the_batch_shows_what_the_import_did(
    setup_only, api_client_for, queued, django_capture_on_commit_callbacks
):
    client = api_client_for("staff")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(client)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert response["Location"] == body["url"]
    assert body["url"].endswith(f"/api/v1/imports/{body['id']}/")
    assert len(callbacks) == 1 and queued == []  # nothing is queued before the commit
    callbacks[0]()
    assert queued == [body["id"]]

    detail = client.get(f"{API}/imports/{body['id']}/").json()
    assert detail["status"] == "succeeded"
    assert detail["source"] == "f2pool"
    assert detail["pool_account"] == "F2P-A"
    assert detail["file_name"] == "f2p.json"
    assert detail["file_sha256"] == hashlib.sha256(POOL_FILE).hexdigest()
    assert detail["file_size"] == len(POOL_FILE)
    assert (detail["records_total"], detail["records_created"], detail["records_skipped"]) == (
        4,
        4,
        0,
    )
    assert detail["errors"] == []
    assert detail["attempts"] == 1
    assert detail["created_by"] == "staff"
    assert detail["created_at"] and detail["started_at"] and detail["finished_at"]
    assert "content" not in detail

    listing = results(client.get(f"{API}/imports/"))
    assert [row["id"] for row in listing] == [body["id"]]
    assert "content" not in listing[0]


@pytest.mark.django_db
def test_a_generic_csv_needs_no_pool_account(
    setup_only, api_client_for, queued, django_capture_on_commit_callbacks
):
    content = (
        b"date,pool_account,gross_btc,fee_btc,net_btc,hashrate_hs,external_id\n"
        b"2025-12-01,OTH-B,0.10250000,0.00250000,0.10000000,,\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(
            api_client_for("approver"), content, "other.csv", source="csv", pool_account=""
        )
    assert response.status_code == 202, response.content
    batch = ImportBatch.objects.get(pk=response.json()["id"])
    assert batch.pool_account is None
    assert batch.status == BatchStatus.SUCCEEDED, batch.errors


@pytest.mark.django_db
def test_a_failed_import_lists_its_errors(
    world, api_client_for, queued, django_capture_on_commit_callbacks
):
    client = api_client_for("staff")
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, BAD_POOL_FILE, "bad.json")
    assert response.status_code == 202, response.content
    detail = client.get(response.json()["url"]).json()
    assert detail["status"] == "failed"
    assert detail["records_created"] == 0
    [error] = detail["errors"]
    assert error["file"] == "bad.json"
    assert error["row"] == 2
    assert error["field"] == "address"
    assert UNKNOWN_ADDRESS in error["message"]

    failed = results(client.get(f"{API}/imports/", {"status": "failed"}))
    assert [row["id"] for row in failed] == [detail["id"]]
    succeeded = results(
        client.get(
            f"{API}/imports/", {"status": "succeeded", "source": "f2pool", "pool_account": "F2P-A"}
        )
    )
    assert [row["id"] for row in succeeded] == [world["batch"].pk]
    assert results(client.get(f"{API}/imports/", {"pool_account": "OTH-B"})) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "file", "field"),
    [
        ({"source": "bitmain"}, POOL_FILE, "source"),
        ({"source": None}, POOL_FILE, "source"),
        ({"pool_account": "NOPE"}, POOL_FILE, "pool_account"),
        ({"pool_account": "bad code!"}, POOL_FILE, "pool_account"),
        ({"pool_account": None}, POOL_FILE, "pool_account"),  # an f2pool file names none
        ({"pool_account": "INACTIVE"}, POOL_FILE, "pool_account"),
        ({}, b"", "file"),
        ({}, None, "file"),
        ({"comment": "misspelt"}, POOL_FILE, "comment"),
    ],
)
def test_bad_uploads_are_refused_naming_the_field_and_write_nothing(
    setup_only, api_client_for, queued, django_capture_on_commit_callbacks, fields, file, field
):
    inactive = setup.pool_account_create(code="INACTIVE", pool="f2pool", name="old")
    PoolAccount.objects.filter(pk=inactive.pk).update(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api_client_for("staff"), file, **fields)
    assert_error(response, 400, field)
    assert not ImportBatch.objects.exists()
    assert queued == []


@pytest.mark.django_db
def test_an_upload_must_be_multipart(setup_only, api_client_for):
    response = api_client_for("staff").post(
        f"{API}/imports/", {"source": "f2pool", "pool_account": "F2P-A"}, format="json"
    )
    assert_error(response, 415, None)
    assert not ImportBatch.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "done"}, "status"),
        ({"source": "x"}, "source"),
        ({"pool_account": "NOPE"}, "pool_account"),
        ({"pool_account": "a\x00b"}, "pool_account"),
    ],
)
def test_import_filters_refuse_unknown_values(world, api_client_for, query, field):
    assert_error(api_client_for("auditor").get(f"{API}/imports/", query), 400, field)


@pytest.mark.django_db
def test_an_unknown_batch_is_404(world, api_client_for):
    assert_error(api_client_for("auditor").get(f"{API}/imports/999999/"), 404, None)


# --- prices ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_prices_are_the_exact_evidence(world, api_client_for):
    client = api_client_for("auditor")
    rows = results(client.get(f"{API}/prices/", {"base": "BTC"}))
    assert [row["timestamp"] for row in rows] == [
        "2025-12-01T00:00:00Z",
        "2025-12-02T00:00:00Z",
        "2025-12-03T00:00:00Z",
        "2025-12-04T00:00:00Z",
        "2025-12-31T00:00:00Z",
        "2026-01-01T00:00:00Z",
    ]
    assert rows[4]["price"] == "94123.456789012345"
    assert rows[5]["price"] == "95000.50"
    assert {rows[0]["base"], rows[0]["quote"], rows[0]["source"]} == {"BTC", "USD", "test-close"}

    window = results(client.get(f"{API}/prices/", {"start": "2025-12-02", "end": "2025-12-03"}))
    assert [row["price"] for row in window] == ["92000.00", "93000.00"]
    other = results(client.get(f"{API}/prices/", {"source": "other-source", "quote": "USD"}))
    assert [row["id"] for row in other] == [Price.objects.get(source="other-source").pk]
    paged = client.get(f"{API}/prices/", {"page_size": 2, "page": 2}).json()
    assert paged["count"] == 6 and len(paged["results"]) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"base": "XYZ"}, "base"),
        ({"quote": "usd"}, "quote"),
        ({"start": "2025-13-01"}, "start"),
        ({"end": "1 Dec 2025"}, "end"),
        ({"start": "2025-12-03", "end": "2025-12-01"}, "end"),
    ],
)
def test_prices_refuse_bad_queries(world, api_client_for, query, field):
    assert_error(api_client_for("auditor").get(f"{API}/prices/", query), 400, field)


# --- lots --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_lots_as_of_a_date_with_their_evidence(world, api_client_for):
    client = api_client_for("auditor")
    receivable = world["account"].receivable_account.code
    on_payout_day = results(
        client.get(f"{API}/lots/", {"account": receivable, "as_of": "2025-12-03"})
    )
    assert [
        (row["quantity"], row["cost"], row["original_quantity"], row["original_cost"])
        for row in on_payout_day
    ] == [
        ("0.35000000", "32200.00", "0.60000000", "55200.00"),
        ("0.40000000", "37200.00", "0.40000000", "37200.00"),
    ]
    first = on_payout_day[0]
    assert first["account"] == receivable
    assert first["commodity"] == "BTC"
    assert first["origin"] == "mined"
    assert first["acquired_at"] == "2025-12-02T00:00:00Z"
    assert first["fair_value_adjustment"] == "0.00"
    assert first["carrying_value"] == "32200.00"
    assert first["parent"] is None
    assert first["pool_account"] == "F2P-A"
    assert first["production_day"] == "2025-12-01"
    assert first["price"]["price"] == "92000.00"
    assert first["price"]["timestamp"] == "2025-12-02T00:00:00Z"
    assert first["price"]["source"] == "test-close"

    # The day before the payout every earning's lot was still whole in the receivable.
    before = results(client.get(f"{API}/lots/", {"account": receivable, "as_of": "2025-12-02"}))
    assert [row["quantity"] for row in before] == ["0.50000000", "0.60000000", "0.40000000"]
    # Emptied lots show with open=false.
    every = results(
        client.get(f"{API}/lots/", {"account": receivable, "as_of": "2025-12-03", "open": "false"})
    )
    assert [row["quantity"] for row in every] == ["0.00000000", "0.35000000", "0.40000000"]

    pledged = results(client.get(f"{API}/lots/", {"account": "1230"}))
    assert [(row["quantity"], row["origin"]) for row in pledged] == [
        ("0.50000000", "transfer"),
        ("0.25000000", "transfer"),
    ]
    parents = Lot.objects.filter(pk__in=[row["parent"] for row in pledged])
    assert {lot.account.code for lot in parents} == {receivable}
    # Now, after the 2025-12-31 remeasurement, the lots carry a fair value adjustment.
    for row in pledged:
        carrying = D(row["cost"]) + D(row["fair_value_adjustment"])
        assert D(row["carrying_value"]) == carrying
        assert D(row["fair_value_adjustment"]) > 0

    btc = results(client.get(f"{API}/lots/", {"commodity": "BTC", "as_of": "2025-12-31"}))
    assert sum(D(row["quantity"]) for row in btc) == D("11.5")
    assert results(client.get(f"{API}/lots/", {"as_of": "2025-10-30"})) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"account": "9999"}, "account"),
        ({"account": "no such!"}, "account"),
        ({"commodity": "DOGE"}, "commodity"),
        ({"as_of": "2025-02-30"}, "as_of"),
        ({"as_of": "yesterday"}, "as_of"),
        ({"open": "maybe"}, "open"),
    ],
)
def test_lots_refuse_bad_queries(world, api_client_for, query, field):
    assert_error(api_client_for("auditor").get(f"{API}/lots/", query), 400, field)


# --- the production report ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_production_report_of_a_known_world(world, api_client_for):
    response = api_client_for("auditor").get(
        f"{API}/reports/production/", {"start": "2025-11-15", "end": "2025-12-01"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["commodity"], body["start"], body["end"]) == ("BTC", "2025-11-15", "2025-12-01")
    november, december = body["results"]
    assert november == {
        "month": "2025-11",
        "days": 30,
        "mined": "0.50000000",
        "average_per_day": "0.01666667",
        "held_at_month_end": "10.50000000",
        "restricted_at_month_end": "0.00000000",
        "unrestricted_at_month_end": "10.50000000",
        "average_operating_hashrate_ehs": "0.04",
        "deployed_hashrate_ehs": "1.50",
        "hashrate_unit": "EH/s",
        "average_operating_hashrate": "0.04",
        "deployed_hashrate": "1.50",
        "mined_change_percent": None,
        "held_change": "0.50000000",
        "sold": "0.00000000",
        "net_proceeds_usd": "0.00",
        "average_price_usd": None,
    }
    assert december == {
        "month": "2025-12",
        "days": 31,
        "mined": "1.00000000",
        "average_per_day": "0.03225806",
        "held_at_month_end": "11.50000000",
        "restricted_at_month_end": "0.75000000",
        "unrestricted_at_month_end": "10.75000000",
        "average_operating_hashrate_ehs": "0.10",
        "deployed_hashrate_ehs": "1.50",
        "hashrate_unit": "EH/s",
        "average_operating_hashrate": "0.10",
        "deployed_hashrate": "1.50",
        "mined_change_percent": "100.0",
        "held_change": "1.00000000",
        "sold": "0.00000000",
        "net_proceeds_usd": "0.00",
        "average_price_usd": None,
    }


@pytest.mark.django_db
def test_a_month_with_no_production(world, api_client_for):
    body = (
        api_client_for("staff")
        .get(
            f"{API}/reports/production/",
            {"start": "2026-01-01", "end": "2026-01-31", "commodity": "BTC"},
        )
        .json()
    )
    [january] = body["results"]
    assert january["mined"] == "0.00000000"
    assert january["average_operating_hashrate_ehs"] is None
    assert january["mined_change_percent"] == "-100.0"
    assert january["held_at_month_end"] == "11.50000000"
    assert january["held_change"] == "0.00000000"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"end": "2025-12-31"}, "start"),
        ({"start": "2025-12-01"}, "end"),
        ({"start": "2025-12-01", "end": "2025-11-30"}, "end"),
        ({"start": "2015-01-01", "end": "2025-01-01"}, "end"),  # 121 months
        ({"start": "2025-12-01", "end": "2025-12-31", "commodity": "NOPE"}, "commodity"),
        ({"start": "12/01/2025", "end": "2025-12-31"}, "start"),
    ],
)
def test_the_production_report_refuses_bad_queries(world, api_client_for, query, field):
    response = api_client_for("auditor").get(f"{API}/reports/production/", query)
    assert_error(response, 400, field)


@pytest.mark.django_db
def test_ten_years_of_months_are_allowed(chart, api_client_for):
    response = api_client_for("auditor").get(
        f"{API}/reports/production/", {"start": "2016-01-01", "end": "2025-12-31"}
    )
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == 120


# --- production, payouts, remeasurements -------------------------------------------------


@pytest.mark.django_db
def test_production_records_with_their_price_and_entry(world, api_client_for):
    client = api_client_for("auditor")
    rows = results(client.get(f"{API}/production/"))
    assert [(row["day"], row["net"], row["value"]) for row in rows] == [
        ("2025-12-02", "0.40000000", "37200.00"),
        ("2025-12-01", "0.60000000", "55200.00"),
        ("2025-11-30", "0.50000000", "45500.00"),
    ]
    row = rows[1]
    assert row["pool_account"] == "F2P-A"
    assert row["commodity"] == "BTC"
    assert row["gross"] is None and row["fee"] is None  # F2Pool reports the net only
    assert row["hashrate_hs"] == "1500000000000000000"
    assert row["price"] == {
        "id": Price.objects.get(timestamp=datetime(2025, 12, 2, tzinfo=UTC)).pk,
        "price": "92000.00",
        "quote": "USD",
        "source": "test-close",
        "timestamp": "2025-12-02T00:00:00Z",
    }
    assert row["entry"] and row["entry_sequence"]
    assert row["batch"] == world["batch"].pk
    assert row["raw"]["type"] == "revenue"
    assert row["external_id"] == str(row["raw"]["id"])

    december = results(
        client.get(
            f"{API}/production/",
            {"pool_account": "F2P-A", "start": "2025-12-01", "end": "2025-12-31"},
        )
    )
    assert [row["day"] for row in december] == ["2025-12-02", "2025-12-01"]
    assert (
        len(
            results(
                client.get(
                    f"{API}/production/",
                    {
                        "pool": "f2pool",
                        "site": "US-TX-01",
                        "commodity": "BTC",
                        "batch": world["batch"].pk,
                    },
                )
            )
        )
        == 3
    )
    assert results(client.get(f"{API}/production/", {"pool_account": "OTH-B"})) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "query", "field"),
    [
        ("/production/", {"pool_account": "NOPE"}, "pool_account"),
        ("/production/", {"start": "2025-12"}, "start"),
        ("/production/", {"batch": "abc"}, "batch"),
        ("/production/", {"commodity": "btc"}, "commodity"),
        ("/payouts/", {"wallet": "NOPE"}, "wallet"),
        ("/payouts/", {"end": "tomorrow"}, "end"),
        ("/remeasurements/", {"commodity": "NOPE"}, "commodity"),
        ("/pool-accounts/", {"is_active": "yes please"}, "is_active"),
        ("/pool-accounts/", {"pool": "NOPE"}, "pool"),
        ("/wallets/", {"commodity": "NOPE"}, "commodity"),
        ("/sites/", {"is_active": "2"}, "is_active"),
    ],
)
def test_list_filters_refuse_unknown_values(world, api_client_for, url, query, field):
    assert_error(api_client_for("auditor").get(API + url, query), 400, field)


@pytest.mark.django_db
def test_payouts(world, api_client_for):
    client = api_client_for("auditor")
    [payout] = results(client.get(f"{API}/payouts/"))
    assert payout["pool_account"] == "F2P-A"
    assert payout["external_id"] == "77"
    assert payout["amount"] == "0.75000000"
    assert payout["address"] == PLEDGED_ADDRESS
    assert payout["wallet"] == "PLEDGED-1"
    assert payout["paid_at"] == "2025-12-03T08:00:00Z"
    assert payout["txid"] == hashlib.sha256(b"77").hexdigest()
    assert payout["entry"] and payout["entry_sequence"]
    assert payout["batch"] == world["batch"].pk
    assert payout["raw"]["type"] == "payout"
    query = {
        "wallet": "PLEDGED-1",
        "start": "2025-12-03",
        "end": "2025-12-03",
        "txid": payout["txid"],
        "pool_account": "F2P-A",
    }
    assert len(results(client.get(f"{API}/payouts/", query))) == 1
    assert results(client.get(f"{API}/payouts/", {"wallet": "HOT-1"})) == []
    assert results(client.get(f"{API}/payouts/", {"start": "2025-12-04"})) == []


@pytest.mark.django_db
def test_remeasurements(world, api_client_for):
    client = api_client_for("auditor")
    [row] = results(client.get(f"{API}/remeasurements/", {"commodity": "BTC"}))
    assert row["as_of"] == "2025-12-31"
    assert row["units"] == "11.50000000"
    assert row["carrying_value_before"] == "637900.00"
    assert row["fair_value"] == "1092505.75"  # 11.5 x 95000.50
    assert row["adjustment"] == "454605.75"
    assert row["lots"] == 5
    assert row["price"]["price"] == "95000.50"
    assert row["price"]["timestamp"] == "2026-01-01T00:00:00Z"
    assert row["entry"] == world["remeasurement"].entry_id
    assert (row["attempt"], row["cancellation"]) == (1, None)
    assert results(client.get(f"{API}/remeasurements/", {"start": "2026-01-01"})) == []


@pytest.mark.django_db
def test_a_remeasurement_cancelled_and_made_again_shows_both_attempts(
    world, api_client_for, staff_user, approver_user
):
    from holdings.services import fair_value
    from ledger import services as ledger_services

    first = world["remeasurement"]
    requested, _ = ledger_services.cancellation_request(
        entry=first.entry, reason="wrong price", by=staff_user
    )
    done = ledger_services.cancellation_approve(cancellation=requested, by=approver_user)
    again = fair_value.remeasure(commodity="BTC", as_of=first.as_of)
    client = api_client_for("auditor")
    rows = results(client.get(f"{API}/remeasurements/", {"commodity": "BTC"}))
    assert [(row["id"], row["attempt"]) for row in rows] == [(again.pk, 2), (first.pk, 1)]
    assert rows[0]["cancellation"] is None
    assert rows[1]["cancellation"] == {
        "id": done.pk,
        "status": "approved",
        "effective_date": "2025-12-31",
        "reversal": done.reversal_id,
    }
    assert rows[0]["adjustment"] == rows[1]["adjustment"] == "454605.75"


# --- set-up ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pool_accounts_wallets_and_sites(world, api_client_for):
    client = api_client_for("auditor")
    accounts = results(client.get(f"{API}/pool-accounts/"))
    assert [row["code"] for row in accounts] == ["F2P-A", "OTH-B"]
    assert accounts[0] == {
        "code": "F2P-A",
        "name": "cango-a",
        "pool": "f2pool",
        "pool_name": "F2Pool",
        "site": "US-TX-01",
        "commodity": "BTC",
        "receivable_account": "1300-F2P-A",
        "source": "f2pool",
        "api_user": "",
        "api_key_env": "",
        "api_secret_env": "",
        "fetch_daily": False,
        "is_active": True,
    }
    assert [
        row["code"] for row in results(client.get(f"{API}/pool-accounts/", {"source": "csv"}))
    ] == ["OTH-B"]
    assert [
        row["code"]
        for row in results(
            client.get(
                f"{API}/pool-accounts/", {"pool": "f2pool", "site": "US-TX-01", "is_active": "true"}
            )
        )
    ] == ["F2P-A"]

    wallets = results(client.get(f"{API}/wallets/"))
    assert [(w["code"], w["account"]) for w in wallets] == [
        ("COLD-1", "1210-COLD-1"),
        ("HOT-1", "1220-HOT-1"),
        ("PLEDGED-1", "1230-PLEDGED-1"),
    ]
    assert wallets[1]["addresses"] == [{"address": HOT_ADDRESS, "label": ""}]
    assert results(client.get(f"{API}/wallets/", {"is_active": "false"})) == []

    [site] = results(client.get(f"{API}/sites/", {"region": "North America"}))
    assert site == {
        "code": "US-TX-01",
        "name": "Rockdale",
        "region": "North America",
        "commodity": "BTC",
        "deployed_hashrate_hs": "1500000000000000000",
        "hashrate_unit": "EH/s",
        "deployed_hashrate": "1.50",
        "deployed_hashrate_ehs": "1.50",
        "is_active": True,
    }


# --- root and schema ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_root_lists_the_holdings_endpoints(api_client_for):
    body = api_client_for("auditor").get(f"{API}/").json()
    assert body["imports"].endswith("/api/v1/imports/")
    assert body["production_report"].endswith("/api/v1/reports/production/")
    assert body["pool_accounts"].endswith("/api/v1/pool-accounts/")
    for name in ["prices", "lots", "production", "payouts", "remeasurements", "wallets", "sites"]:
        assert body[name].endswith(f"/api/v1/{name}/")


@pytest.mark.django_db
def test_the_schema_describes_the_holdings_endpoints(api_client_for):
    response = api_client_for("auditor").get(f"{API}/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    holdings = {f"/api/v1{url.split('?')[0].replace('{batch}', '{id}')}" for url in READ_URLS}
    assert holdings <= set(paths)
    for path in holdings:
        for method, operation in paths[path].items():
            assert {"401", "403"} <= set(operation["responses"]), (path, method)
            assert operation.get("security"), (path, method)
    create = paths["/api/v1/imports/"]["post"]
    assert "202" in create["responses"] and "400" in create["responses"]
    assert set(create["requestBody"]["content"]) == {"multipart/form-data"}
    lots = {p["name"] for p in paths["/api/v1/lots/"]["get"]["parameters"]}
    assert lots >= {"account", "commodity", "as_of", "open", "page", "page_size"}


@pytest.mark.django_db  # a management command: its actor is set on the database session
def test_the_schema_generates_without_warnings(tmp_path):
    out = io.StringIO()
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--file",
        str(tmp_path / "schema.yaml"),
        stdout=out,
        stderr=out,
    )
    assert (tmp_path / "schema.yaml").read_text().count("/api/v1/imports/") >= 1
