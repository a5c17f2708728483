"""The dashboard's chart of the cost to mine a bitcoin against the bitcoin price, month by
month over the dashboard's window (holdings.selectors.costs); shown once costs are posted."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from django.db.models import Q
from django.utils.safestring import SafeString

from holdings import chart
from holdings.admin import charts
from holdings.selectors import costs
from holdings.selectors.dashboard import daily_prices, days_between
from ledger.models import Posting

ZERO = Decimal("0.00")


def _costs_posted(start: date, end: date) -> bool:
    parents = (*chart.COST_OF_REVENUE, *chart.DEPRECIATION_EXPENSES)
    codes = Q()
    for parent in parents:
        codes |= Q(account__code=parent) | Q(account__code__startswith=f"{parent}-")
    return Posting.objects.filter(
        codes, effective_date__gte=start, effective_date__lte=end
    ).exists()


def cost_to_mine_chart(*, start: date, as_of: date) -> SafeString | None:
    """Cash and all-in cost per BTC mined and the average BTC price, per month; None when
    no cost is posted in the window."""
    if start > as_of or not _costs_posted(start, as_of):
        return None
    rows = costs.cost_to_mine(start=start, end=as_of, group_by="month").rows
    prices = daily_prices(base="BTC", days=days_between(start, as_of))
    averages = []
    for row in rows:
        month = [price for day, price in prices.items() if row.start <= day <= row.end]
        averages.append(
            (sum(month, ZERO) / len(month)).quantize(Decimal(1), ROUND_HALF_EVEN) if month else ZERO
        )
    labels = [row.label for row in rows]

    def series(name: str, values: list[Decimal], colour: str) -> charts.BarSeries:
        return charts.BarSeries(
            name=name,
            values=values,
            colour=colour,
            labels=[charts.compact(v) if v else "" for v in values],
            tooltips=[
                f"{label}: {charts.amount(v, 0, 'USD')} {name.lower()}"
                for label, v in zip(labels, values, strict=True)
            ],
        )

    cash = [row.cash_cost_per_btc or ZERO for row in rows]
    all_in = [row.all_in_cost_per_btc or ZERO for row in rows]
    return charts.bar_chart(
        key="chart-cost-to-mine",
        title="Cost to mine one bitcoin against its price, each month",
        desc="; ".join(
            f"{label}: cash cost {charts.amount(c, 0)} USD, all-in {charts.amount(a, 0)} USD, "
            f"BTC price {charts.amount(p, 0)} USD"
            for label, c, a, p in zip(labels, cash, all_in, averages, strict=True)
        ),
        categories=labels,
        series=[
            series("Cash cost per BTC", cash, charts.BLUE_LIGHT),
            series("All-in cost per BTC", all_in, charts.BLUE_DARK),
            series("Average BTC price", averages, charts.ORANGE),
        ],
        axis_label="USD per BTC",
        width=760,
        height=300,
    )
