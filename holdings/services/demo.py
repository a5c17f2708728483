"""Loading the demonstration data (fixtures/demo) through the real import path and the
treasury services, day by day as the nightly jobs would have run."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import groupby
from pathlib import Path
from typing import Any

from holdings.errors import ImportFailed
from holdings.importers.prices import parse_prices
from holdings.models import BatchStatus, ImportBatch, Loan, LoanEvent, Sale, Statement, Transfer
from holdings.services import (
    demo_costs,
    fair_value,
    loan_ltv,
    loans,
    prices,
    production,
    reconciliation,
    setup,
    treasury,
)

DEMO_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
# Folders of the demonstration holding another coin's site, loaded after the bitcoin files.
EXTRA_COINS = ("kas",)


def _month_end(month: str) -> date:
    first = date.fromisoformat(f"{month}-01")
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def demo_load(
    *,
    directory: Path = DEMO_DIR,
    run_batch: Callable[[int], object] | None = None,
    say: Callable[[str], None] = lambda _: None,
    progress: Callable[[list[dict[str, str]]], Iterable[dict[str, str]]] = lambda rows: rows,
) -> dict[str, int]:
    """Set-up, prices, opening lots and loans, then month by month every pool file (each a
    batch run by `run_batch`, the import task by default), the month's custodian and lender
    statements, each day's treasury events with the nightly interest accrual and LTV check,
    and the month-end remeasurement. Loading again writes nothing twice."""
    run = run_batch or (lambda batch_id: production.import_batch_run(batch_id=batch_id))
    created = setup.setup_load(data=json.loads((directory / "setup.json").read_text()))
    say(f"set-up: {created}")
    prices_file = directory / "prices.csv"
    new_prices, _ = prices.prices_import(
        quotes=parse_prices(prices_file.read_bytes(), file_name=prices_file.name),
        file_name=prices_file.name,
        skip_identical=True,
    )
    say(f"prices: {new_prices} new")
    with open(directory / "manifest.csv", newline="") as handle:
        manifest = list(csv.DictReader(handle))
    # The other coins' sites (kas/: a Kaspa site from January 2026), in files of their own so
    # that the bitcoin files stay as they are: set-up and prices now, pool files in their month.
    for extra in EXTRA_COINS:
        folder = directory / extra
        if not (folder / "manifest.csv").exists():
            continue
        more = setup.setup_load(data=json.loads((folder / "setup.json").read_text()))
        more_prices, _ = prices.prices_import(
            quotes=parse_prices((folder / "prices.csv").read_bytes(), file_name="prices.csv"),
            file_name=f"{extra}/prices.csv",
            skip_identical=True,
        )
        say(f"{extra}: set-up {more}, prices: {more_prices} new")
        with open(folder / "manifest.csv", newline="") as handle:
            manifest += list(csv.DictReader(handle))
    manifest.sort(key=lambda row: row["month"])  # stable: each month's files in their order
    opening_date = date.fromisoformat(f"{manifest[0]['month']}-01") - timedelta(days=1)
    with open(directory / "opening_lots.csv", newline="") as handle:
        lots, fresh = setup.opening_lots_load(
            as_of=opening_date, rows=list(csv.DictReader(handle)), source="opening_lots.csv"
        )
    say(f"opening balances at {opening_date}: {lots} lots{'' if fresh else ' (already there)'}")
    assets = demo_costs.costs_setup(directory, opening_date=opening_date)
    say(f"fleet owned at {opening_date}: {assets} assets newly recorded")
    treasury_data = json.loads((directory / "treasury.json").read_text())
    sweeps = directory / "sweeps.json"  # generated: the hot wallets' sweeps to cold storage
    if sweeps.exists():
        treasury_data["events"] = json.loads(sweeps.read_text())["events"] + treasury_data["events"]
    cash = treasury_data.get("opening_cash")
    if cash:
        fresh = setup.opening_cash_load(
            as_of=date.fromisoformat(cash["on"]),
            amount=Decimal(cash["amount"]),
            account=cash["account"],
            memo=cash["memo"],
        )
        say(f"opening cash {cash['amount']} USD{'' if fresh else ' (already there)'}")
    plan = _treasury_setup(treasury_data, say)
    imported = events = statements = 0
    for month, rows in groupby(progress(manifest), key=lambda row: row["month"]):
        for row in rows:
            imported += _import_pool_file(directory, row, run)
        statements += _import_statements(directory, month)
        first = date.fromisoformat(f"{month}-01")
        for day in _days(first, _month_end(month)):
            demo_costs.assets_received_on(directory, day)
            for event in plan.get(day, []):
                events += _treasury_event(event)
            # The nightly jobs of the day.
            loans.loans_accrue(through=day)
            loan_ltv.loans_check_ltv(as_of=day)
        # The month's invoices arrive at its end, paid from the cash of that day.
        demo_costs.month_costs_import(directory, month)
        demo_costs.month_end_close(month)
        for remeasurement in fair_value.remeasure_all(as_of=_month_end(month)):
            say(
                f"{month}: {remeasurement.commodity_id} remeasured, adjustment "
                f"{remeasurement.adjustment}"
            )
    say(
        f"pool files imported: {imported}; statements kept: {statements}; "
        f"treasury events recorded: {events}"
    )
    return {"files": imported, "lots": lots, "events": events, "statements": statements}


def _days(first: date, last: date) -> Iterable[date]:
    while first <= last:
        yield first
        first += timedelta(days=1)


def _import_pool_file(directory: Path, row: dict[str, str], run: Callable[[int], object]) -> int:
    path = directory / row["file"]
    content = path.read_bytes()
    done = ImportBatch.objects.filter(
        file_sha256=hashlib.sha256(content).hexdigest(),
        source=row["source"],
        status=BatchStatus.SUCCEEDED,
    ).exists()
    if done:
        return 0
    batch = production.import_batch_create(
        source=row["source"],
        file_name=f"{row['pool_account']}/{path.name}",
        content=content,
        pool_account=row["pool_account"] if row["source"] != "csv" else None,
    )
    run(batch.pk)
    batch.refresh_from_db()
    if batch.status != BatchStatus.SUCCEEDED:
        raise ImportFailed(batch.errors or [{"message": f"batch {batch.pk} did not run"}])
    return 1


def _import_statements(directory: Path, month: str) -> int:
    """The month's statements (statements/custodian-<month>.csv, statements/lender-<month>.csv:
    the kind is the name's first word), each kept once; the number newly kept."""
    kept = 0
    for path in sorted((directory / "statements").glob(f"*-{month}.csv")):
        kind = path.name.split("-", 1)[0]
        content = path.read_bytes()
        digest = hashlib.sha256(content).hexdigest()
        if Statement.objects.filter(kind=kind, file_sha256=digest).exists():
            continue
        reconciliation.statement_import(kind=kind, file_name=path.name, content=content)
        kept += 1
    return kept


# --- treasury ----------------------------------------------------------------------------


def _treasury_setup(
    data: dict[str, Any], say: Callable[[str], None]
) -> dict[date, list[dict[str, Any]]]:
    """The treasury's wallets and loans; the events by day."""
    setup.setup_load(data={"wallets": data.get("wallets", [])})
    for terms in data.get("loans", []):
        if not Loan.objects.filter(code=terms["code"]).exists():
            loans.loan_create(
                **{
                    **terms,
                    "annual_rate": Decimal(terms["annual_rate"]),
                    "start_date": date.fromisoformat(terms["start_date"]),
                    "maturity_date": date.fromisoformat(terms["maturity_date"]),
                    **{k: Decimal(terms[k]) for k in TIER_FIELDS},
                }
            )
            say(f"loan {terms['code']} ({terms['lender']})")
    plan: dict[date, list[dict[str, Any]]] = {}
    for event in data.get("events", []):
        plan.setdefault(date.fromisoformat(event["on"]), []).append(event)
    return plan


TIER_FIELDS = ("warning_ltv", "margin_call_ltv", "liquidation_ltv")


def _treasury_event(event: dict[str, Any]) -> int:
    """Record one event of treasury.json unless it is recorded already; 1 if written."""
    kind = event["kind"]
    if kind == "settlement":  # released, sold and repaid together: LTV checked at the end
        if all(_recorded(part) for part in event["events"]):
            return 0
        with loan_ltv.settlement():
            return sum(_treasury_event(part) for part in event["events"])
    if _recorded(event):
        return 0
    on = date.fromisoformat(event["on"])
    if kind == "sale":
        treasury.sale_record(
            reference=event["reference"],
            wallet=event["wallet"],
            units=Decimal(event["units"]),
            sold_at=_utc(event["sold_at"]),
            proceeds_commodity=event["proceeds_commodity"],
            gross_proceeds=Decimal(event["gross_proceeds"]),
            fee=Decimal(event.get("fee", "0")),
            proceeds_wallet=event.get("proceeds_wallet"),
        )
    elif kind == "transfer":
        treasury.transfer_record(
            txid=event["txid"],
            from_wallet=event["from_wallet"],
            to_wallet=event["to_wallet"],
            units=Decimal(event["units"]),
            sent_at=_utc(event["sent_at"]),
            fee_units=Decimal(event.get("fee_units", "0")),
        )
    else:
        loan = Loan.objects.get(code=event["loan"])
        if kind == "draw":
            loans.loan_draw(
                loan=loan, amount=Decimal(event["amount"]), on=on, to_wallet=event["to_wallet"]
            )
        elif kind == "pledge":
            loans.loan_pledge(
                loan=loan,
                units=Decimal(event["units"]),
                from_wallet=event["from_wallet"],
                on=on,
                control=event["control"],
            )
        elif kind == "release":
            loans.loan_release(
                loan=loan,
                units=Decimal(event["units"]),
                to_wallet=event["to_wallet"],
                on=on,
                control=event["control"],
            )
        elif kind == "repayment":
            loans.loan_repay(
                loan=loan, amount=Decimal(event["amount"]), on=on, from_wallet=event["from_wallet"]
            )
        else:
            raise ValueError(f"treasury.json: unknown event kind {kind!r}")
    return 1


def _recorded(event: dict[str, Any]) -> bool:
    kind = event["kind"]
    if kind == "sale":
        return Sale.objects.filter(reference=event["reference"]).exists()
    if kind == "transfer":
        return Transfer.objects.filter(txid=event["txid"]).exists()
    same = LoanEvent.objects.filter(
        loan__code=event["loan"],
        kind=kind,
        effective_date=event["on"],
        amount=Decimal(event.get("amount", "0")),
        units=Decimal(event.get("units", "0")),
    )
    if kind in ("pledge", "release"):  # several wallets may pledge the same units in a day
        same = same.filter(details__wallet=event.get("from_wallet") or event.get("to_wallet"))
    return same.exists()


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
