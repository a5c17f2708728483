"""Reads of the ledger. No side effects.

Balances come from the daily and monthly roll-ups that a trigger keeps with every posting:
an as-of balance adds the account's whole months before the date's month and its days in
that month, so its cost depends on the calendar, not on the number of postings, and
back-dated entries are exact because roll-ups are sums, not running totals.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, localcontext
from typing import Any

from django.db import connection, transaction
from django.db.models import F, QuerySet, Sum, Value, Window
from django.db.models.expressions import RowRange
from moneyed import Money

from ledger import sealing
from ledger.fields import ExactDecimalField
from ledger.models import DEBIT_NORMAL_TYPES, Account, AccountType, JournalEntry, Posting
from ledger.money import EXACT, FUNCTIONAL_CURRENCY, exact_sum, money, to_scale
from ledger.sealing import (
    GENESIS_HASH,
    ChainVerification,
    EntryDigest,
    JournalBreak,
    chain_head,
    content_hash,
    entry_digests,
    link_hash,
    sealed_chains,
)

ZERO = Decimal(0)


@dataclass(frozen=True)
class Balance:
    """An account's balance as of a date: quantity in its commodity, value in USD."""

    account_id: int
    code: str
    name: str
    type: str
    commodity: str
    scale: int
    parent_id: int | None
    quantity: Decimal
    value: Decimal

    @property
    def quantity_money(self) -> Money:
        return money(self.quantity, self.commodity)

    @property
    def value_money(self) -> Money:
        return money(self.value, FUNCTIONAL_CURRENCY)

    @property
    def normal_side(self) -> str:
        return "debit" if self.type in DEBIT_NORMAL_TYPES else "credit"

    @property
    def debit(self) -> Decimal:
        return self.value if self.value > 0 else ZERO

    @property
    def credit(self) -> Decimal:
        return -self.value if self.value < 0 else ZERO


@dataclass(frozen=True)
class TrialBalance:
    as_of: date
    rows: list[Balance]
    total_value: Decimal
    total_debit: Decimal
    total_credit: Decimal


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


def _month_start(day: date) -> date:
    return day.replace(day=1)


_ACCOUNT_COLUMNS = """
    a.id, a.code, a.name, a.type, a.commodity_id, c.decimal_places, a.parent_id
"""


def _own_balances(*, as_of: date, account_ids: Sequence[int] | None) -> list[Balance]:
    """Each account's own postings up to `as_of` (children not included)."""
    only = "AND account_id = ANY(%(ids)s)" if account_ids is not None else ""
    where = "WHERE a.id = ANY(%(ids)s)" if account_ids is not None else ""
    sql = f"""
        SELECT {_ACCOUNT_COLUMNS},
               coalesce(m.q, 0) + coalesce(d.q, 0), coalesce(m.v, 0) + coalesce(d.v, 0)
          FROM ledger_account a
          JOIN ledger_commodity c ON c.code = a.commodity_id
          LEFT JOIN (SELECT account_id, sum(quantity) q, sum(value) v
                       FROM ledger_monthlybalance WHERE month < %(month)s {only}
                      GROUP BY account_id) m ON m.account_id = a.id
          LEFT JOIN (SELECT account_id, sum(quantity) q, sum(value) v
                       FROM ledger_dailybalance WHERE day >= %(month)s AND day <= %(as_of)s {only}
                      GROUP BY account_id) d ON d.account_id = a.id
          {where}
         ORDER BY a.code
    """
    params: dict[str, Any] = {
        "month": _month_start(as_of),
        "as_of": as_of,
        "ids": list(account_ids or []),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [_balance_row(row) for row in cursor.fetchall()]


def _balance_row(row: Sequence) -> Balance:
    account_id, code, name, type_, commodity, scale, parent_id, quantity, value = row
    return Balance(
        account_id=account_id,
        code=code,
        name=name,
        type=type_,
        commodity=commodity,
        scale=scale,
        parent_id=parent_id,
        quantity=to_scale(quantity, scale),
        value=to_scale(value, 2),
    )


def _resolve(account: Account | str | int) -> Account:
    if isinstance(account, Account):
        return account
    accounts = Account.objects.select_related("commodity")
    if isinstance(account, str):
        return accounts.get(code=account)
    return accounts.get(pk=account)


def subtree_ids(account: Account) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE tree(id) AS (
                SELECT %s::bigint
                UNION ALL
                SELECT a.id FROM ledger_account a JOIN tree ON a.parent_id = tree.id
            )
            SELECT id FROM tree
            """,
            [account.pk],
        )
        return [row[0] for row in cursor.fetchall()]


def account_balance(*, account: Account | str | int, as_of: date) -> Balance:
    """The account and its whole subtree as of the end of `as_of`."""
    account = _resolve(account)
    rows = _own_balances(as_of=as_of, account_ids=subtree_ids(account))
    own = next(row for row in rows if row.account_id == account.pk)
    return Balance(
        account_id=own.account_id,
        code=own.code,
        name=own.name,
        type=own.type,
        commodity=own.commodity,
        scale=own.scale,
        parent_id=own.parent_id,
        quantity=to_scale(exact_sum(row.quantity for row in rows), own.scale),
        value=to_scale(exact_sum(row.value for row in rows), 2),
    )


def balances(
    *,
    as_of: date,
    type: str | None = None,
    commodity: str | None = None,
    include_children: bool = True,
) -> list[Balance]:
    """Every account's balance as of a date, each including its subtree (unless told not)."""
    own = _own_balances(as_of=as_of, account_ids=None)
    rows = _with_subtrees(own) if include_children else own
    return [
        row
        for row in rows
        if (type is None or row.type == type) and (commodity is None or row.commodity == commodity)
    ]


def _with_subtrees(own: list[Balance]) -> list[Balance]:
    with localcontext(EXACT):
        return _add_subtrees(own)


def _add_subtrees(own: list[Balance]) -> list[Balance]:
    children: dict[int | None, list[Balance]] = {}
    for row in own:
        children.setdefault(row.parent_id, []).append(row)
    totals: dict[int, tuple[Decimal, Decimal]] = {}

    def total(row: Balance) -> tuple[Decimal, Decimal]:
        if row.account_id not in totals:
            quantity, value = row.quantity, row.value
            for child in children.get(row.account_id, []):
                child_quantity, child_value = total(child)
                quantity += child_quantity
                value += child_value
            totals[row.account_id] = (quantity, value)
        return totals[row.account_id]

    result = []
    for row in own:
        quantity, value = total(row)
        result.append(
            Balance(
                account_id=row.account_id,
                code=row.code,
                name=row.name,
                type=row.type,
                commodity=row.commodity,
                scale=row.scale,
                parent_id=row.parent_id,
                quantity=to_scale(quantity, row.scale),
                value=to_scale(value, 2),
            )
        )
    return result


def trial_balance(*, as_of: date) -> TrialBalance:
    """Every account with a balance, on its own postings; the values sum to zero."""
    rows = [
        row
        for row in _own_balances(as_of=as_of, account_ids=None)
        if row.quantity != 0 or row.value != 0
    ]
    return TrialBalance(
        as_of=as_of,
        rows=rows,
        total_value=to_scale(exact_sum(row.value for row in rows), 2),
        total_debit=to_scale(exact_sum(row.debit for row in rows), 2),
        total_credit=to_scale(exact_sum(row.credit for row in rows), 2),
    )


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


def account_first_day_below_zero(*, account: Account) -> tuple[date, Decimal] | None:
    """The first day the account's own quantity is below zero, with that quantity."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT day, running FROM (
                SELECT day, sum(quantity) OVER (ORDER BY day) AS running
                  FROM ledger_dailybalance WHERE account_id = %s
            ) d
             WHERE running < 0 ORDER BY day LIMIT 1
            """,
            [account.pk],
        )
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def accounts_below_zero() -> list[tuple[str, date, Decimal]]:
    """Accounts flagged must-not-go-negative whose balance dips below zero on some day."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.code, d.day, d.running
              FROM ledger_account a
              CROSS JOIN LATERAL (
                  SELECT day, sum(quantity) OVER (ORDER BY day) AS running
                    FROM ledger_dailybalance WHERE account_id = a.id
              ) d
             WHERE a.must_not_go_negative AND d.running < 0
             ORDER BY a.code, d.day
            """
        )
        return list(cursor.fetchall())


def rollup_differences() -> list[tuple[str, str, date, Decimal, Decimal]]:
    """Days or months where a roll-up disagrees with the postings it summarises."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH p AS (
                SELECT account_id, effective_date AS day, sum(quantity) q, sum(value) v
                  FROM ledger_posting GROUP BY 1, 2
            ), daily AS (
                SELECT coalesce(p.account_id, r.account_id) account_id,
                       coalesce(p.day, r.day) AS day,
                       coalesce(p.q, 0) - coalesce(r.quantity, 0) dq,
                       coalesce(p.v, 0) - coalesce(r.value, 0) dv
                  FROM p FULL JOIN ledger_dailybalance r
                    ON r.account_id = p.account_id AND r.day = p.day
            ), pm AS (
                SELECT account_id, date_trunc('month', day)::date AS month, sum(q) q, sum(v) v
                  FROM p GROUP BY 1, 2
            ), monthly AS (
                SELECT coalesce(pm.account_id, r.account_id) account_id,
                       coalesce(pm.month, r.month) AS day,
                       coalesce(pm.q, 0) - coalesce(r.quantity, 0) dq,
                       coalesce(pm.v, 0) - coalesce(r.value, 0) dv
                  FROM pm FULL JOIN ledger_monthlybalance r
                    ON r.account_id = pm.account_id AND r.month = pm.month
            )
            SELECT 'daily', a.code, x.day, x.dq, x.dv FROM daily x
              JOIN ledger_account a ON a.id = x.account_id WHERE x.dq <> 0 OR x.dv <> 0
            UNION ALL
            SELECT 'monthly', a.code, x.day, x.dq, x.dv FROM monthly x
              JOIN ledger_account a ON a.id = x.account_id WHERE x.dq <> 0 OR x.dv <> 0
            ORDER BY 2, 3
            """
        )
        return list(cursor.fetchall())


@dataclass(frozen=True)
class IntegrityReport:
    """What the ledger checks about itself: every finding is a break to look into."""

    as_of: date
    trial_balance_total: Decimal
    accounts_below_zero: list[tuple[str, date, Decimal]]
    rollup_differences: list[tuple[str, str, date, Decimal, Decimal]]

    @property
    def ok(self) -> bool:
        return (
            self.trial_balance_total == 0
            and not self.accounts_below_zero
            and not self.rollup_differences
        )


def ledger_integrity(*, as_of: date) -> IntegrityReport:
    """Re-verify what the database enforces on write: the books balance, guarded accounts
    never went below zero, and the balance roll-ups equal the postings they summarise."""
    return IntegrityReport(
        as_of=as_of,
        trial_balance_total=trial_balance(as_of=as_of).total_value,
        accounts_below_zero=accounts_below_zero(),
        rollup_differences=rollup_differences(),
    )


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


def daily_movements(
    *, account_ids: Sequence[int], start: date, end: date
) -> dict[tuple[int, date], tuple[Decimal, Decimal]]:
    """Each account's own net movement (quantity, value) per day from `start` to `end`, for
    the days it moved, from the daily roll-ups."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT account_id, day, quantity, value FROM ledger_dailybalance
             WHERE account_id = ANY(%s) AND day >= %s AND day <= %s
            """,
            [list(account_ids), start, end],
        )
        return {(row[0], row[1]): (row[2], row[3]) for row in cursor.fetchall()}


# --- the sealed journal ------------------------------------------------------------------

# What a break in the chain can be, first break first (selectors.journal_verify).
BREAK_REASONS = {
    "seal_altered": "a seal's hashes do not follow from the seal's own columns",
    "chain_broken": "a seal's previous hash is not the hash of the seal before it",
    "entry_missing": "a sealed entry is gone",
    "sequence_reordered": "a sealed entry is no longer at its sequence",
    "entry_altered": "a sealed entry's own fields differ from what was sealed",
    "posting_altered": "a posting of a sealed entry differs from what was sealed",
    "posting_removed": "a sealed entry has fewer postings than were sealed",
    "posting_added": "a sealed entry has more postings than were sealed",
    "entry_unsealed": "an entry inside the sealed range has no seal",
    "entry_without_sequence": "an entry has no sequence number",
    "head_differs": "the chain does not reach the head recorded outside the database",
}
# Below any sequence: verification reads every row, even ones no posting could write.
_BEFORE_ANY = -(2**63)


def break_reasons() -> dict[str, str]:
    """What a break can be: the journal's (BREAK_REASONS), then each sealed chain's."""
    reasons = dict(BREAK_REASONS)
    for chain in sealed_chains():
        for code, words in chain.reasons.items():
            reasons.setdefault(code, words)
    return reasons


@dataclass(frozen=True)
class JournalVerification:
    """The journal checked against its seals. `entries_checked` entries matched their seals
    (up to the first break, if any); entries after the last seal (`sealed_through`) wait
    for the next sealing run and are not a break. `chains`: the chains sealed with the
    journal, checked too when asked; `first_break` is then the first break of any of them
    in sequence order (the journal's first at the same sequence)."""

    entries_checked: int
    sealed_through: int | None
    head_hash: str
    unsealed_entries: int
    first_break: JournalBreak | None
    chains: tuple[ChainVerification, ...] = ()
    # The journal's own first break (first_break without the chains).
    journal_break: JournalBreak | None = None

    @property
    def ok(self) -> bool:
        return self.first_break is None and all(chain.ok for chain in self.chains)


@dataclass(frozen=True, slots=True)
class _Seal:
    sequence: int
    entry_id: int
    previous_hash: str
    header_hash: str
    postings_hash: str
    postings: int
    content_hash: str
    entry_hash: str


def _seals(*, through: int) -> Iterator[_Seal]:
    after = _BEFORE_ANY
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT sequence, entry_id, previous_hash, header_hash, postings_hash, postings,
                       content_hash, entry_hash
                  FROM ledger_journalseal
                 WHERE sequence > %s AND sequence <= %s
                 ORDER BY sequence LIMIT %s
                """,
                [after, through, sealing.BATCH],
            )
            rows = cursor.fetchall()
        yield from (_Seal(*row) for row in rows)
        if len(rows) < sealing.BATCH:
            return
        after = rows[-1][0]


@contextmanager
def _one_snapshot() -> Iterator[None]:
    """Every batch read as of one moment (unless the caller's transaction decides)."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def journal_verify(
    *, recorded_head: tuple[int, str] | None = None, chains: bool = False
) -> JournalVerification:
    """Walk the seals and the entries together in sequence order, hashing every sealed entry
    again, and report the first break. `recorded_head` (sequence, hash), a seal's hash kept
    outside the database, also catches a chain rewritten or cut short up to that seal.
    `chains`: verify the chains sealed with the journal too (the subledgers), in the same
    snapshot."""
    with _one_snapshot():
        head_sequence, head_hash = chain_head()
        checked, found = (0, None) if head_sequence is None else _walk(through=head_sequence)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM ledger_journalentry WHERE sequence > %s",
                [_BEFORE_ANY if head_sequence is None else head_sequence],
            )
            (unsealed,) = cursor.fetchone()
            cursor.execute(
                "SELECT id FROM ledger_journalentry WHERE sequence IS NULL ORDER BY id LIMIT 1"
            )
            no_sequence = cursor.fetchone()
        if recorded_head is not None and (found is None or _after(found, recorded_head[0])):
            found = _check_recorded_head(recorded_head, head_sequence) or found
        if found is None and no_sequence is not None:
            found = JournalBreak(
                None,
                no_sequence[0],
                "entry_without_sequence",
                f"entry {no_sequence[0]} has no sequence number, so it cannot be sealed",
            )
        verified = tuple(chain.verify() for chain in sealed_chains()) if chains else ()
    return JournalVerification(
        entries_checked=checked,
        sealed_through=head_sequence,
        head_hash=head_hash,
        unsealed_entries=unsealed,
        first_break=_first(found, [chain.first_break for chain in verified]),
        chains=verified,
        journal_break=found,
    )


def _first(
    journal: JournalBreak | None, others: Iterable[JournalBreak | None]
) -> JournalBreak | None:
    """The first break in sequence order (one without a sequence last); the journal's first
    at the same place."""
    found = [b for b in (journal, *others) if b is not None]
    if not found:
        return None
    return min(
        found,
        key=lambda b: (b.sequence is None, b.sequence or 0, b.chain != "journal"),
    )


def _after(found: JournalBreak, sequence: int) -> bool:
    return found.sequence is None or found.sequence > sequence


def _walk(*, through: int) -> tuple[int, JournalBreak | None]:
    seals = _seals(through=through)
    entries: Iterator[EntryDigest] = (
        digest for batch in entry_digests(after=_BEFORE_ANY, through=through) for digest in batch
    )
    seal, entry = next(seals, None), next(entries, None)
    previous, checked = GENESIS_HASH, 0
    # Entries are read only up to the last seal, so none is left once the seals are.
    while seal is not None:
        if entry is not None and entry.sequence < seal.sequence:
            return checked, JournalBreak(
                entry.sequence,
                entry.entry_id,
                "entry_unsealed",
                f"entry {entry.entry_id} at sequence {entry.sequence} has no seal, but later "
                "entries are sealed: its seal was removed, or it was written past the ledger",
            )
        found = _check_seal(seal, previous) or _check_entry(seal, entry)
        if found is not None:
            return checked, found
        previous, checked = seal.entry_hash, checked + 1
        seal, entry = next(seals, None), next(entries, None)
    return checked, None


def _check_seal(seal: _Seal, previous: str) -> JournalBreak | None:
    recomputed = content_hash(
        sequence=seal.sequence,
        entry_id=seal.entry_id,
        header_hash=seal.header_hash,
        postings_hash=seal.postings_hash,
        postings=seal.postings,
    )
    if recomputed != seal.content_hash or seal.entry_hash != link_hash(
        previous_hash=seal.previous_hash, content_hash=seal.content_hash
    ):
        return JournalBreak(
            seal.sequence,
            seal.entry_id,
            "seal_altered",
            f"the seal of sequence {seal.sequence} was altered: its hashes do not follow "
            "from its own columns",
        )
    if seal.previous_hash != previous:
        return JournalBreak(
            seal.sequence,
            seal.entry_id,
            "chain_broken",
            f"the seal of sequence {seal.sequence} carries previous hash "
            f"{seal.previous_hash[:16]}..., not {previous[:16]}..., the hash of the seal "
            "before it: one of the two seals was rewritten",
        )
    return None


def _check_entry(seal: _Seal, entry: EntryDigest | None) -> JournalBreak | None:
    if entry is None or entry.sequence != seal.sequence or entry.entry_id != seal.entry_id:
        return _missing_or_moved(
            seal, holder=entry if entry and entry.sequence == seal.sequence else None
        )
    if entry.content_hash == seal.content_hash:
        return None
    where = f"entry {seal.entry_id} at sequence {seal.sequence}"
    header = entry.header_hash != seal.header_hash
    if entry.postings_hash == seal.postings_hash:
        return JournalBreak(
            seal.sequence,
            seal.entry_id,
            "entry_altered",
            f"{where}: its own fields (date, memo, kind, key, users, time) differ from what was "
            "sealed",
        )
    if header:
        return JournalBreak(
            seal.sequence,
            seal.entry_id,
            "entry_altered",
            f"{where}: its own fields and its postings differ from what was sealed",
        )
    if entry.postings < seal.postings:
        reason, what = "posting_removed", f"has {entry.postings} posting(s), {seal.postings} sealed"
    elif entry.postings > seal.postings:
        reason, what = "posting_added", f"has {entry.postings} posting(s), {seal.postings} sealed"
    else:
        reason = "posting_altered"
        what = "a posting differs from what was sealed (account, amount, commodity or date)"
    return JournalBreak(seal.sequence, seal.entry_id, reason, f"{where}: {what}")


def _missing_or_moved(seal: _Seal, *, holder: EntryDigest | None) -> JournalBreak:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sequence FROM ledger_journalentry WHERE id = %s", [seal.entry_id])
        row = cursor.fetchone()
    now = f"; sequence {seal.sequence} now holds entry {holder.entry_id}" if holder else ""
    if row is None:
        return JournalBreak(
            seal.sequence,
            seal.entry_id,
            "entry_missing",
            f"entry {seal.entry_id}, sealed at sequence {seal.sequence}, is gone{now}",
        )
    return JournalBreak(
        seal.sequence,
        seal.entry_id,
        "sequence_reordered",
        f"entry {seal.entry_id}, sealed at sequence {seal.sequence}, is now at sequence "
        f"{row[0]}{now}",
    )


def _check_recorded_head(
    recorded: tuple[int, str], head_sequence: int | None
) -> JournalBreak | None:
    sequence, expected = recorded
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT entry_id, entry_hash FROM ledger_journalseal WHERE sequence = %s", [sequence]
        )
        row = cursor.fetchone()
    if row is None:
        ends = "no seal yet" if head_sequence is None else f"the last seal is {head_sequence}"
        return JournalBreak(
            sequence,
            None,
            "head_differs",
            f"sequence {sequence} was recorded sealed with hash {expected}, but it has no seal "
            f"({ends}): seals were removed",
        )
    if row[1] != expected.lower():
        return JournalBreak(
            sequence,
            row[0],
            "head_differs",
            f"the seal of sequence {sequence} has hash {row[1]}, not {expected} as recorded: "
            "the chain was rewritten at or before it",
        )
    return None
