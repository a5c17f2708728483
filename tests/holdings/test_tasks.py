"""The nightly jobs, run by a real Celery worker against local stubs of the pools' and the
price provider's APIs."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django_celery_beat.models import PeriodicTask
from werkzeug import Request, Response

from holdings.models import (
    BatchStatus,
    ImportBatch,
    Price,
    ProductionRecord,
    Remeasurement,
    Wallet,
)
from holdings.services import production
from holdings.tasks import (
    accrue_interest,
    check_ltv,
    fetch_prices,
    fetch_production,
    reconcile,
    remeasure_month_end,
    resume_stalled_imports,
    verify_lots,
)
from ledger.errors import InvalidEntry
from tests.holdings.conftest import ADDRESS, f2pool_file, run_import

D = Decimal


@pytest.fixture(scope="session")
def httpserver_listen_address():
    return ("127.0.0.1", 0)


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.mark.django_db
def test_the_nightly_jobs_are_scheduled_in_the_database():
    scheduled = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {
        "holdings.fetch_prices",
        "holdings.fetch_production",
        "holdings.resume_stalled_imports",
        "holdings.remeasure_month_end",
        "holdings.verify_lots",
        "holdings.accrue_interest",
        "holdings.check_ltv",
        "holdings.drop_failed_content",
    } <= scheduled


@pytest.mark.django_db(transaction=True)
def test_the_nightly_fetch_imports_yesterday_from_every_pool_account_api(
    tx_world, worker, httpserver, monkeypatch
):
    monkeypatch.setenv("F2P_TEST_SECRET", "s3cret")
    pool = tx_world["pool"]
    pool.api_base_url = httpserver.url_for("/").rstrip("/")
    pool.save()
    account = tx_world["account"]
    account.fetch_daily, account.api_secret_env = True, "F2P_TEST_SECRET"
    account.save()
    day = date(2026, 1, 5)

    def transactions(request: Request) -> Response:
        assert request.headers["F2P-API-SECRET"] == "s3cret"
        body = json.loads(request.data)
        assert body["mining_user_name"] == "cango-a" and body["currency"] == "bitcoin"
        if body["type"] == "revenue":
            content = f2pool_file([(date(2026, 1, 4), "0.3"), (day, "0.2")])
        else:
            content = f2pool_file(
                payouts=[(7, datetime(2026, 1, 5, 4, tzinfo=UTC), "0.3", ADDRESS)]
            )
        return Response(content, content_type="application/json")

    httpserver.expect_request("/v2/assets/transactions/list", method="POST").respond_with_handler(
        transactions
    )

    result = fetch_production.delay(day="2026-01-05").get(timeout=60)

    assert result == {"day": "2026-01-05", "pool_accounts": ["F2P-A"]}
    wait_for(lambda: ImportBatch.objects.filter(status=BatchStatus.SUCCEEDED).exists())
    batch = ImportBatch.objects.get()
    assert batch.file_name == "f2pool-F2P-A-2026-01-05.json"
    assert batch.records_created == 3
    assert sorted(ProductionRecord.objects.values_list("day", flat=True)) == [date(2026, 1, 4), day]


@pytest.mark.django_db(transaction=True)
def test_a_stalled_batch_is_imported_again_by_the_sweep(tx_world, worker, settings):
    batch = production.import_batch_create(
        source="f2pool",
        file_name="stalled.json",
        content=f2pool_file([(date(2026, 1, 1), "1")]),
        pool_account="F2P-A",
    )
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING)
    settings.IMPORT_STALE_AFTER_MINUTES = 0

    assert resume_stalled_imports.delay().get(timeout=60) == {
        "resumed": [batch.pk],
        "statement_uploads": [],
    }
    wait_for(lambda: ImportBatch.objects.get(pk=batch.pk).status == BatchStatus.SUCCEEDED)


@pytest.mark.django_db
def test_prices_are_fetched_from_the_configured_provider(chart, httpserver, settings):
    settings.PRICE_PROVIDER_URL = httpserver.url_for("/").rstrip("/")
    settings.PRICE_PROVIDER_ASSETS = ["BTC"]
    httpserver.expect_request("/v4/timeseries/asset-metrics").respond_with_json(
        {
            "data": [
                {"asset": "btc", "time": "2026-01-03T00:00:00.000000000Z", "PriceUSD": "91000.5"},
                {"asset": "btc", "time": "2026-01-04T00:00:00.000000000Z", "PriceUSD": "92000.25"},
            ]
        }
    )
    result = fetch_prices.apply(kwargs={"day": "2026-01-05"}).get()
    assert result == {"day": "2026-01-05", "created": 2, "skipped": 0}
    # A daily close is the price at the end of its day.
    assert Price.objects.get(timestamp=datetime(2026, 1, 5, tzinfo=UTC)).price == D("92000.25")
    assert fetch_prices.apply(kwargs={"day": "2026-01-05"}).get()["skipped"] == 2


@pytest.mark.django_db
def test_month_end_remeasurement_and_the_lot_check(world):
    run_import("f2pool", f2pool_file([(date(2026, 1, d), "0.1") for d in range(1, 31)]))
    result = remeasure_month_end.apply(kwargs={"as_of": "2026-01-31"}).get()
    assert result["as_of"] == "2026-01-31" and "BTC" in result["remeasured"]
    assert Remeasurement.objects.get().as_of == date(2026, 1, 31)
    assert verify_lots.apply().get()["ok"] is True

    # Someone with direct database access trims a lot and its movement together, after the
    # checks the import's commit would have run (which would find the change).
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "UPDATE holdings_lotmovement SET quantity = quantity - 0.01 WHERE id = "
            "(SELECT min(id) FROM holdings_lotmovement)"
        )
        cursor.execute(
            "UPDATE holdings_lot SET quantity = quantity - 0.01, original_quantity = "
            "original_quantity - 0.01 WHERE id = (SELECT min(lot_id) FROM holdings_lotmovement)"
        )
        cursor.execute("SET session_replication_role = DEFAULT")
    report = verify_lots.apply().get()
    assert report["ok"] is False
    assert report["differences"][0]["account"] == "1300-F2P-A"


@pytest.mark.django_db
def test_prices_are_fetched_for_every_commodity_held_by_default(world, httpserver, settings):
    from holdings.services import setup

    setup.pool_account_create(code="F2P-KAS", pool="f2pool", name="cango-kas", commodity="KAS")
    setup.wallet_create(code="ETC-1", name="ETC wallet", commodity="ETC")
    setup.wallet_create(code="GONE", name="Closed", commodity="USDT")
    Wallet.objects.filter(code="GONE").update(is_active=False)
    settings.PRICE_PROVIDER_URL = httpserver.url_for("/").rstrip("/")
    settings.PRICE_PROVIDER_ASSETS = []
    rows = [
        {"asset": asset, "time": "2026-03-03T00:00:00.000000000Z", "PriceUSD": price}
        for asset, price in (("btc", "91000.5"), ("etc", "17.25"), ("kas", "0.09978"))
    ]
    httpserver.expect_request("/v4/timeseries/asset-metrics").respond_with_json({"data": rows})
    result = fetch_prices.apply(kwargs={"day": "2026-03-05"}).get()
    [(request, _response)] = httpserver.log
    assert request.args["assets"] == "btc,etc,kas"  # not the closed USDT wallet's
    assert result["created"] == 3
    at = datetime(2026, 3, 4, tzinfo=UTC)
    assert Price.objects.get(base="KAS", timestamp=at).price == D("0.09978")
    assert Price.objects.get(base="ETC", timestamp=at).price == D("17.25")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "task", [check_ltv, fetch_prices, accrue_interest, reconcile, remeasure_month_end]
)
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_task_given_a_day_outside_the_books_fails_naming_it(chart, task, day):
    with pytest.raises(InvalidEntry, match=r"^day "):
        task.run(day)
