"""Several connections at once, with real commits (transactional tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction

from ledger import selectors, services
from ledger.errors import ClosedPeriod, IdempotencyConflict, InsufficientBalance, InvalidEntry
from ledger.models import Account, JournalEntry

D = Decimal
DAY = date(2025, 10, 1)
WORKERS = 8

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


def run_at_once(work: Callable[[int], object]) -> list[object]:
    """Run work(i) in WORKERS threads (each its own connection), started together."""
    barrier = threading.Barrier(WORKERS)
    results: list[object] = [None] * WORKERS

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_parallel_spends_never_take_a_guarded_account_below_zero(chart):
    services.entry_post(
        effective_date=DAY,
        memo="earning",
        postings=[("1300", D("1.00000000"), D("100000")), ("4000", D(-100000), D(-100000))],
    )

    def payout(i: int):
        return services.entry_post(
            effective_date=DAY,
            memo=f"payout {i}",
            postings=[("1300", D("-0.3"), D("-30000")), ("1210", D("0.3"), D("30000"))],
        )

    results = run_at_once(payout)
    posted = [r for r in results if isinstance(r, JournalEntry)]
    refused = [r for r in results if isinstance(r, InsufficientBalance)]
    assert len(posted) == 3 and len(refused) == WORKERS - 3, results
    assert selectors.account_balance(account="1300", as_of=DAY).quantity == D("0.1")
    assert selectors.accounts_below_zero() == []


def test_the_same_idempotency_key_posted_at_once_yields_one_entry(chart):
    def post(i: int):
        return services.entry_post(
            effective_date=DAY,
            memo="F2Pool cango01 2025-10-01",
            postings=[("1300", D("0.51714"), D("51714.00")), ("4000", D("-51714"), D("-51714"))],
            idempotency_key="f2pool:cango01:2025-10-01",
        )

    results = run_at_once(post)
    assert all(isinstance(r, JournalEntry) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert JournalEntry.objects.count() == 1
    assert selectors.account_balance(account="1300", as_of=DAY).quantity == D("0.51714")


def test_concurrent_replays_with_other_content_are_refused(chart):
    def post(i: int):
        quantity = D("0.5") if i % 2 == 0 else D("0.6")
        return services.entry_post(
            effective_date=DAY,
            memo="earning",
            postings=[("1300", quantity, D("50000")), ("4000", D(-50000), D(-50000))],
            idempotency_key="viabtc:cango02:2025-10-01",
        )

    results = run_at_once(post)
    winners = [r for r in results if isinstance(r, JournalEntry)]
    conflicts = [r for r in results if isinstance(r, IdempotencyConflict)]
    assert len(winners) + len(conflicts) == WORKERS, results
    assert len({w.pk for w in winners}) == 1 and len(conflicts) == WORKERS // 2
    assert JournalEntry.objects.count() == 1


def test_a_period_close_waits_for_a_posting_in_flight_then_refuses_new_ones(chart, approver_user):
    posted = threading.Event()
    finished: dict[str, float] = {}

    def slow_posting() -> None:
        try:
            with transaction.atomic():
                services.entry_post(
                    effective_date=DAY,
                    memo="in flight",
                    postings=[("1000", D(1), D(1)), ("3000", D(-1), D(-1))],
                )
                posted.set()
                time.sleep(0.5)
            finished["posting"] = time.monotonic()
        finally:
            connection.close()

    thread = threading.Thread(target=slow_posting)
    thread.start()
    assert posted.wait(10)
    services.period_close(through=DAY, by=approver_user)
    finished["close"] = time.monotonic()
    thread.join(10)
    assert finished["close"] >= finished["posting"]
    assert JournalEntry.objects.filter(memo="in flight").exists()
    with pytest.raises(ClosedPeriod):
        services.entry_post(
            effective_date=DAY,
            memo="too late",
            postings=[("1000", D(1), D(1)), ("3000", D(-1), D(-1))],
        )


def test_a_chart_change_by_another_connection_is_seen_at_once(chart):
    """The posting path keeps the chart in memory; a change made elsewhere still counts."""
    services.entry_post(
        effective_date=DAY,
        memo="warm the chart",
        postings=[("1000", D(1), D(1)), ("3000", D(-1), D(-1))],
    )

    def deactivate(_i: int) -> None:
        try:
            Account.objects.filter(code="3000").update(is_active=False)
        finally:
            connection.close()

    thread = threading.Thread(target=deactivate, args=(0,))
    thread.start()
    thread.join(10)
    with pytest.raises(InvalidEntry, match="inactive"):
        services.entry_post(
            effective_date=DAY,
            memo="after the change",
            postings=[("1000", D(1), D(1)), ("3000", D(-1), D(-1))],
        )
    assert JournalEntry.objects.count() == 1
