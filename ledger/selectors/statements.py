"""What auditors and pages read of the journal: an account's postings over a period (with
running balances), the journal itself, the date the books are closed through, the balance
sheet and the income statement."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import F, QuerySet, Sum, Value, Window
from django.db.models.expressions import RowRange

from ledger.fields import ExactDecimalField
from ledger.models import DEBIT_NORMAL_TYPES, Account, AccountType, JournalEntry, Posting
from ledger.money import exact_sum, to_scale
from ledger.selectors.balances import (
    Balance,
    _resolve,
    account_balance,
    balances,
    subtree_ids,
)


@dataclass(frozen=True)
class StatementLine:
    entry_id: int
    sequence: int
    effective_date: date
    kind: str
    memo: str
    account_code: str
    quantity: Decimal
    value: Decimal
    running_quantity: Decimal
    running_value: Decimal


@dataclass(frozen=True)
class AccountStatement:
    account: Balance
    start: date
    end: date
    opening: Balance
    closing: Balance
    lines: list[StatementLine] = field(default_factory=list)


def account_postings(*, account: Account | str | int, start: date, end: date) -> AccountStatement:
    """Opening balance, every posting in [start, end] (subtree included), closing balance."""
    account = _resolve(account)
    opening = account_balance(account=account, as_of=start - timedelta(days=1))
    closing = account_balance(account=account, as_of=end)
    postings = (
        Posting.objects.filter(
            account_id__in=subtree_ids(account), effective_date__gte=start, effective_date__lte=end
        )
        .select_related("entry", "account")
        .order_by("effective_date", "entry__sequence", "id")
    )
    running_quantity, running_value = opening.quantity, opening.value
    lines = []
    for posting in postings.iterator(chunk_size=2000):
        running_quantity = exact_sum((running_quantity, posting.quantity))
        running_value = exact_sum((running_value, posting.value))
        lines.append(
            StatementLine(
                entry_id=posting.entry_id,
                sequence=posting.entry.sequence or 0,
                effective_date=posting.effective_date,
                kind=posting.entry.kind,
                memo=posting.entry.memo,
                account_code=posting.account.code,
                quantity=posting.quantity,
                value=posting.value,
                running_quantity=running_quantity,
                running_value=running_value,
            )
        )
    return AccountStatement(
        account=closing, start=start, end=end, opening=opening, closing=closing, lines=lines
    )


def entries(
    *,
    account: Account | None = None,
    start: date | None = None,
    end: date | None = None,
    kind: str | None = None,
) -> Iterable[JournalEntry]:
    """The journal, newest first, filtered; postings prefetched."""
    queryset = JournalEntry.objects.prefetch_related("postings__account").order_by("-sequence")
    if account is not None:
        queryset = queryset.filter(postings__account_id__in=subtree_ids(account)).distinct()
    if start is not None:
        queryset = queryset.filter(effective_date__gte=start)
    if end is not None:
        queryset = queryset.filter(effective_date__lte=end)
    if kind is not None:
        queryset = queryset.filter(kind=kind)
    return queryset


def closed_through() -> date | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(through) FROM ledger_periodclose WHERE reopened_at IS NULL")
        return cursor.fetchone()[0]


# --- statements auditors pull ------------------------------------------------------------


@dataclass(frozen=True)
class AccountDetail:
    """An account (its subtree included) over a period: the balance before it, every posting
    in it with the running balance after each, the period's movement (closing less opening)
    and the balance after.

    `postings` is a queryset, oldest first (date, entry sequence, posting), each annotated
    with `running_quantity` and `running_value`: the opening balance plus every posting up to
    and including this one, computed by the database over the whole period, so that any page
    of it carries the right running balance."""

    account: Account
    start: date
    end: date
    opening: Balance
    movement: Balance
    closing: Balance
    postings: QuerySet[Posting]


def account_detail(*, account: Account | str | int, start: date, end: date) -> AccountDetail:
    """Opening balance at the end of the day before `start`, every posting from `start` to
    `end` (UTC dates, both included) with its running balance, and the closing balance."""
    account = _resolve(account)
    opening = account_balance(account=account, as_of=start - timedelta(days=1))
    closing = account_balance(account=account, as_of=end)
    order = [
        F("effective_date").asc(),
        F("entry__sequence").asc(nulls_last=True),
        F("id").asc(),
    ]
    frame = RowRange(start=None, end=0)
    running = ExactDecimalField()
    postings = (
        Posting.objects.filter(
            account_id__in=subtree_ids(account), effective_date__gte=start, effective_date__lte=end
        )
        .select_related("entry", "account")
        .annotate(
            running_quantity=Window(Sum("quantity"), order_by=order, frame=frame)
            + Value(opening.quantity, output_field=running),
            running_value=Window(Sum("value"), order_by=order, frame=frame)
            + Value(opening.value, output_field=running),
        )
        .order_by(*order)
    )
    movement = Balance(
        account_id=closing.account_id,
        code=closing.code,
        name=closing.name,
        type=closing.type,
        commodity=closing.commodity,
        scale=closing.scale,
        parent_id=closing.parent_id,
        quantity=to_scale(exact_sum((closing.quantity, -opening.quantity)), closing.scale),
        value=to_scale(exact_sum((closing.value, -opening.value)), 2),
    )
    return AccountDetail(
        account=account,
        start=start,
        end=end,
        opening=opening,
        movement=movement,
        closing=closing,
        postings=postings,
    )


def presented(row: Balance) -> Decimal:
    """A balance as a statement shows it: positive on the account type's normal side (a
    liability owed, income earned), negative on the other."""
    return row.value if row.type in DEBIT_NORMAL_TYPES else -row.value


@dataclass(frozen=True)
class StatementSection:
    """The top-level accounts of one type (each with its subtree) and their total, in USD
    as presented (see `presented`)."""

    type: str
    rows: list[Balance]
    total: Decimal


def _section(type_: str, rows: Iterable[Balance]) -> StatementSection:
    mine = [row for row in rows if row.type == type_]
    return StatementSection(
        type=type_,
        rows=[row for row in mine if row.quantity != 0 or row.value != 0],
        total=to_scale(exact_sum(presented(row) for row in mine), 2),
    )


def _top_level(rows: Iterable[Balance]) -> list[Balance]:
    return [row for row in rows if row.parent_id is None]


@dataclass(frozen=True)
class BalanceSheet:
    """Assets, liabilities and equity at the end of `as_of`, from the chart's account types.

    The chart has no closing entries: income and expenses stay in their accounts. What they
    add up to since the books began (income less expenses) is the equity not yet closed to
    an equity account, shown as `undistributed_income`; with it the sheet balances exactly,
    because every entry balances: assets = liabilities + equity + undistributed income."""

    as_of: date
    assets: StatementSection
    liabilities: StatementSection
    equity: StatementSection
    undistributed_income: Decimal
    total_equity: Decimal
    total_liabilities_and_equity: Decimal

    @property
    def balances(self) -> bool:
        return self.assets.total == self.total_liabilities_and_equity


def balance_sheet(*, as_of: date) -> BalanceSheet:
    top = _top_level(balances(as_of=as_of))
    income = _section(AccountType.INCOME, top)
    expenses = _section(AccountType.EXPENSE, top)
    liabilities = _section(AccountType.LIABILITY, top)
    equity = _section(AccountType.EQUITY, top)
    undistributed = to_scale(exact_sum((income.total, -expenses.total)), 2)
    total_equity = to_scale(exact_sum((equity.total, undistributed)), 2)
    return BalanceSheet(
        as_of=as_of,
        assets=_section(AccountType.ASSET, top),
        liabilities=liabilities,
        equity=equity,
        undistributed_income=undistributed,
        total_equity=total_equity,
        total_liabilities_and_equity=to_scale(exact_sum((liabilities.total, total_equity)), 2),
    )


@dataclass(frozen=True)
class IncomeStatement:
    """Income and expenses of a period (the movement of each top-level account from the end
    of the day before `start` to the end of `end`) and the net income, in USD as presented.
    Net income is the change of the balance sheet's undistributed income over the period."""

    start: date
    end: date
    income: StatementSection
    expenses: StatementSection
    net_income: Decimal


def income_statement(*, start: date, end: date) -> IncomeStatement:
    before = {row.account_id: row for row in _top_level(balances(as_of=start - timedelta(days=1)))}
    moved = []
    for row in _top_level(balances(as_of=end)):
        if row.type not in (AccountType.INCOME, AccountType.EXPENSE):
            continue
        earlier = before[row.account_id]
        moved.append(
            Balance(
                account_id=row.account_id,
                code=row.code,
                name=row.name,
                type=row.type,
                commodity=row.commodity,
                scale=row.scale,
                parent_id=row.parent_id,
                quantity=to_scale(exact_sum((row.quantity, -earlier.quantity)), row.scale),
                value=to_scale(exact_sum((row.value, -earlier.value)), 2),
            )
        )
    income = _section(AccountType.INCOME, moved)
    expenses = _section(AccountType.EXPENSE, moved)
    return IncomeStatement(
        start=start,
        end=end,
        income=income,
        expenses=expenses,
        net_income=to_scale(exact_sum((income.total, -expenses.total)), 2),
    )
