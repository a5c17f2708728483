"""What PostgreSQL refuses of a production record that is not what its entry posts: the
production report and the ledger's revenue would tell two stories. A writer gone wrong is
played by the import with its record rows altered on their way to the database."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from holdings.models import ProductionRecord
from holdings.selectors import production as production_selectors
from holdings.selectors.production import ProductionBreak
from holdings.services import bulk
from holdings.services.reconciliation import reconcile
from tests.holdings.conftest import f2pool_file, run_import
from tests.holdings.database.test_disposal_records import at_commit, behind_the_triggers

D = Decimal
VALUE, ENTRY = 9, 11  # holdings.services.production_posting.RECORD_COLUMNS


def records_written_as(monkeypatch, change) -> None:
    insert = bulk.insert

    def altered(table, columns, rows):
        if table == "holdings_productionrecord":
            rows = [change(list(row)) for row in rows]
        return insert(table, columns, rows)

    monkeypatch.setattr(bulk, "insert", altered)


def refused(pattern: str) -> None:
    """The import of a day's earnings fails whole, naming the rule PostgreSQL refused it by."""
    batch = run_import("f2pool", f2pool_file([(date(2026, 1, 1), "0.5")]))
    assert batch.status == "failed"
    assert re.search(pattern, str(batch.errors)), batch.errors
    assert not ProductionRecord.objects.exists()


@pytest.mark.django_db
def test_a_record_is_worth_what_its_entry_posts(world, monkeypatch):
    def richer(row):
        row[VALUE] += D("1.00")
        return row

    records_written_as(monkeypatch, richer)
    refused(
        r"holdings_production_record_matches_its_entry: pool account F2P-A's record of "
        r"2026-01-01 earned 0\.5 BTC worth (\d+\.\d\d) USD, but its entry #\d+ of 2026-01-01 "
        r"posts 0\.5 at a value of (?!\1)\d+\.\d\d into the receivable and \d+\.\d\d out of "
        r"mining revenue"
    )


@pytest.mark.django_db
def test_a_record_of_earnings_has_its_entry(world, monkeypatch):
    def unposted(row):
        row[ENTRY] = None
        return row

    records_written_as(monkeypatch, unposted)
    refused(
        r"holdings_production_record_matches_its_entry: pool account F2P-A's record of "
        r"2026-01-01 earned 0\.5 BTC worth \d+\.\d\d USD but has no entry: only a day that "
        r"earned nothing is kept without one"
    )


def import_a_good_day() -> None:
    """A day's earnings with their entry, and a day that earned nothing without one."""
    batch = run_import("f2pool", f2pool_file([(date(2026, 1, 1), "0.5"), (date(2026, 1, 2), "0")]))
    assert batch.status == "succeeded", batch.errors


@pytest.mark.django_db
def test_records_as_the_import_writes_them_pass(world):
    import_a_good_day()
    at_commit()
    assert [(r.net, r.entry_id is None) for r in ProductionRecord.objects.order_by("day")] == [
        (D("0.5"), False),
        (D("0"), True),
    ]


@pytest.mark.django_db
def test_the_nightly_check_names_a_record_its_entry_does_not_post(world):
    import_a_good_day()
    record = ProductionRecord.objects.get(net=D("0.5"))
    behind_the_triggers(
        f"UPDATE holdings_productionrecord SET value = value + 1 WHERE id = {record.pk}"
    )
    assert production_selectors.production_breaks() == [
        ProductionBreak(
            "production_record",
            "2026-01-01",
            "F2P-A",
            record.entry.sequence,
            f"earned 0.5 worth {record.value + 1}; its entry posts 0.5 at {record.value} into "
            f"the receivable and {record.value} out of mining revenue",
        )
    ]
    [run] = reconcile(as_of=date(2026, 1, 10), kinds=["internal"])
    [found] = run.items.filter(checked="production_posted")
    assert (found.status, found.subject) == ("unmatched", "F2P-A 2026-01-01")
    assert found.message.startswith(
        f"production record 2026-01-01 of pool account F2P-A (entry #{record.entry.sequence}) "
        "earned 0.5 worth"
    )
