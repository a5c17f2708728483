"""The demonstration's cost of production (fixtures/demo/costs): the mining fleet and the HPC
pilot's equipment and contract, each month's invoices and meter readings, and the month-end
depreciation and HPC revenue, through the same services finance staff use."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from holdings.models import FixedAsset, HpcContract
from holdings.services import cost_month_end, costs, fixed_assets, hpc


def _fleet(directory: Path) -> list[dict[str, str]]:
    path = directory / "costs" / "fleet.csv"
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def costs_setup(directory: Path, *, opening_date: date) -> int:
    """The machines owned at the opening date, in service from their day, and the HPC
    contracts; the number of assets newly recorded."""
    recorded = 0
    for row in _fleet(directory):
        if row["opening"] == "true" and date.fromisoformat(row["received_on"]) <= opening_date:
            recorded += _asset(row, opening=True)
    path = directory / "costs" / "hpc.json"
    contracts = json.loads(path.read_text())["contracts"] if path.exists() else []
    for terms in contracts:
        if HpcContract.objects.filter(code=terms["code"]).exists():
            continue
        hpc.hpc_contract_create(
            **{
                **terms,
                "capacity_mw": Decimal(terms["capacity_mw"]),
                "monthly_fee": Decimal(terms["monthly_fee"]),
                "usage_rate": Decimal(terms["usage_rate"]),
                "start": date.fromisoformat(terms["start"]),
            }
        )
    return recorded


def _asset(row: dict[str, str], *, opening: bool) -> int:
    if FixedAsset.objects.filter(code=row["code"]).exists():
        return 0
    fixed_assets.asset_receive(
        code=row["code"],
        asset_class=row["asset_class"],
        cost=Decimal(row["cost"]),
        received_on=date.fromisoformat(row["received_on"]),
        description=row["description"],
        vendor=row["vendor"],
        units=int(row["units"]),
        hashrate_ths=Decimal(row["hashrate_ths"]) if row["hashrate_ths"] else None,
        power_kw=Decimal(row["power_kw"]) if row["power_kw"] else None,
        paid=not opening,
        opening=opening,
    )
    fixed_assets.asset_place_in_service(
        asset=row["code"],
        site=row["site"],
        on=date.fromisoformat(row["in_service_on"]),
        useful_life_months=int(row["useful_life_months"]),
    )
    return 1


def assets_received_on(directory: Path, day: date) -> int:
    """The machines bought during the data (not owned at the opening date) received on `day`."""
    return sum(
        _asset(row, opening=False)
        for row in _fleet(directory)
        if row["opening"] != "true" and date.fromisoformat(row["received_on"]) == day
    )


def month_costs_import(directory: Path, month: str) -> int:
    """The month's invoices and meter readings (costs/invoices-<month>.csv,
    costs/meter-readings-<month>.csv), each file once; the number newly posted."""
    posted = 0
    for name, load in (
        (f"invoices-{month}.csv", costs.site_costs_import),
        (f"meter-readings-{month}.csv", costs.meter_readings_import),
    ):
        path = directory / "costs" / name
        if path.exists():
            _record, fresh = load(content=path.read_bytes(), file_name=name)
            posted += fresh
    return posted


def month_end_close(month: str) -> None:
    """The month-end work on costs, as its schedule runs it; nothing is accrued, since every
    invoice of the demonstration is in its month's file."""
    cost_month_end.costs_month_end(month=date.fromisoformat(f"{month}-01"), accruals=False)
