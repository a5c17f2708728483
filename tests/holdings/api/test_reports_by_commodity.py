"""The reports of every commodity with their total in USD, the roll-forward and the realized
gains: through the API (JSON and CSV) and on their admin pages, each commodity's figures as
its own report gives them, and a total that adds up only USD figures, never units of
different coins."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from holdings.models import BatchStatus
from holdings.services import setup, treasury
from tests.holdings.admin.test_reports import (  # noqa: F401 (fixtures)
    API,
    JANUARY,
    as_role,
    books,
    page_url,
    rows,
    users,
)
from tests.holdings.conftest import f2pool_file, load_prices, run_import

pytestmark = pytest.mark.django_db
KAS_ADDRESS = "kaspa:qqkqkzjvr7zwxxmjxjkmxxdwju9kjs6e9u82uh59z07vgaks6gg62v8707g73"
USD_COLUMNS = ("cost", "fair_value_adjustment", "carrying_value", "proceeds", "realized_gain")


@pytest.fixture
def coins(books):  # noqa: F811 (fixture imported above)
    """The report books (BTC, and USDT from the sale) and a KAS sub-account that mined
    ten days of January 2026, paid out 5,000.5 KAS to KAS-1 of which 1,000.12345678 sold."""
    setup.pool_account_create(code="F2P-KAS", pool="f2pool", name="cango-kas", commodity="KAS")
    setup.wallet_create(code="KAS-1", name="Kaspa", commodity="KAS", addresses=[KAS_ADDRESS])
    load_prices(date(2026, 1, 1), date(2026, 1, 31), base="KAS")
    earnings = [(date(2026, 1, day), "1000.12345678") for day in range(1, 11)]
    paid_at = datetime(2026, 1, 12, tzinfo=UTC)
    content = f2pool_file(earnings, [(77, paid_at, "5000.5", KAS_ADDRESS)])
    batch = run_import("f2pool", content, pool_account="F2P-KAS")
    assert batch.status == BatchStatus.SUCCEEDED, batch.errors
    treasury.sale_record(
        reference="K-1",
        wallet="KAS-1",
        units=Decimal("1000.12345678"),
        sold_at=datetime(2026, 1, 20, 9, tzinfo=UTC),
        proceeds_commodity="USDT",
        gross_proceeds=Decimal("99.78"),
        proceeds_value=Decimal("99.78"),
        proceeds_wallet="USDT-1",
    )
    return books


def get_json(api_client_for: Any, path: str, query: dict[str, str]) -> dict[str, Any]:
    response = api_client_for("auditor").get(f"{API}/{path}/", query)
    assert response.status_code == 200, response.content
    return response.json()


def test_each_commodity_as_its_own_roll_forward_then_the_total_in_usd(coins, api_client_for):
    body = get_json(api_client_for, "rollforward-by-commodity", JANUARY)
    assert body["commodities"] == ["BTC", "KAS", "USDT"]
    assert body["ties_to_trial_balance"] is True
    for code in body["commodities"]:
        own = get_json(api_client_for, "rollforward", {**JANUARY, "commodity": code})
        mine = [line for line in body["lines"] if line["commodity"] == code]
        assert [{k: v for k, v in line.items() if k != "commodity"} for line in mine] == [
            {k: v for k, v in line.items() if k != "commodity"} for line in own["lines"]
        ]
    kas_mined = next(
        line
        for line in body["lines"]
        if line["commodity"] == "KAS" and line["line"] == "additions.mining"
    )
    assert kas_mined["units"] == "10001.23456780"  # KAS at its own scale
    assert Decimal(kas_mined["cost"]) > 0
    # The total: the same lines, USD figures added up across commodities, no units.
    assert [line["line"] for line in body["total"]] == [
        line["line"] for line in body["lines"] if line["commodity"] == "BTC"
    ]
    for total in body["total"]:
        assert total["commodity"] is None and total["units"] is None
        assert total["label"].startswith("Every commodity, in USD: ")
        same = [line for line in body["lines"] if line["line"] == total["line"]]
        for column in USD_COLUMNS:
            if total[column] is None:
                assert all(line[column] is None for line in same)
            else:
                assert Decimal(total[column]) == sum(Decimal(line[column]) for line in same)
    closing = next(line for line in body["total"] if line["line"] == "closing")
    opening = next(line for line in body["total"] if line["line"] == "opening")
    moved = sum(
        Decimal(line["carrying_value"])
        for line in body["total"]
        if line["line"] not in ("opening", "closing")
    )
    assert Decimal(opening["carrying_value"]) + moved == Decimal(closing["carrying_value"])


def test_the_csv_holds_every_commodity_then_the_total_with_no_units(coins, api_client_for):
    response = api_client_for("auditor").get(
        f"{API}/rollforward-by-commodity/", {**JANUARY, "format": "csv"}
    )
    assert response.status_code == 200
    assert "rollforward-by-commodity_2026-01-01_2026-01-31.csv" in response["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["commodity"] for row in table if row["line"] == "closing"] == [
        "BTC",
        "KAS",
        "USDT",
        "",
    ]
    totals = [row for row in table if row["commodity"] == ""]
    assert totals and all(row["units"] == "" for row in totals)
    closing = [row for row in table if row["line"] == "closing"]
    assert Decimal(closing[-1]["carrying_value"]) == sum(
        Decimal(row["carrying_value"]) for row in closing[:-1]
    )


def test_the_admin_page_equals_the_api(coins, as_role, api_client_for):  # noqa: F811
    body = get_json(api_client_for, "rollforward-by-commodity", JANUARY)
    page = as_role("auditor").get(page_url("rollforward-by-commodity"), JANUARY)
    assert page.status_code == 200
    assert [
        (r["Commodity"], r["Line"], r["Units"], r["Carrying value (USD)"]) for r in rows(page)
    ] == [(x["commodity"], x["line"], x["units"], x["carrying_value"]) for x in body["lines"]]
    assert [
        (r["Commodity"], r["Line"], r["Units"], r["Carrying value (USD)"])
        for r in rows(page, table=1)
    ] == [("Every commodity", x["line"], "", x["carrying_value"]) for x in body["total"]]


def test_a_bad_period_is_refused_naming_it(coins, api_client_for):
    response = api_client_for("auditor").get(
        f"{API}/rollforward-by-commodity/", {"start": "2026-02-01", "end": "2026-01-01"}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "end"
    assert response.json()["detail"] == "must not be before start (2026-02-01)."


# --- realized gains by commodity -------------------------------------------------------


def test_realized_gains_by_commodity_are_each_commodity_s_totals_and_their_usd_total(
    coins, api_client_for
):
    body = get_json(api_client_for, "realized-gains-by-commodity", JANUARY)
    assert [row["commodity"] for row in body["results"]] == ["BTC", "KAS"]
    for row in body["results"]:
        own = get_json(api_client_for, "realized-gains", {**JANUARY, "commodity": row["commodity"]})
        assert {k: v for k, v in row.items() if k != "commodity"} == own["totals"]
    kas = body["results"][1]
    assert (kas["disposals"], kas["units"]) == (1, "1000.12345678")  # at KAS's scale
    total = body["total"]
    assert (total["commodity"], total["units"]) == (None, None)
    assert total["disposals"] == sum(row["disposals"] for row in body["results"])
    for column in ("cost", "carrying_value", "proceeds", "realized_gain"):
        assert Decimal(total[column]) == sum(Decimal(row[column]) for row in body["results"])


def test_realized_gains_by_commodity_in_csv_and_on_its_page(coins, as_role, api_client_for):  # noqa: F811
    body = get_json(api_client_for, "realized-gains-by-commodity", JANUARY)
    response = api_client_for("auditor").get(
        f"{API}/realized-gains-by-commodity/", {**JANUARY, "format": "csv"}
    )
    table = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["commodity"] for row in table] == ["BTC", "KAS", "Total in USD"]
    assert table[-1]["units"] == ""
    assert table[-1]["realized_gain"] == body["total"]["realized_gain"]
    page = as_role("auditor").get(page_url("realized-gains-by-commodity"), JANUARY)
    assert page.status_code == 200
    shown = [(r["Commodity"], r["Units"], r["Realized gain (USD)"]) for r in rows(page)]
    assert shown[:2] == [
        (row["commodity"], row["units"], row["realized_gain"]) for row in body["results"]
    ]
    assert shown[-1] == ("Total in USD", "", body["total"]["realized_gain"])
