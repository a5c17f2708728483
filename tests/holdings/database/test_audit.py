"""The miner's records in the audit log: set-up, batches, lots' changes, sales, loans...,
with the actor of the Celery task that imports; insert-only evidence is not logged."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest
from django.db import connection

from holdings.models import ImportBatch, Lot
from holdings.services import production
from holdings.tasks import import_batch
from ledger.models import AuditLog
from tests.holdings.conftest import ADDRESS, f2pool_file

JAN = [date(2026, 1, d) for d in range(1, 32)]


def logged(table: str, **filters) -> list[AuditLog]:
    return list(AuditLog.objects.filter(table_name=table, **filters).order_by("id"))


def a_file() -> bytes:
    return f2pool_file(
        earnings=[(JAN[0], "0.5"), (JAN[1], "0.25")],
        payouts=[(1, datetime(2026, 1, 3, 2, tzinfo=UTC), "0.6", ADDRESS)],
    )


@pytest.mark.django_db
def test_an_import_by_the_task_is_logged_with_the_tasks_name(world):
    batch = production.import_batch_create(
        source="f2pool", file_name="jan.json", content=a_file(), pool_account="F2P-A"
    )
    (created,) = logged("holdings_importbatch", record_id=str(batch.pk), action="insert")
    assert "content" not in created.new  # the file is not copied into the log
    assert created.new["file_sha256"] == batch.file_sha256

    result = import_batch.apply(args=[batch.pk])
    assert result.successful() and result.result["status"] == "succeeded", result.result

    changes = logged("holdings_importbatch", record_id=str(batch.pk), action="update")
    assert changes and {row.actor for row in changes} == {"task:holdings.import_batch"}
    assert changes[-1].new["status"] == "succeeded"
    assert all(row.context.startswith("task ") for row in changes)
    entries = logged("ledger_journalentry")
    assert len(entries) == 3  # two earnings and the payout
    assert {row.actor for row in entries} == {"task:holdings.import_batch"}
    # Lots: opened without a row each (their entry is logged), then every change logged:
    # a later payout moves the earnings' lots out of the receivable.
    assert not logged("holdings_lot")
    later = production.import_batch_create(
        source="f2pool",
        file_name="feb.json",
        content=f2pool_file(
            earnings=[], payouts=[(2, datetime(2026, 1, 5, 2, tzinfo=UTC), "0.1", ADDRESS)]
        ),
        pool_account="F2P-A",
    )
    assert import_batch.apply(args=[later.pk]).result["status"] == "succeeded"
    moved = logged("holdings_lot", action="update")
    assert moved and {row.actor for row in moved} == {"task:holdings.import_batch"}
    assert {"quantity", "cost"} <= set().union(*(row.new for row in moved))
    assert not logged("holdings_lot", action="insert")
    assert Lot.objects.count() >= 3
    # Insert-only evidence is not logged (README: The audit log).
    for table in ("holdings_productionrecord", "holdings_payout", "holdings_lotmovement"):
        assert not logged(table), table


@pytest.mark.django_db
def test_a_files_content_is_left_out_of_every_change_logged(world):
    batches = [
        production.import_batch_create(
            source="f2pool",
            file_name=f"{n}.json",
            content=a_file() + b" " * n,
            pool_account="F2P-A",
        )
        for n in range(3)
    ]
    ids = [batch.pk for batch in batches]
    with connection.cursor() as cursor:
        # Several rows in one statement; then one changing only what the log leaves out.
        cursor.execute(
            "UPDATE holdings_importbatch SET attempts = attempts + 1 WHERE id = ANY(%s)", [ids]
        )
        cursor.execute(
            "UPDATE holdings_importbatch SET content = content || ' '::bytea WHERE id = %s",
            [ids[0]],
        )
        cursor.execute("DELETE FROM holdings_importbatch WHERE id = %s", [ids[2]])
    updates = logged("holdings_importbatch", action="update")
    assert sorted(row.record_id for row in updates) == sorted(str(pk) for pk in ids)
    assert all((row.old, row.new) == ({"attempts": 0}, {"attempts": 1}) for row in updates)
    (deleted,) = logged("holdings_importbatch", action="delete")
    assert deleted.record_id == str(ids[2]) and deleted.new is None
    assert deleted.old["file_name"] == "2.json" and "content" not in deleted.old
    inserted = logged("holdings_importbatch", action="insert")
    assert len(inserted) == 3 and all("content" not in row.new for row in inserted)


@pytest.mark.django_db
def test_set_up_is_logged(world):
    for table in ("holdings_site", "holdings_pool", "holdings_poolaccount", "holdings_wallet"):
        assert logged(table, action="insert"), table
    assert len(logged("holdings_walletaddress", action="insert")) == 3
    assert logged("holdings_price", action="insert")


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_worker_records_the_task_as_the_actor(tx_world, worker):
    batch = production.import_batch_create(
        source="f2pool", file_name="jan.json", content=a_file(), pool_account="F2P-A"
    )
    result = import_batch.delay(batch.pk)
    assert result.get(timeout=60)["status"] == "succeeded"
    deadline = time.monotonic() + 10
    while ImportBatch.objects.get(pk=batch.pk).status != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    changes = logged("holdings_importbatch", record_id=str(batch.pk), action="update")
    assert {row.actor for row in changes} == {"task:holdings.import_batch"}
    assert {row.context for row in changes} == {f"task {result.id}"}
