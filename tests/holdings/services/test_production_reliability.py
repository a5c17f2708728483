"""Imports under stress, in real processes: several at once, and one killed mid-batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection

from holdings.models import BatchStatus, ImportBatch, Payout, ProductionRecord
from holdings.selectors import lots, production
from ledger.models import JournalEntry
from tests.holdings.conftest import ADDRESS, f2pool_file

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

ROOT = Path(__file__).resolve().parents[3]
START = date(2026, 1, 1)


def month_file(first_day: int, days: int) -> bytes:
    """Daily earnings, each paid out the next morning."""
    earnings = [(START + timedelta(days=first_day + i), "0.1") for i in range(days)]
    payouts = [
        (
            100 + first_day + i,
            datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
            + timedelta(hours=3),
            "0.1",
            ADDRESS,
        )
        for i, (day, _net) in enumerate(earnings)
    ]
    return f2pool_file(earnings, payouts)


def subprocess_env() -> dict[str, str]:
    """The test database, as a URL, for manage.py run in another process."""
    db = connection.settings_dict
    host = quote(db["HOST"] or "", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PYTHONFAULTHANDLER"] = "1"
    env["DATABASE_URL"] = f"postgresql://{db['USER']}{password}@{host}{port}/{db['NAME']}"
    return env


def manage(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_several_processes_importing_the_same_files_at_once_create_each_record_once(
    tx_world, tmp_path
):
    files = []
    for name, first, days in (("a.json", 0, 20), ("b.json", 10, 20), ("c.json", 5, 10)):
        path = tmp_path / name
        path.write_bytes(month_file(first, days))
        files.append(str(path))
    workers = [
        manage(
            "import_production",
            "--source",
            "f2pool",
            "--pool-account",
            "F2P-A",
            "--sync",
            *(files if i % 2 else reversed(files)),
        )
        for i in range(4)
    ]
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]

    assert [w.returncode for w in workers] == [0, 0, 0, 0], outputs
    assert ImportBatch.objects.filter(status=BatchStatus.SUCCEEDED).count() == 12
    assert ProductionRecord.objects.count() == 30
    assert Payout.objects.count() == 30
    assert JournalEntry.objects.filter(kind="pool_earning").count() == 30
    assert JournalEntry.objects.filter(kind="pool_payout").count() == 30
    assert lots.lot_differences(as_of=date(2026, 12, 31)) == []


def test_a_worker_killed_mid_batch_leaves_nothing_and_the_retry_completes(
    tx_world, tmp_path, settings
):
    path = tmp_path / "big.json"
    path.write_bytes(month_file(0, 40))
    db = connection.settings_dict
    blocker = psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        host=db["HOST"],
        port=db["PORT"] or None,
        password=db.get("PASSWORD") or None,
    )
    try:
        # Hold the import at its records: entries are already written by then, uncommitted.
        blocker.execute("LOCK TABLE holdings_productionrecord IN SHARE MODE")
        worker = manage(
            "import_production",
            "--source",
            "f2pool",
            "--pool-account",
            "F2P-A",
            "--sync",
            str(path),
        )
        waiting = None
        deadline = time.monotonic() + 60
        while waiting is None and time.monotonic() < deadline:
            assert worker.poll() is None, worker.communicate()[0]
            # The blocker is inside a transaction, whose view of the activity is a snapshot.
            blocker.execute("SELECT pg_stat_clear_snapshot()")
            waiting = blocker.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' "
                "AND query LIKE '%%holdings_productionrecord%%'"
            ).fetchone()
            time.sleep(0.1)
        if waiting is None:
            worker.send_signal(signal.SIGABRT)  # its traceback shows where it waits
        assert waiting is not None, worker.communicate()[0]
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        blocker.rollback()
    try:
        # Its server process, let go, finds its client gone and rolls the transaction back.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            blocker.execute("SELECT pg_stat_clear_snapshot()")
            if not blocker.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [waiting[0]]
            ).fetchone():
                break
            time.sleep(0.1)
        else:
            pytest.fail("the killed import's server process lingers")
    finally:
        blocker.close()

    batch = ImportBatch.objects.get()
    assert batch.status == BatchStatus.RUNNING
    assert JournalEntry.objects.count() == 0
    assert ProductionRecord.objects.count() == 0 and Payout.objects.count() == 0

    settings.IMPORT_STALE_AFTER_MINUTES = 0
    assert production.stalled_batch_ids() == [batch.pk]
    retry = manage("import_production", "--retry", str(batch.pk), "--sync")
    output = retry.communicate(timeout=120)[0]
    assert retry.returncode == 0, output

    batch.refresh_from_db()
    assert (batch.status, batch.attempts, batch.records_created) == ("succeeded", 2, 80)
    assert ProductionRecord.objects.count() == 40
    assert JournalEntry.objects.count() == 80
    assert lots.lot_differences(as_of=date(2026, 12, 31)) == []
