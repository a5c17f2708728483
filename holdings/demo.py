"""Loading the demonstration data (fixtures/demo) through the real import path."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from itertools import groupby
from pathlib import Path

from holdings import production, services
from holdings.errors import ImportFailed
from holdings.importers.prices import parse_prices
from holdings.models import BatchStatus, ImportBatch

DEMO_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "demo"


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
    """Set-up, prices, opening lots, then month by month every pool file (each a batch run
    by `run_batch`, the import task by default) and the month-end remeasurement. Loading
    again imports nothing twice."""
    run = run_batch or (lambda batch_id: production.import_batch_run(batch_id=batch_id))
    created = services.setup_load(data=json.loads((directory / "setup.json").read_text()))
    say(f"set-up: {created}")
    prices_file = directory / "prices.csv"
    new_prices, _ = services.prices_import(
        quotes=parse_prices(prices_file.read_bytes(), file_name=prices_file.name),
        file_name=prices_file.name,
    )
    say(f"prices: {new_prices} new")
    with open(directory / "manifest.csv", newline="") as handle:
        manifest = list(csv.DictReader(handle))
    opening_date = date.fromisoformat(f"{manifest[0]['month']}-01") - timedelta(days=1)
    with open(directory / "opening_lots.csv", newline="") as handle:
        lots, fresh = services.opening_lots_load(
            as_of=opening_date, rows=list(csv.DictReader(handle)), source="opening_lots.csv"
        )
    say(f"opening balances at {opening_date}: {lots} lots{'' if fresh else ' (already there)'}")
    imported = 0
    month_ends = {row["month"]: _month_end(row["month"]) for row in manifest}
    for month, rows in groupby(progress(manifest), key=lambda row: row["month"]):
        for row in rows:
            path = directory / row["file"]
            content = path.read_bytes()
            done = ImportBatch.objects.filter(
                file_sha256=hashlib.sha256(content).hexdigest(),
                source=row["source"],
                status=BatchStatus.SUCCEEDED,
            ).exists()
            if done:
                continue
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
            imported += 1
        for remeasurement in services.remeasure_all(as_of=month_ends[month]):
            say(
                f"{month}: {remeasurement.commodity_id} remeasured, adjustment "
                f"{remeasurement.adjustment}"
            )
    say(f"pool files imported: {imported}")
    return {"files": imported, "lots": lots}
