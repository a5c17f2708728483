"""The treasury dashboard's figures as the page shows them: the charts (holdings.admin.charts)
with their tooltips, a card per loan, what the loans owe. The figures come from
holdings.selectors.dashboard; the page is the admin site's index (holdings.admin_site)."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Any

from django.utils.safestring import SafeString

from holdings.admin import charts
from holdings.admin.charts import amount, percent
from holdings.admin.cost_chart import cost_to_mine_chart
from holdings.selectors import dashboard

TIER_NAMES = {
    "ok": "OK",
    "warning": "Warning",
    "margin_call": "Margin call",
    "liquidation": "Liquidation",
}


def dashboard_context(board: dashboard.Dashboard) -> dict[str, Any]:
    held = board.holdings
    return {
        "board": board,
        "as_of": board.as_of,
        "commodity": board.commodity,
        "positions": [
            {
                "position": position,
                "chosen": position.commodity == board.commodity,
                "held": amount(position.held, 2),
                "price": amount(position.price, 2),
                "value": amount(position.market_value, 2, "USD"),
            }
            for position in board.positions
        ],
        "total_value": amount(board.total_value, 2),
        "holdings_chart": holdings_chart(held),
        "month_ends": [
            {
                "day": day,
                "restricted": amount(restricted, 2),
                "unrestricted": amount(unrestricted, 2),
                "held": amount(restricted + unrestricted, 2),
            }
            for day, restricted, unrestricted in held.month_ends
        ],
        "production_chart": production_chart(board.production, board.commodity),
        "cost_chart": cost_to_mine_chart(start=board.start, as_of=board.as_of),
        "cash": [
            {"balance": cash, "chart": cash_chart(cash, number)}
            for number, cash in enumerate(board.cash)
        ],
        "loans": [loan_card(position) for position in board.loans],
        "loans_owed": loans_owed(board.loans),
    }


def holdings_chart(held: dashboard.Holdings) -> SafeString:
    unit = held.commodity
    tips = [
        f"{day.isoformat()}: {amount(r + u, 2, unit)} held (restricted {amount(r, 2)}, "
        f"unrestricted {amount(u, 2)})"
        for day, r, u in zip(
            held.days, held.restricted_by_day, held.unrestricted_by_day, strict=True
        )
    ]
    first = held.days[0].isoformat() if held.days else "-"
    return charts.stacked_area(
        key=f"chart-{unit.lower()}-held",
        title=f"{unit} held at the end of each day",
        desc=f"{unit} held from {first} to {held.days[-1].isoformat() if held.days else '-'}: "
        f"restricted (pledged to lenders, 1230, or lent as collateral, 1400) below, "
        f"unrestricted (wallets and pool receivables) above. At the end: "
        f"{amount(held.held, 2, unit)}, of which {amount(held.restricted, 2, unit)} restricted.",
        days=held.days,
        layers=[
            charts.Layer("Restricted (pledged or lent)", held.restricted_by_day, charts.BLUE_DARK),
            charts.Layer("Unrestricted", held.unrestricted_by_day, charts.BLUE_LIGHT),
        ],
        axis_label=f"{unit} held",
        tooltips=tips,
        width=880,
        height=300,
    )


def month_label(row: dashboard.MonthProduction) -> str:
    return f"{row.month:%b %Y}" + (f" (to {row.through.day})" if row.partial else "")


def production_chart(rows: list[dashboard.MonthProduction], unit: str = "BTC") -> SafeString:
    labels = [month_label(row) for row in rows]

    def series(name: str, values: list[Decimal], colour: str) -> charts.BarSeries:
        return charts.BarSeries(
            name=name,
            values=values,
            colour=colour,
            labels=[amount(v.quantize(Decimal("0.1")), 1) if v else "" for v in values],
            tooltips=[
                f"{label}: {amount(v, 2, unit)} {name.lower()}"
                for label, v in zip(labels, values, strict=True)
            ],
        )

    mined = [row.mined for row in rows]
    sold = [row.sold for row in rows]
    return charts.bar_chart(
        key="chart-production",
        title=f"{unit} mined and sold each month",
        desc="; ".join(
            f"{label}: mined {amount(m, 2)} {unit}, sold {amount(s, 2)} {unit}"
            for label, m, s in zip(labels, mined, sold, strict=True)
        ),
        categories=labels,
        series=[
            series("Mined", mined, charts.BLUE_LIGHT),
            series("Sold", sold, charts.ORANGE),
        ],
        axis_label=f"{unit} per month",
        empty="Nothing mined or sold in these months",
        width=760,
        height=300,
    )


def cash_chart(cash: dashboard.CashBalance, number: int) -> SafeString:
    tips = [
        f"{day.isoformat()}: {amount(value, 2, cash.commodity)}"
        for day, value in zip(cash.days, cash.by_day, strict=True)
    ]
    return charts.line_chart(
        key=f"chart-cash-{number}",
        title=f"{cash.label} balance at the end of each day",
        desc=f"{cash.label}: {amount(cash.balance, 2, cash.commodity)} at the end of the period; "
        f"highest {amount(max(cash.by_day, default=Decimal(0)), 2, cash.commodity)}.",
        days=cash.days,
        line=charts.LineSpec(values=cash.by_day, colour=charts.BLUE_DARK, fill=True),
        axis_label=cash.commodity,
        tooltips=tips,
        width=500,
        height=150,
    )


def loan_card(position: dashboard.LoanPosition) -> dict[str, Any]:
    loan = position.loan
    tiers = [
        ("warning", loan.warning_ltv),
        ("margin_call", loan.margin_call_ltv),
        ("liquidation", loan.liquidation_ltv),
    ]
    # The scale runs a quarter past liquidation, further if LTV is beyond, in tenths.
    top = max(loan.liquidation_ltv * Decimal("1.25"), (position.ltv or 0) * Decimal("1.05"))
    top = (top * 10).to_integral_value(rounding=ROUND_CEILING) / 10
    zones = [
        charts.Zone("OK", Decimal(0), loan.warning_ltv, charts.TIER_COLOURS["ok"]),
        charts.Zone(
            "Warning", loan.warning_ltv, loan.margin_call_ltv, charts.TIER_COLOURS["warning"]
        ),
        charts.Zone(
            "Margin call",
            loan.margin_call_ltv,
            loan.liquidation_ltv,
            charts.TIER_COLOURS["margin_call"],
        ),
        charts.Zone("Liquidation", loan.liquidation_ltv, top, charts.TIER_COLOURS["liquidation"]),
    ]
    if position.ltv is not None:
        value_label = f"LTV {percent(position.ltv)}"
    elif position.error:
        value_label = "LTV not available: no price for the day"
    elif position.debt_value > 0:
        value_label = "Debt without collateral"
    else:
        value_label = "Nothing owed, no collateral"
    tier_text = ", ".join(f"{TIER_NAMES[name].lower()} {percent(v, None)}" for name, v in tiers)
    gauge = charts.gauge(
        key=f"chart-ltv-{loan.pk}",
        title=f"Loan {loan.code}: LTV against its tiers",
        desc=f"{value_label} on {position.days[-1].isoformat() if position.days else '-'}; "
        f"tiers: {tier_text}.",
        value=position.ltv,
        value_label=value_label,
        zones=zones,
        marks=[(v, percent(v, None)) for _, v in tiers],
        width=820,
    )
    tips = [
        f"{day.isoformat()}: "
        + (f"LTV {percent(ltv)}" if ltv is not None else "no LTV (no collateral or no price)")
        for day, ltv in zip(position.days, position.ltv_by_day, strict=True)
    ]
    history = charts.line_chart(
        key=f"chart-ltv-history-{loan.pk}",
        title=f"Loan {loan.code}: LTV at the end of each day",
        desc=f"Daily LTV of loan {loan.code} against its tiers ({tier_text}).",
        days=position.days,
        line=charts.LineSpec(
            values=position.ltv_by_day,
            colour=charts.BLUE_DARK,
            thresholds=[
                charts.Threshold(v, f"{TIER_NAMES[name]} {percent(v, None)}", edge(name))
                for name, v in tiers
            ],
            markers=crossing_markers(position),
        ),
        axis_label="LTV",
        tooltips=tips,
        tick_format=lambda tick: f"{tick * 100:.0f}%",
        width=820,
        height=210,
    )
    principal = loan.principal_commodity
    collateral = loan.collateral_commodity
    return {
        "position": position,
        "gauge": gauge,
        "history": history,
        "tier_name": TIER_NAMES.get(position.tier or "", "Not known"),
        "rate": percent(loan.annual_rate, None),
        "principal": amount(position.principal, 2, principal.code),
        "interest": amount(position.interest, 2, principal.code),
        "debt_value": amount(position.debt_value, 2, "USD"),
        "collateral": amount(position.collateral_units, 2, collateral.code),
        "price": amount(position.collateral_price, 2, "USD"),
        "collateral_value": amount(position.collateral_value, 2, "USD"),
        "ltv": percent(position.ltv),
        "tiers": [(TIER_NAMES[name], percent(v, None)) for name, v in tiers],
    }


def crossing_markers(
    position: dashboard.LoanPosition,
) -> list[tuple[int, Decimal, str, str]]:
    """A dot where a tier crossing was recorded, at the LTV recorded with it."""
    index = {day: number for number, day in enumerate(position.days)}
    markers = []
    for event in position.crossings:
        details = event.details or {}
        ltv = details.get("ltv")
        if ltv is None or event.effective_date not in index:
            continue
        tier, previous = details.get("tier", ""), details.get("previous", "")
        markers.append(
            (
                index[event.effective_date],
                Decimal(ltv),
                f"{event.effective_date.isoformat()}: tier crossed, "
                f"{TIER_NAMES.get(previous, previous)} to {TIER_NAMES.get(tier, tier)} "
                f"(LTV {percent(Decimal(ltv))})",
                edge(tier),
            )
        )
    return markers


def edge(tier: str) -> str:
    """The colour of a tier's line (and of a crossing into it)."""
    return {"warning": "#c9a400", "margin_call": "#d9822b", "liquidation": "#ba2121"}.get(
        tier, charts.GREEN
    )


TIER_ORDER = ("ok", "warning", "margin_call", "liquidation")


def loans_owed(positions: list[dashboard.LoanPosition]) -> dict[str, Any]:
    """What the loans with something owed or pledged add up to, and their highest tier
    ("Not known" when a day's price is missing)."""
    open_positions = [p for p in positions if not p.settled]
    tiers = [p.tier for p in open_positions]
    if not open_positions:
        tier = None
    elif None in tiers:
        tier = "Not known"
    else:
        tier = TIER_NAMES[max((t for t in tiers if t), key=TIER_ORDER.index)]
    return {
        "count": len(open_positions),
        "debt_value": sum((p.debt_value for p in open_positions), Decimal("0.00")),
        "tier": tier,
    }
