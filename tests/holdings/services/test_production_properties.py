"""Random files, in random order, overlapping, some of them refused: whatever happens, the
lots equal the ledger, each batch is all or nothing, and balances equal a naive sum."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from holdings.models import BatchStatus, Payout, ProductionRecord
from holdings.selectors import lots
from ledger import selectors as ledger_selectors
from tests.holdings.conftest import ADDRESS, f2pool_file, run_import

START = date(2026, 1, 1)
DAYS = 20

PROPERTY_SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def scenarios(draw):
    """The pool's truth (one net per day, payouts of whole lots and fractions), then files
    that each carry some of it, to be imported in the order drawn."""
    nets = [Decimal(draw(st.integers(0, 5_000_000))).scaleb(-8) for _ in range(DAYS)]
    payouts = {}
    for day in range(1, DAYS):
        if draw(st.booleans()):
            paid = Decimal(draw(st.integers(1, 5_000_000))).scaleb(-8)
            payouts[day] = paid  # paid on START + day at 03:00, may exceed what was earned
    files = draw(
        st.lists(
            st.tuples(
                st.sets(st.integers(0, DAYS - 1), max_size=DAYS),
                st.sets(st.sampled_from(sorted(payouts) or [0]), max_size=len(payouts)),
            ),
            min_size=1,
            max_size=6,
        )
    )
    probes = draw(st.lists(st.integers(0, DAYS + 1), min_size=1, max_size=4))
    return nets, payouts, files, probes


def paid_at(day: int) -> datetime:
    return datetime.combine(START + timedelta(days=day), time(3), tzinfo=UTC)


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_imports_keep_lots_equal_to_the_ledger_and_batches_all_or_nothing(world, scenario):
    nets, payouts, files, probes = scenario
    receivable = world["account"].receivable_account
    with transaction.atomic():
        for earning_days, payout_days in files:
            content = f2pool_file(
                [(START + timedelta(days=d), str(nets[d])) for d in sorted(earning_days)],
                [(d, paid_at(d), str(payouts[d]), ADDRESS) for d in payout_days if d in payouts],
            )
            batch = run_import("f2pool", content)
            records = ProductionRecord.objects.filter(batch=batch).count()
            paid = Payout.objects.filter(batch=batch).count()
            if batch.status == BatchStatus.FAILED:
                assert (records, paid) == (0, 0), batch.errors
            else:
                assert records + paid == batch.records_created
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred lot checks, now
        for offset in probes:
            as_of = START + timedelta(days=offset)
            assert lots.lot_differences(as_of=as_of) == []
            earned = sum(
                (r.net for r in ProductionRecord.objects.filter(day__lte=as_of)), Decimal(0)
            )
            out = sum(
                (p.amount for p in Payout.objects.filter(paid_at__date__lte=as_of)), Decimal(0)
            )
            balance = ledger_selectors.account_balance(account=receivable, as_of=as_of)
            assert balance.quantity == earned - out >= 0
        transaction.set_rollback(True)
