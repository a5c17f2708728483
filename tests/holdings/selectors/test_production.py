"""What the pool accounts mined month by month: whole months read from their totals, months
the range cuts from their records, the same figures as the records added up."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum

from holdings.models import ProductionRecord
from holdings.selectors.production import ProducedMonth, production_by_month
from tests.holdings.conftest import f2pool_file, load_prices, run_import

DAYS = [date(2026, 1, 30), date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 15), date(2026, 3, 1)]
EDGES = [
    date(2026, 1, 1),
    date(2026, 1, 31),
    date(2026, 2, 1),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 3, 1),
    date(2026, 3, 31),
]


def from_records(start: date, end: date) -> dict[date, ProducedMonth]:
    months = {}
    for day in {d.replace(day=1) for d in DAYS}:
        next_month = (day + timedelta(days=31)).replace(day=1)
        figures = ProductionRecord.objects.filter(
            day__gte=max(start, day), day__lte=min(end, next_month - timedelta(days=1))
        ).aggregate(mined=Sum("net"), value=Sum("value"), hashrate=Sum("hashrate_hs"))
        if figures["mined"] is not None:
            months[day] = ProducedMonth(figures["mined"], figures["value"], figures["hashrate"])
    return months


@pytest.mark.django_db
def test_months_whole_or_cut_by_the_range_are_what_their_records_add_up_to(world):
    load_prices(date(2026, 3, 1), date(2026, 3, 2))
    earnings = [(day, str(Decimal("0.01") * (n + 1))) for n, day in enumerate(DAYS)]
    assert run_import("f2pool", f2pool_file(earnings)).status == "succeeded"
    for start in EDGES:
        for end in (edge for edge in EDGES if edge >= start):
            found = production_by_month(commodity="BTC", start=start, end=end)
            assert found == from_records(start, end), (start, end)
    assert production_by_month(commodity="KAS", start=EDGES[0], end=EDGES[-1]) == {}
    whole = production_by_month(commodity="BTC", start=EDGES[0], end=EDGES[-1])
    assert [month.mined for month in whole.values()] == [
        Decimal("0.03"),
        Decimal("0.07"),
        Decimal("0.05"),
    ]
