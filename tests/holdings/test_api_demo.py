"""The API over the demonstration data (fixtures/demo, Q4 2025, 44 pool accounts).

The demo is loaded once for the module, inside a transaction that is rolled back at the
end; each test runs in a savepoint within it, so nothing leaks into other modules.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction

from holdings.demo import demo_load
from ledger.services import chart_load
from tests.conftest import CHART, ensure_reference_data

API = "/api/v1"
Q4 = {"start": "2025-10-01", "end": "2025-12-31"}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        ensure_reference_data()
        with CHART.open(newline="") as handle:
            chart_load(rows=list(csv.DictReader(handle)))
        loaded = demo_load()
        with connection.cursor() as cursor:
            # Statistics for the planner (ANALYZE sees this transaction's own rows), then the
            # deferred checks a commit would run, once, rather than in some test's teardown.
            cursor.execute("ANALYZE")
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        yield loaded
        transaction.set_rollback(True)


def pages(client: Any, url: str, query: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        response = client.get(url, {**query, "page": page, "page_size": 1000})
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        if not body["next"]:
            return rows
        page += 1


@pytest.mark.django_db
def test_the_production_report_of_the_demo_quarter(demo, api_client_for):
    response = api_client_for("auditor").get(f"{API}/reports/production/", Q4)
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [row["month"] for row in rows] == ["2025-10", "2025-11", "2025-12"]
    assert [row["mined"] for row in rows] == ["602.60000000", "546.70000000", "569.00000000"]
    assert [row["held_at_month_end"] for row in rows] == [
        "6412.60000000",
        "6959.30000000",
        "7528.30000000",
    ]
    for row in rows:
        held = Decimal(row["held_at_month_end"])
        restricted = Decimal(row["restricted_at_month_end"])
        assert Decimal(row["unrestricted_at_month_end"]) == held - restricted
        assert row["average_operating_hashrate_ehs"] is not None
    # Nothing is sold in the demo: what is held grows by what is mined.
    assert [row["held_change"] for row in rows[1:]] == ["546.70000000", "569.00000000"]


@pytest.mark.django_db
def test_the_demo_imports_and_lots_tie_to_the_report(demo, api_client_for):
    client = api_client_for("auditor")
    imports = client.get(f"{API}/imports/", {"status": "succeeded", "page_size": 1}).json()
    assert imports["count"] == demo["files"]
    assert client.get(f"{API}/imports/", {"status": "failed"}).json()["count"] == 0
    assert client.get(f"{API}/pool-accounts/").json()["count"] == 44

    lots = pages(client, f"{API}/lots/", {"commodity": "BTC", "as_of": "2025-12-31"})
    assert sum(Decimal(row["quantity"]) for row in lots) == Decimal("7528.3")
    remeasured = client.get(f"{API}/remeasurements/", {"commodity": "BTC"}).json()
    assert [row["as_of"] for row in remeasured["results"]] == [
        "2025-12-31",
        "2025-11-30",
        "2025-10-31",
    ]
    assert remeasured["results"][0]["units"] == "7528.30000000"
