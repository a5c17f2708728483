"""The holdings reports: the digital asset roll-forward, monthly production, realized
gains (the roll-forward and the gains also of every commodity, with their total in USD), a
loan's schedule and the price evidence, from the selectors the API reads
(holdings.selectors.reports, production, loans, prices)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.urls import reverse

from holdings import chart
from holdings.admin.reports.pages import Definition, report_url
from holdings.admin.reports.params import Query
from holdings.admin.reports.tables import (
    AMOUNT,
    DATE,
    EXACT,
    INTEGER,
    TEXT,
    Column,
    Report,
    Table,
)
from holdings.models import Loan
from holdings.selectors import loans, prices, production, reports
from holdings.selectors.loans import FLOWS, MAX_SCHEDULE_DAYS
from holdings.selectors.prices import PRICE_USES
from ledger.models import VALUE_PLACES, Commodity

USD = VALUE_PLACES
DEFAULT_COMMODITY = "BTC"
MAX_REPORT_MONTHS = 120


def _entry_url(entry_id: int | None) -> str | None:
    if entry_id is None:
        return None
    return reverse("admin:ledger_journalentry_change", args=[entry_id])


def _commodity(query: Query, name: str = "commodity") -> Commodity | None:
    found = query.code(name, Commodity.objects.all(), "commodity", required=False)
    if found is None and not query.raw(name):
        return Commodity.objects.get(code=DEFAULT_COMMODITY)
    return found


def _between(start: object, end: object) -> str:
    return f"From {start} to {end} (UTC, both included)"


# --- roll-forward ------------------------------------------------------------------------


def rollforward(query: Query) -> Report | None:
    commodity = _commodity(query)
    if commodity is not None and commodity.code == "USD":
        query.errors["commodity"] = "USD is the functional currency: it has no roll-forward."
    start, end = query.period()
    if query.errors or commodity is None or start is None or end is None:
        return None
    report = reports.rollforward(commodity=commodity.code, start=start, end=end)
    columns = [
        Column("line", "Line"),
        Column("section", "Section"),
        Column("label", "Label"),
        Column("units", f"Units ({commodity.code})", AMOUNT, report.scale),
        Column("cost", "Cost (USD)", AMOUNT, USD),
        Column("fair_value_adjustment", "Fair value adjustment (USD)", AMOUNT, USD),
        Column("carrying_value", "Carrying value (USD)", AMOUNT, USD),
        Column("proceeds", "Proceeds (USD)", AMOUNT, USD),
        Column("realized_gain", "Realized gain (USD)", AMOUNT, USD),
    ]
    tables = []
    for title, lines in (("Roll-forward", report.lines), ("Memo", report.memo)):
        table = Table(title, columns)
        for line in lines:
            url = _rollforward_line_url(line.key, commodity.code, start, end)
            table.add(
                style="total" if line.section in ("opening", "closing") else "row",
                links={"label": url, "units": url, "cost": url} if url else {},
                line=line.key,
                section=line.section,
                label=line.label,
                units=line.units,
                cost=line.cost,
                fair_value_adjustment=line.fair_value_adjustment,
                carrying_value=line.carrying_value,
                proceeds=line.proceeds,
                realized_gain=line.realized_gain,
            )
        tables.append(table)
    notes = [] if report.ties_to_trial_balance else ["Does not tie to the trial balance."]
    return Report(
        f"Digital asset roll-forward: {commodity.code}",
        f"{_between(start, end)}; adjustment accounts {', '.join(report.adjustment_accounts)}",
        tables,
        (commodity.code, start.isoformat(), end.isoformat()),
        notes,
    )


def rollforward_by_commodity(query: Query) -> Report | None:
    start, end = query.period()
    if query.errors or start is None or end is None:
        return None
    report = reports.rollforwards_by_commodity(start=start, end=end)
    scales = dict(Commodity.objects.values_list("code", "decimal_places"))
    columns = [
        Column("commodity", "Commodity"),
        Column("line", "Line"),
        Column("label", "Label"),
        Column("units", "Units", AMOUNT, 8),
        Column("cost", "Cost (USD)", AMOUNT, USD),
        Column("fair_value_adjustment", "Fair value adjustment (USD)", AMOUNT, USD),
        Column("carrying_value", "Carrying value (USD)", AMOUNT, USD),
        Column("proceeds", "Proceeds (USD)", AMOUNT, USD),
        Column("realized_gain", "Realized gain (USD)", AMOUNT, USD),
    ]
    tables = []
    for title, lines in (("By commodity", report.lines), ("Total in USD", report.total)):
        table = Table(title, columns)
        for line in lines:
            url = (
                report_url(
                    "rollforward", commodity=line.commodity, period="custom", start=start, end=end
                )
                if line.commodity
                else None
            )
            table.add(
                style="total" if line.section in ("opening", "closing") else "row",
                links={"commodity": url} if url else {},
                scales={"units": scales.get(line.commodity or "", 8)},
                commodity=line.commodity or "Every commodity",
                line=line.key,
                label=line.label,
                units=line.units,
                cost=line.cost,
                fair_value_adjustment=line.fair_value_adjustment,
                carrying_value=line.carrying_value,
                proceeds=line.proceeds,
                realized_gain=line.realized_gain,
            )
        tables.append(table)
    notes = [] if report.ties_to_trial_balance else ["Does not tie to the trial balance."]
    codes = ", ".join(part.commodity for part in report.rollforwards) or "none with lots"
    return Report(
        "Digital asset roll-forward by commodity, with the total in USD",
        f"{_between(start, end)}; commodities {codes}",
        tables,
        ("all", start.isoformat(), end.isoformat()),
        notes,
    )


def _rollforward_line_url(key: str, commodity: str, start: date, end: date) -> str | None:
    """Where a roll-forward line's figures come from: the trial balance at the opening and
    closing days, the production report for mining, realized gains for sales and other
    dispositions, the adjustment account's and the collateral accounts' detail."""
    before = start - timedelta(days=1)
    period = {"period": "custom", "start": start, "end": end}
    if key in ("opening", "closing"):
        return report_url("trial-balance", as_of=before if key == "opening" else end)
    if key == "additions.mining":
        return report_url("production", commodity=commodity, **period)
    if key.startswith("dispositions."):
        return report_url("realized-gains", commodity=commodity, **period)
    account = {
        "fair_value_changes": chart.FAIR_VALUE_ADJUSTMENT.get(commodity),
        "restricted.opening": chart.PLEDGED,
        "restricted.closing": chart.PLEDGED,
        "collateral_receivable.opening": chart.COLLATERAL_RECEIVABLE,
        "collateral_receivable.closing": chart.COLLATERAL_RECEIVABLE,
    }.get(key)
    if account is None:
        return None
    return report_url("account-detail", account=account, **period)


# --- production --------------------------------------------------------------------------


def production_report(query: Query) -> Report | None:
    start, end = query.period()
    commodity = _commodity(query)
    if start is not None and end is not None and not query.errors:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        if months > MAX_REPORT_MONTHS:
            query.errors["end"] = f"the report covers {months} months; at most {MAX_REPORT_MONTHS}."
    if query.errors or commodity is None or start is None or end is None:
        return None
    scale = commodity.decimal_places
    rows = production.production_report(start=start, end=end, commodity=commodity.code)
    unit = production.hashrate_unit(commodity.code)[0]
    table = Table(
        "Production",
        [
            Column("month", "Month"),
            Column("days", "Days", INTEGER),
            Column("mined", "Mined", AMOUNT, scale),
            Column("average_per_day", "Average per day", AMOUNT, scale),
            Column("held_at_month_end", "Held at month end", AMOUNT, scale),
            Column("restricted_at_month_end", "Restricted", AMOUNT, scale),
            Column("unrestricted_at_month_end", "Unrestricted", AMOUNT, scale),
            Column("average_operating_hashrate", f"Operating hashrate ({unit})", EXACT),
            Column("deployed_hashrate", f"Deployed hashrate ({unit})", EXACT),
            Column("mined_change_percent", "Mined change (%)", EXACT),
            Column("held_change", "Held change", AMOUNT, scale),
            Column("sold", "Sold", AMOUNT, scale),
            Column("net_proceeds_usd", "Net proceeds (USD)", AMOUNT, USD),
            Column("average_price_usd", "Average price (USD)", EXACT),
        ],
    )
    for row in rows:
        table.add(
            month=f"{row.month:%Y-%m}",
            days=row.days,
            mined=row.mined,
            average_per_day=row.average_per_day,
            held_at_month_end=row.held_at_month_end,
            restricted_at_month_end=row.restricted_at_month_end,
            unrestricted_at_month_end=row.unrestricted_at_month_end,
            average_operating_hashrate=row.average_operating_hashrate,
            deployed_hashrate=row.deployed_hashrate,
            mined_change_percent=row.mined_change_percent,
            held_change=row.held_change,
            sold=row.sold,
            net_proceeds_usd=row.net_proceeds_usd,
            average_price_usd=row.average_price_usd,
        )
    table.add(
        style="total",
        month="Total",
        days=sum(row.days for row in rows),
        mined=sum((row.mined for row in rows), start=Decimal(0)),
        sold=sum((row.sold for row in rows), start=Decimal(0)),
        net_proceeds_usd=sum((row.net_proceeds_usd for row in rows), start=Decimal(0)),
    )
    return Report(
        f"Monthly production: {commodity.code}",
        f"Months of {start:%Y-%m} to {end:%Y-%m}",
        [table],
        (commodity.code, start.isoformat(), end.isoformat()),
    )


# --- realized gains ----------------------------------------------------------------------


def realized_gains(query: Query) -> Report | None:
    start, end = query.period()
    commodity = _commodity(query)
    if query.errors or commodity is None or start is None or end is None:
        return None
    report = reports.realized_gains(start=start, end=end, commodity=commodity.code)
    scale = commodity.decimal_places
    table = Table(
        "Realized gains",
        [
            Column("id", "Disposal", INTEGER),
            Column("kind", "Kind"),
            Column("disposed_on", "Disposed on", DATE),
            Column("lot", "Lot", INTEGER),
            Column("lot_acquired_at", "Lot acquired", DATE),
            Column("account", "Account"),
            Column("units", f"Units ({commodity.code})", AMOUNT, scale),
            Column("cost", "Cost (USD)", AMOUNT, USD),
            Column("carrying_value", "Carrying value (USD)", AMOUNT, USD),
            Column("proceeds", "Proceeds (USD)", AMOUNT, USD),
            Column("realized_gain", "Realized gain (USD)", AMOUNT, USD),
            Column("days_held", "Days held", INTEGER),
            Column("method", "Method"),
            Column("document", "Sale or transfer"),
            Column("entry", "Entry", INTEGER),
        ],
    )
    for disposal in report.disposals:
        sale, transfer = disposal.sale, disposal.transfer
        document = sale.reference if sale is not None else (transfer.txid if transfer else "")
        links = {
            "id": reverse("admin:holdings_disposal_change", args=[disposal.pk]),
            "entry": _entry_url(disposal.entry_id),
        }
        if sale is not None:
            links["document"] = reverse("admin:holdings_sale_change", args=[sale.pk])
        elif transfer is not None:
            links["document"] = reverse("admin:holdings_transfer_change", args=[transfer.pk])
        table.add(
            links={k: v for k, v in links.items() if v},
            id=disposal.pk,
            kind="sale" if disposal.sale_id is not None else "fee",
            disposed_on=disposal.disposed_on,
            lot=disposal.lot_id,
            lot_acquired_at=disposal.lot.acquired_at.date(),
            account=disposal.lot.account.code,
            units=disposal.units,
            cost=disposal.cost,
            carrying_value=disposal.carrying_value,
            proceeds=disposal.proceeds,
            realized_gain=disposal.realized_gain,
            days_held=disposal.days_held,
            method=disposal.method,
            document=document,
            entry=disposal.entry_id,
        )
    table.add(
        style="total",
        account="Total",
        units=report.units,
        cost=report.cost,
        carrying_value=report.carrying_value,
        proceeds=report.proceeds,
        realized_gain=report.realized_gain,
    )
    return Report(
        f"Realized gains: {commodity.code}",
        _between(start, end),
        [table],
        (commodity.code, start.isoformat(), end.isoformat()),
    )


def realized_gains_by_commodity(query: Query) -> Report | None:
    start, end = query.period()
    if query.errors or start is None or end is None:
        return None
    report = reports.realized_gains_by_commodity(start=start, end=end)
    scales = dict(Commodity.objects.values_list("code", "decimal_places"))
    table = Table(
        "Realized gains by commodity",
        [
            Column("commodity", "Commodity"),
            Column("disposals", "Disposals", INTEGER),
            Column("units", "Units", AMOUNT, 8),
            Column("cost", "Cost (USD)", AMOUNT, USD),
            Column("carrying_value", "Carrying value (USD)", AMOUNT, USD),
            Column("proceeds", "Proceeds (USD)", AMOUNT, USD),
            Column("realized_gain", "Realized gain (USD)", AMOUNT, USD),
        ],
    )
    for row in [*report.rows, report.total]:
        url = row.commodity and report_url(
            "realized-gains", commodity=row.commodity, period="custom", start=start, end=end
        )
        table.add(
            style="row" if row.commodity else "total",
            links={"commodity": url} if url else {},
            scales={"units": scales.get(row.commodity or "", 8)},
            commodity=row.commodity or "Total in USD",
            disposals=row.disposals,
            units=row.units,
            cost=row.cost,
            carrying_value=row.carrying_value,
            proceeds=row.proceeds,
            realized_gain=row.realized_gain,
        )
    return Report(
        "Realized gains by commodity, with the total in USD",
        _between(start, end),
        [table],
        ("all", start.isoformat(), end.isoformat()),
    )


# --- loan schedule -----------------------------------------------------------------------


def loan_schedule(query: Query) -> Report | None:
    loan = query.code(
        "loan",
        Loan.objects.select_related(
            "principal_commodity", "collateral_commodity", "principal_account", "interest_account"
        ),
        "loan",
        required=True,
    )
    start, end = query.period(required=False)
    if query.errors or loan is None:
        return None
    first, last = start or loan.start_date, end or min(loan.maturity_date, query.today)
    if first > last:
        query.errors["end"] = f"must not be before start ({first.isoformat()})."
    elif (last - first).days + 1 > MAX_SCHEDULE_DAYS:
        query.errors["end"] = (
            f"the schedule covers {(last - first).days + 1} days; at most {MAX_SCHEDULE_DAYS}."
        )
    if query.errors:
        return None
    schedule = loans.loan_schedule(loan=loan, start=start, end=end)
    principal = loan.principal_commodity.decimal_places
    collateral = loan.collateral_commodity.decimal_places
    table = Table(
        f"Loan {loan.code}",
        [
            Column("day", "Day", DATE),
            Column("events", "Events"),
            Column("principal_drawn", "Principal drawn", AMOUNT, principal),
            Column("principal_paid", "Principal paid", AMOUNT, principal),
            Column("interest_accrued", "Interest accrued", AMOUNT, principal),
            Column("interest_paid", "Interest paid", AMOUNT, principal),
            Column("principal", "Principal", AMOUNT, principal),
            Column("interest", "Interest", AMOUNT, principal),
            Column("balance", "Balance", AMOUNT, principal),
            Column("debt_value", "Debt value (USD)", AMOUNT, USD),
            Column("collateral_pledged", "Collateral pledged", AMOUNT, collateral),
            Column("collateral_released", "Collateral released", AMOUNT, collateral),
            Column("collateral_liquidated", "Collateral liquidated", AMOUNT, collateral),
            Column("collateral_units", "Collateral units", AMOUNT, collateral),
            Column("collateral_price", "Collateral price", EXACT),
            Column("collateral_value", "Collateral value (USD)", AMOUNT, USD),
            Column("ltv", "LTV", EXACT),
            Column("tier", "Tier", TEXT),
        ],
    )

    principal_code = loan.principal_account.code
    interest_code = loan.interest_account.code

    def add(row: loans.LoanDay, style: str = "row", label: object = None) -> None:
        # Principal and interest are the balances of the loan's accounts at the day's end:
        # each links to its account's detail from the schedule's start to that day.
        links = {}
        if style == "row":
            links = {
                "principal": report_url(
                    "account-detail", account=principal_code, start=schedule.start, end=row.day
                ),
                "interest": report_url(
                    "account-detail", account=interest_code, start=schedule.start, end=row.day
                ),
            }
        table.add(
            style=style,
            links=links,
            day=label if label is not None else row.day,
            events=", ".join(row.events),
            **{name: getattr(row, name) for name in FLOWS},
            principal=row.principal,
            interest=row.interest,
            balance=row.balance,
            debt_value=row.debt_value,
            collateral_units=row.collateral_units,
            collateral_price=row.collateral_price,
            collateral_value=row.collateral_value,
            ltv=row.ltv,
            tier=row.tier,
        )

    add(schedule.opening, "total", schedule.start - timedelta(days=1))
    for day in schedule.days:
        add(day)
    table.add_cells({"events": "Total", **schedule.totals}, style="total")
    return Report(
        f"Loan schedule: {loan.code} ({loan.lender})",
        f"{_between(schedule.start, schedule.end)}; opening at the end of the day before",
        [table],
        (loan.code, schedule.start.isoformat(), schedule.end.isoformat()),
    )


# --- price evidence ----------------------------------------------------------------------


def price_evidence(query: Query) -> Report | None:
    start, end = query.period()
    base = query.code("base", Commodity.objects.all(), "commodity", required=False)
    used_by = query.raw("used_by")
    if used_by and used_by not in PRICE_USES:
        query.errors["used_by"] = f"must be one of {', '.join(PRICE_USES)}."
    if query.errors or start is None or end is None:
        return None
    uses = prices.price_evidence(
        start=start, end=end, base=base.code if base else None, used_by=used_by or None
    )
    scales = dict(Commodity.objects.values_list("code", "decimal_places"))
    table = Table(
        "Price evidence",
        [
            Column("price_id", "Price id", INTEGER),
            Column("base", "Base"),
            Column("quote", "Quote"),
            Column("timestamp", "Timestamp"),
            Column("price", "Price", EXACT),
            Column("source", "Source"),
            Column("used_by", "Used by"),
            Column("link", "Link"),
            Column("record", "Record", INTEGER),
            Column("reference", "Reference"),
            Column("effective_date", "Date", DATE),
            Column("entry_sequence", "Entry", INTEGER),
            Column("commodity", "Commodity"),
            Column("quantity", "Quantity", AMOUNT, 8),
            Column("value", "Value (USD)", AMOUNT, USD),
        ],
    )
    for use in uses:
        links = {"price_id": reverse("admin:holdings_price_change", args=[use.price.pk])}
        if use.entry_id is not None:
            links["entry_sequence"] = reverse(
                "admin:ledger_journalentry_change", args=[use.entry_id]
            )
        table.add(
            links=links,
            scales={"quantity": scales.get(use.commodity or "", 8)},
            price_id=use.price.pk,
            base=use.price.base_id,
            quote=use.price.quote_id,
            timestamp=f"{use.price.timestamp:%Y-%m-%dT%H:%M:%SZ}",
            price=use.price.price,
            source=use.price.source,
            used_by=use.used_by,
            link=use.link,
            record=use.record,
            reference=use.reference,
            effective_date=use.effective_date,
            entry_sequence=use.entry_sequence,
            commodity=use.commodity,
            quantity=use.quantity,
            value=use.value,
        )
    return Report(
        "Price evidence",
        _between(start, end),
        [table],
        (base.code if base else "all", start.isoformat(), end.isoformat()),
    )


DEFINITIONS = [
    Definition(
        "rollforward",
        "Digital asset roll-forward",
        "Opening, additions, dispositions, fair value changes and closing of a commodity.",
        ("period", "commodity"),
        rollforward,
    ),
    Definition(
        "rollforward-by-commodity",
        "Digital asset roll-forward by commodity",
        "Every commodity's roll-forward one after the other, and their total in USD.",
        ("period",),
        rollforward_by_commodity,
    ),
    Definition(
        "production",
        "Monthly production",
        "Mined, held, hashrate and sales month by month, as miners publish them.",
        ("period", "commodity"),
        production_report,
        defaults=(("period", "year_to_date"),),
    ),
    Definition(
        "realized-gains",
        "Realized gains",
        "Each disposal of a period with the lot it relieved, and totals.",
        ("period", "commodity"),
        realized_gains,
    ),
    Definition(
        "realized-gains-by-commodity",
        "Realized gains by commodity",
        "Each commodity's disposals of a period added up, and their total in USD.",
        ("period",),
        realized_gains_by_commodity,
    ),
    Definition(
        "loan-schedule",
        "Loan schedule",
        "A loan day by day: principal, interest, collateral and LTV.",
        ("loan", "period"),
        loan_schedule,
        defaults=(),
    ),
    Definition(
        "price-evidence",
        "Price evidence",
        "Every price an entry used, with what used it.",
        ("period", "base", "used_by"),
        price_evidence,
    ),
]
