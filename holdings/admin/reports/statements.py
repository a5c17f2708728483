"""The ledger's reports: trial balance, balance sheet, income statement and account detail,
from ledger.selectors, the API's own reads. Every figure that adds up postings links to the
account detail of the same account over the same dates; each posting there links to its
journal entry."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils.http import urlencode

from holdings.admin.reports.pages import Definition, report_url
from holdings.admin.reports.params import MAX_COLUMNS, Query, prior_range, split
from holdings.admin.reports.tables import AMOUNT, DATE, INTEGER, Column, Report, Table
from holdings.selectors import lots as lot_selectors
from holdings.selectors.costs import gross_profit
from ledger import selectors
from ledger.dates import REPORT_FLOOR
from ledger.models import VALUE_PLACES, Account
from ledger.money import exact_sum
from ledger.selectors import Balance, presented

USD = VALUE_PLACES


def detail_url(code: str, start: date, end: date) -> str:
    return report_url("account-detail", account=code, start=start, end=end)


def _as_of_and_start(query: Query) -> tuple[date | None, date | None]:
    """A dated page's `as_of` (today by default, or a preset period's last day) and the
    start of the activity its links show (`start`, the preset's first day, or the first
    of as_of's month)."""
    if query.raw("period") and query.raw("period") != "custom":
        start, as_of = query.period()
        return as_of, start
    as_of = query.date("as_of") or query.today
    start = query.date("start")
    if start is not None and start > as_of:
        query.errors["start"] = f"must not be after as_of ({as_of.isoformat()})."
    return as_of, start or as_of.replace(day=1)


# --- trial balance -----------------------------------------------------------------------


def trial_balance(query: Query) -> Report | None:
    as_of, start = _as_of_and_start(query)
    if query.errors or as_of is None or start is None:
        return None
    report = selectors.trial_balance(as_of=as_of)
    table = Table(
        "Trial balance",
        [
            Column("account", "Account"),
            Column("name", "Name"),
            Column("type", "Type"),
            Column("commodity", "Commodity"),
            Column("quantity", "Quantity", AMOUNT),
            Column("value", "Value (USD)", AMOUNT, USD),
            Column("debit", "Debit (USD)", AMOUNT, USD),
            Column("credit", "Credit (USD)", AMOUNT, USD),
        ],
    )
    for row in report.rows:
        url = detail_url(row.code, start, as_of)
        table.add(
            links={"account": url, "value": url, "debit": url, "credit": url, "quantity": url},
            scales={"quantity": row.scale},
            account=row.code,
            name=row.name,
            type=row.type,
            commodity=row.commodity,
            quantity=row.quantity,
            value=row.value,
            debit=row.debit,
            credit=row.credit,
        )
    table.add(
        style="total",
        account="Total",
        value=report.total_value,
        debit=report.total_debit,
        credit=report.total_credit,
    )
    return Report(
        "Trial balance",
        f"As of the end of {as_of.isoformat()} (UTC)",
        [table],
        (as_of.isoformat(),),
    )


# --- balance sheet and income statement --------------------------------------------------


def _statement_columns(query: Query, start: date, end: date) -> list[tuple[str, date, date]]:
    """(heading, first day, last day) of each column: the period, or its months or quarters;
    with `compare`, the prior period first."""
    by = query.choice("columns", {"": "", "month": "", "quarter": ""})
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    count = months if by == "month" else (months + 2) // 3 + 1 if by == "quarter" else 1
    if count > MAX_COLUMNS:
        query.errors["columns"] = f"the range makes about {count} columns; at most {MAX_COLUMNS}."
        return []
    periods = split(start, end, by) if by else [(start, end)]
    columns = [(f"{a.isoformat()} to {b.isoformat()}", a, b) for a, b in periods]
    if query.flag("compare"):
        try:
            first, last = prior_range(start, end)
        except OverflowError:
            first = REPORT_FLOOR - timedelta(days=1)
        if first < REPORT_FLOOR:
            query.errors["compare"] = (
                f"the prior period would start before {REPORT_FLOOR.isoformat()}, the earliest "
                "date taken."
            )
            return []
        columns.insert(0, (f"Prior: {first.isoformat()} to {last.isoformat()}", first, last))
    return columns


def _statement_table(
    title: str,
    columns: list[tuple[str, date, date]],
    sections: list[tuple[str, list[list[Balance]], list[Decimal]]],
    extra: list[tuple[str, list[Decimal]]],
    balance_sheet: bool,
    compare: bool,
) -> Table:
    keys = [f"c{i}" for i in range(len(columns))]
    table_columns = [Column("account", "Account"), Column("name", "Name")]
    heading = (lambda c: f"At {c[2].isoformat()}") if balance_sheet else (lambda c: c[0])
    table_columns += [
        Column(k, heading(c), AMOUNT, USD) for k, c in zip(keys, columns, strict=True)
    ]
    if compare:
        table_columns.append(Column("change", "Change", AMOUNT, USD))
    table = Table(title, table_columns)

    def change(values: list[Decimal]) -> dict[str, Decimal]:
        return {"change": exact_sum((values[-1], -values[0]))} if compare else {}

    for name, per_column, totals in sections:
        table.add(style="heading", account=name)
        codes: dict[str, Balance] = {}
        for rows in per_column:
            for row in rows:
                codes.setdefault(row.code, row)
        for code in sorted(codes):
            found = [{r.code: r for r in rows}.get(code) for rows in per_column]
            values = [presented(r) if r is not None else Decimal("0.00") for r in found]
            links = {k: detail_url(code, c[1], c[2]) for k, c in zip(keys, columns, strict=True)}
            table.add_cells(
                {
                    "account": code,
                    "name": codes[code].name,
                    **dict(zip(keys, values, strict=True)),
                    **change(values),
                },
                links=links,
            )
        table.add_cells(
            {
                "account": f"Total {name.lower()}",
                **dict(zip(keys, totals, strict=True)),
                **change(totals),
            },
            style="total",
        )
    for label, values in extra:
        table.add_cells(
            {"account": label, **dict(zip(keys, values, strict=True)), **change(values)},
            style="total",
        )
    return table


def balance_sheet(query: Query) -> Report | None:
    as_of, start = _as_of_and_start(query)
    if query.errors or as_of is None or start is None:
        return None
    columns = _statement_columns(query, start, as_of)
    if query.errors:
        return None
    sheets = [selectors.balance_sheet(as_of=c[2]) for c in columns]
    table = _statement_table(
        "Balance sheet",
        columns,
        [
            ("Assets", [s.assets.rows for s in sheets], [s.assets.total for s in sheets]),
            (
                "Liabilities",
                [s.liabilities.rows for s in sheets],
                [s.liabilities.total for s in sheets],
            ),
            ("Equity accounts", [s.equity.rows for s in sheets], [s.equity.total for s in sheets]),
        ],
        [
            ("Undistributed income (no closing entries)", [s.undistributed_income for s in sheets]),
            ("Total equity", [s.total_equity for s in sheets]),
            ("Total liabilities and equity", [s.total_liabilities_and_equity for s in sheets]),
        ],
        balance_sheet=True,
        compare=query.flag("compare"),
    )
    notes = [f"Does not balance at {s.as_of}" for s in sheets if not s.balances]
    return Report(
        "Balance sheet",
        f"At the end of {as_of.isoformat()} (UTC)",
        [table],
        (as_of.isoformat(),),
        notes,
    )


def gross_profit_lines(columns: list[tuple[str, date, date]]) -> list[tuple[str, list[Decimal]]]:
    """Revenue (mining and HPC), cost of revenue (power less credits, hosting, other direct
    site costs), gross profit and depreciation, per column."""
    figures = [gross_profit(start=c[1], end=c[2]) for c in columns]
    return [
        ("Revenue (mining and HPC)", [f.revenue for f in figures]),
        ("Cost of revenue", [f.cost_of_revenue for f in figures]),
        ("Gross profit", [f.gross_profit for f in figures]),
        ("Depreciation", [f.depreciation for f in figures]),
        *(
            (
                f"{name} gross profit",
                [next(s for s in f.segments if s.name == name).gross_profit for f in figures],
            )
            for name in ("Mining", "HPC")
        ),
    ]


def income_statement(query: Query) -> Report | None:
    start, end = query.period()
    if query.errors or start is None or end is None:
        return None
    columns = _statement_columns(query, start, end)
    if query.errors:
        return None
    statements = [selectors.income_statement(start=c[1], end=c[2]) for c in columns]
    table = _statement_table(
        "Income statement",
        columns,
        [
            ("Income", [s.income.rows for s in statements], [s.income.total for s in statements]),
            (
                "Expenses",
                [s.expenses.rows for s in statements],
                [s.expenses.total for s in statements],
            ),
        ],
        [
            *gross_profit_lines(columns),
            ("Net income", [s.net_income for s in statements]),
        ],
        balance_sheet=False,
        compare=query.flag("compare"),
    )
    return Report(
        "Income statement",
        f"From {start.isoformat()} to {end.isoformat()} (UTC, both included)",
        [table],
        (start.isoformat(), end.isoformat()),
    )


# --- account detail ----------------------------------------------------------------------


def account_detail(query: Query) -> Report | None:
    account = query.code(
        "account", Account.objects.select_related("commodity"), "account", required=True
    )
    start, end = query.period()
    if query.errors or account is None or start is None or end is None:
        return None
    detail = selectors.account_detail(account=account, start=start, end=end)
    scale = detail.opening.scale
    table = Table(
        f"{account.code} {account.name}",
        [
            Column("entry", "Entry", INTEGER),
            Column("sequence", "Sequence", INTEGER),
            Column("effective_date", "Date", DATE),
            Column("kind", "Kind"),
            Column("memo", "Memo"),
            Column("account", "Account"),
            Column("quantity", f"Quantity ({account.commodity_id})", AMOUNT, scale),
            Column("value", "Value (USD)", AMOUNT, USD),
            Column("running_quantity", "Running quantity", AMOUNT, scale),
            Column("running_value", "Running value (USD)", AMOUNT, USD),
        ],
    )
    table.add(
        style="total",
        memo="Opening balance",
        effective_date=start - timedelta(days=1),
        running_quantity=detail.opening.quantity,
        running_value=detail.opening.value,
    )
    # Each entry's page offers the way back to this account detail, with its dates.
    back = urlencode({"report": detail_url(account.code, start, end)})
    for posting in detail.postings:
        url = reverse("admin:ledger_journalentry_change", args=[posting.entry_id]) + "?" + back
        table.add(
            links={"entry": url, "sequence": url},
            entry=posting.entry_id,
            sequence=posting.entry.sequence,
            effective_date=posting.effective_date,
            kind=posting.entry.kind,
            memo=posting.entry.memo,
            account=posting.account.code,
            quantity=posting.quantity,
            value=posting.value,
            running_quantity=posting.running_quantity,  # type: ignore[attr-defined]
            running_value=posting.running_value,  # type: ignore[attr-defined]
        )
    table.add(
        style="total",
        memo="Total",
        quantity=detail.movement.quantity,
        value=detail.movement.value,
    )
    table.add(
        style="total",
        memo="Closing balance",
        effective_date=end,
        running_quantity=detail.closing.quantity,
        running_value=detail.closing.value,
    )
    tables = [table]
    held = _lots_held(account, end, scale)
    if held is not None:
        tables.append(held)
    return Report(
        f"Account detail: {account.code} {account.name}",
        f"From {start.isoformat()} to {end.isoformat()} (UTC, both included), "
        f"{account.commodity_id} at {scale} decimals; the accounts below it included",
        tables,
        (account.code, start.isoformat(), end.isoformat()),
    )


MAX_LOTS_SHOWN = 500


def _lots_held(account: Account, end: date, scale: int) -> Table | None:
    """The lots the account (and the accounts below it) held at the end of `end`, each with
    the payout that brought it into the company's wallets: the way from a wallet's balance
    to the transactions on chain. None for an account that holds no lots."""
    held = list(lot_selectors.lots(as_of=end, account=account.code)[: MAX_LOTS_SHOWN + 1])
    if not held:
        return None
    shown = held[:MAX_LOTS_SHOWN]
    payouts = lot_selectors.lot_payouts(shown)
    title = f"Lots held at the end of {end.isoformat()}"
    if len(held) > MAX_LOTS_SHOWN:
        title += f" (the first {MAX_LOTS_SHOWN}, oldest first)"
    table = Table(
        title,
        [
            Column("lot", "Lot"),
            Column("acquired", "Acquired", DATE),
            Column("origin", "Origin"),
            Column("lot_account", "Account"),
            Column("quantity", f"Quantity ({account.commodity_id})", AMOUNT, scale),
            Column("cost", "Cost (USD)", AMOUNT, USD),
            Column("carrying", "Carrying value (USD)", AMOUNT, USD),
            Column("paid_on", "Paid out on", DATE),
            Column("txid", "Payout txid"),
        ],
    )
    for lot in shown:
        payout = payouts.get(lot.pk)
        links = {"lot": reverse("admin:holdings_lot_change", args=[lot.pk])}
        if payout is not None:
            links["txid"] = reverse("admin:holdings_payout_change", args=[payout.pk])
        table.add(
            links=links,
            lot=f"#{lot.pk}",
            acquired=lot.acquired_at.date(),
            origin=lot.get_origin_display(),
            lot_account=lot.account.code,
            quantity=lot.held_quantity,  # type: ignore[attr-defined]
            cost=lot.held_cost,  # type: ignore[attr-defined]
            carrying=lot.held_cost + lot.held_adjustment,  # type: ignore[attr-defined]
            paid_on=payout.paid_at.date() if payout else None,
            txid=payout.txid if payout else "",
        )
    return table


DEFINITIONS = [
    Definition(
        "trial-balance",
        "Trial balance",
        "Every account with a balance at the end of a day; debits equal credits.",
        ("period", "as_of", "start"),
        trial_balance,
        defaults=(),
    ),
    Definition(
        "balance-sheet",
        "Balance sheet",
        "Assets, liabilities and equity at the end of a day, by month or quarter.",
        ("as_of", "period", "columns", "compare"),
        balance_sheet,
        defaults=(),
    ),
    Definition(
        "income-statement",
        "Income statement",
        "Income, expenses and net income of a period, by month or quarter.",
        ("period", "columns", "compare"),
        income_statement,
    ),
    Definition(
        "account-detail",
        "Account detail",
        "An account's opening balance, every posting with the running balance, closing.",
        ("account", "period"),
        account_detail,
        defaults=(("account", "1000"), ("period", "this_month")),
    ),
]
