"""The cost reports: the cost to mine a bitcoin (with the definitions beside the figures and
each cost drillable to the invoices and the account detail behind it) and the fixed asset
register with its roll-forward, from holdings.selectors.costs and fixed_assets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.urls import reverse
from django.utils.http import urlencode

from holdings import chart
from holdings.admin.reports.pages import Definition
from holdings.admin.reports.params import Query
from holdings.admin.reports.statements import detail_url
from holdings.admin.reports.tables import AMOUNT, DATE, EXACT, INTEGER, Column, Report, Table
from holdings.models import Site
from holdings.selectors import costs, fixed_assets
from holdings.selectors.costs import GROUPS, CostToMine
from ledger.models import VALUE_PLACES

USD = VALUE_PLACES
ZERO = Decimal("0.00")


def invoices_url(start: date, end: date, site: str | None) -> str:
    """The invoices and accruals behind a row: the site costs' list for its dates."""
    params = {"period_end__gte": start.isoformat(), "period_end__lte": end.isoformat()}
    if site:
        params["site__code"] = site
    return reverse("admin:holdings_sitecost_changelist") + "?" + urlencode(params)


def _account(parent: str, site: str | None) -> str:
    return f"{parent}-{site}" if site else parent


def _cells(row: CostToMine) -> dict[str, object]:
    return {
        "label": row.label,
        "days": row.days,
        "btc_mined": row.btc_mined,
        "power": row.power,
        "power_credits": row.power_credits,
        "power_to_hpc": row.power_to_hpc,
        "hosting": row.hosting,
        "other_direct": row.other_direct,
        "cash_cost": row.cash_cost,
        "depreciation": row.depreciation,
        **{f"extra{i}": item.amount for i, item in enumerate(row.extras)},
        "all_in_cost": row.all_in_cost,
        "cash_cost_per_btc": row.cash_cost_per_btc,
        "all_in_cost_per_btc": row.all_in_cost_per_btc,
        "hashprice": row.hashprice,
        "hashcost": row.hashcost,
        "power_cost_per_kwh": row.power_cost_per_kwh,
        "joules_per_th": row.joules_per_th,
        "invoices": "invoices",
    }


def cost_to_mine(query: Query) -> Report | None:
    start, end = query.period()
    site = query.code("site", Site.objects.all(), "site", required=False)
    group_by = query.raw("group_by")
    if group_by and group_by not in GROUPS:
        query.errors["group_by"] = f"must be one of {', '.join(GROUPS)}."
    if query.errors or start is None or end is None:
        return None
    report = costs.cost_to_mine(start=start, end=end, site=site, group_by=group_by or None)
    columns = [
        Column("label", "Period, site or pool"),
        Column("days", "Days", INTEGER),
        Column("btc_mined", "BTC mined", AMOUNT, 8),
        Column("power", "Power (5000)", AMOUNT, USD),
        Column("power_credits", "Power credits (5010)", AMOUNT, USD),
        Column("power_to_hpc", "Power to HPC", AMOUNT, USD),
        Column("hosting", "Hosting (5020)", AMOUNT, USD),
        Column("other_direct", "Other direct (5030)", AMOUNT, USD),
        Column("cash_cost", "Cash cost", AMOUNT, USD),
        Column("depreciation", "Depreciation of mining machines", AMOUNT, USD),
        *(Column(f"extra{i}", name, AMOUNT, USD) for i, name in enumerate(report.extra_names)),
        Column("all_in_cost", "All-in cost", AMOUNT, USD),
        Column("cash_cost_per_btc", "Cash cost per BTC", AMOUNT, USD),
        Column("all_in_cost_per_btc", "All-in cost per BTC", AMOUNT, USD),
        Column("hashprice", "Hashprice ($/PH/day)", AMOUNT, USD),
        Column("hashcost", "Hashcost ($/PH/day)", AMOUNT, USD),
        Column("power_cost_per_kwh", "Power $/kWh", EXACT),
        Column("joules_per_th", "J/TH", EXACT),
        Column("invoices", "Invoices"),
    ]
    table = Table("Cost to mine one bitcoin", columns)

    def add(row: CostToMine, style: str) -> None:
        site_code = row.site
        if row.pool is not None or row.label == costs.UNATTRIBUTED:
            # A pool's costs are shares of its sites': the invoices are the sites'.
            table.add_cells(
                _cells(row),
                links={"invoices": invoices_url(row.start, row.end, site_code)},
                style=style,
            )
            return
        links = {
            "invoices": invoices_url(row.start, row.end, site_code),
            "power": detail_url(_account(chart.POWER_COST, site_code), row.start, row.end),
            "power_credits": detail_url(
                _account(chart.POWER_CREDITS, site_code), row.start, row.end
            ),
            "hosting": detail_url(_account(chart.HOSTING_COST, site_code), row.start, row.end),
            "other_direct": detail_url(
                _account(chart.OTHER_SITE_COST, site_code), row.start, row.end
            ),
        }
        table.add_cells(
            _cells(row),
            links={
                key: url for key, url in links.items() if key == "invoices" or getattr(row, key)
            },
            style=style,
        )

    for row in report.rows:
        add(row, "row")
    add(report.total, "total")
    extras = ", ".join(report.extra_names) or "none configured"
    notes = [
        "Cash cost per BTC = (power - power credits - power HPC took + hosting + other direct "
        "site costs) / BTC mined.",
        "All-in cost per BTC = (cash cost + depreciation of mining machines + other items "
        f"included: {extras}) / BTC mined.",
        "Hashprice = mining revenue / average PH/s / days; hashcost = cash cost / average "
        "PH/s / days.",
    ]
    if report.group_by == "pool":
        notes.append(
            "By pool: a pool's BTC mined is its own production; each site's costs go to the "
            "pools in proportion to the BTC that site's pool accounts mined in the period; "
            "the costs of a site that mined nothing, or booked to no site, are Unattributed."
        )
    return Report(
        "Cost to mine one bitcoin" + (f": {site.code}" if site else ""),
        f"From {start} to {end} (UTC, both included)",
        [table],
        (site.code if site else "all", start.isoformat(), end.isoformat()),
        notes,
    )


def fixed_assets_report(query: Query) -> Report | None:
    start, end = query.period()
    if query.errors or start is None or end is None:
        return None
    register = Table(
        f"Register at {end}",
        [
            Column("code", "Asset"),
            Column("asset_class", "Class"),
            Column("site", "Site"),
            Column("units", "Units", INTEGER),
            Column("in_service_on", "In service", DATE),
            Column("life_end", "Life ends", DATE),
            Column("cost", "Cost basis", AMOUNT, USD),
            Column("accumulated", "Accumulated depreciation", AMOUNT, USD),
            Column("net_book_value", "Net book value", AMOUNT, USD),
        ],
    )
    for row in fixed_assets.asset_register(as_of=end):
        register.add(
            links={"code": reverse("admin:holdings_fixedasset_change", args=[row.asset.pk])},
            code=row.asset.code,
            asset_class=row.asset.asset_class.code,
            site=row.asset.site.code if row.asset.site else "",
            units=row.asset.units,
            in_service_on=row.asset.in_service_on,
            life_end=row.life_end,
            cost=row.cost,
            accumulated=row.accumulated,
            net_book_value=row.net_book_value,
        )
    rollforward = Table(
        "Roll-forward",
        [
            Column("asset_class", "Class"),
            Column("line", "Line"),
            Column("cost", "Cost", AMOUNT, USD),
            Column("accumulated", "Accumulated depreciation", AMOUNT, USD),
            Column("net_book_value", "Net book value", AMOUNT, USD),
        ],
    )
    notes = []
    for line in fixed_assets.asset_rollforward(start=start, end=end):
        code = line.asset_class.code
        for label, cost, accumulated, style in (
            ("Opening", line.opening_cost, line.opening_accumulated, "total"),
            ("Additions", line.additions, ZERO, "row"),
            ("Depreciation", ZERO, line.depreciation, "row"),
            ("Impairments", -line.impairments, -line.impairment_closed, "row"),
            ("Disposals", -line.disposals_cost, -line.disposals_accumulated, "row"),
            ("Closing", line.closing_cost, line.closing_accumulated, "total"),
            ("Trial balance", line.ledger_cost, line.ledger_accumulated, "row"),
        ):
            rollforward.add(
                style=style,
                asset_class=code,
                line=label,
                cost=cost,
                accumulated=accumulated,
                net_book_value=cost - accumulated,
            )
        if not line.ties_to_trial_balance:
            notes.append(f"{code} does not tie to the trial balance.")
    return Report(
        "Fixed assets",
        f"From {start} to {end} (UTC, both included)",
        [register, rollforward],
        (start.isoformat(), end.isoformat()),
        notes,
    )


DEFINITIONS = [
    Definition(
        "cost-to-mine",
        "Cost to mine one bitcoin",
        "Cash and all-in cost per BTC mined by month, quarter, site or pool, with the "
        "invoices behind them.",
        ("period", "site", "group_by"),
        cost_to_mine,
        defaults=(("period", "this_quarter"), ("group_by", "month")),
    ),
    Definition(
        "fixed-assets",
        "Fixed assets",
        "The asset register and its roll-forward, tied to the trial balance.",
        ("period",),
        fixed_assets_report,
    ),
]
