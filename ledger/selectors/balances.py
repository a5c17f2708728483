"""Balances: an account's as of a date (its subtree included), every account's, the trial
balance, and each account's movement per day.

Balances come from the daily and monthly roll-ups that a trigger keeps with every posting:
an as-of balance adds the account's whole months before the date's month and its days in
that month, so its cost depends on the calendar, not on the number of postings, and
back-dated entries are exact because roll-ups are sums, not running totals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, localcontext
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import connection, models
from django.db.models import Func
from moneyed import Money

from ledger.models import DEBIT_NORMAL_TYPES, Account
from ledger.money import EXACT, FUNCTIONAL_CURRENCY, exact_sum, money, to_scale

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


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _months_through(as_of: date) -> date:
    """The first day of the month after the last whole month through `as_of`: the monthly
    roll-ups cover the months before it, the daily ones the days from it to `as_of` (none
    when `as_of` ends its month, as balance sheets mostly do)."""
    if as_of < date.max and (as_of + timedelta(days=1)).day == 1:
        return as_of + timedelta(days=1)
    return _month_start(as_of)


_ACCOUNT_COLUMNS = """
    a.id, a.code, a.name, a.type, a.commodity_id, c.decimal_places, a.parent_id
"""


def _own_balances(
    *,
    as_of: date,
    account_ids: Sequence[int] | None,
    type: str | None = None,
    commodity: str | None = None,
) -> list[Balance]:
    """Each account's own postings up to `as_of` (children not included); only the accounts
    of `type` and `commodity` when given."""
    only = "AND account_id = ANY(%(ids)s)" if account_ids is not None else ""
    conditions = ["a.id = ANY(%(ids)s)"] if account_ids is not None else []
    conditions += ["a.type = %(type)s"] if type is not None else []
    conditions += ["a.commodity_id = %(commodity)s"] if commodity is not None else []
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
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
        "month": _months_through(as_of),
        "as_of": as_of,
        "ids": list(account_ids or []),
        "type": type,
        "commodity": commodity,
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


class TreePath(Func):
    """The codes from the root down to the account: ordering by it lists the chart as a tree
    (parents before their children, siblings by code); its length is the depth plus one."""

    arity = 1
    template = (
        "(WITH RECURSIVE up(id, parent_id, code, depth) AS ("
        " SELECT a.id, a.parent_id, a.code::text, 0 FROM ledger_account a"
        " WHERE a.id = %(expressions)s"
        " UNION ALL"
        " SELECT p.id, p.parent_id, p.code::text, up.depth + 1"
        " FROM ledger_account p JOIN up ON p.id = up.parent_id WHERE up.depth < 64)"
        " SELECT array_agg(up.code ORDER BY up.depth DESC) FROM up)"
    )
    output_field = ArrayField(models.TextField())


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


def account_value(*, code: str, as_of: date) -> Decimal:
    """The USD value of the account `code` and its subtree as of the end of `as_of`; an
    account the chart does not have holds nothing (a ledger upgraded from a release whose
    chart lacked it, until `load_chart` adds it)."""
    try:
        return account_balance(account=code, as_of=as_of).value
    except Account.DoesNotExist:
        return Decimal("0.00")


def balances(
    *,
    as_of: date,
    type: str | None = None,
    commodity: str | None = None,
    include_children: bool = True,
) -> list[Balance]:
    """Every account's balance as of a date, each including its subtree (unless told not)."""
    if not include_children:
        # Only the accounts asked for are read (a subtree may mix types, so not otherwise).
        return _own_balances(as_of=as_of, account_ids=None, type=type, commodity=commodity)
    rows = _with_subtrees(_own_balances(as_of=as_of, account_ids=None))
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


def value_moved(*, account_ids: Sequence[int], start: date, end: date) -> Decimal:
    """The accounts' own postings' value from `start` to `end`, both included, summed from
    the daily roll-ups (a row per account and day, not a row per posting)."""
    return values_moved(groups={"": account_ids}, spans=[(start, end)])[""][0]


def values_moved(
    *, groups: Mapping[str, Sequence[int]], spans: Sequence[tuple[date, date]]
) -> dict[str, list[Decimal]]:
    """Per group of accounts, the value its accounts' own postings moved in each span
    (first and last day, both included), in the spans' order: one query over the daily
    roll-ups, whatever the number of groups and spans. An account may be in several
    groups, and spans may overlap."""
    moved = {name: [Decimal(0)] * len(spans) for name in groups}
    pairs = [(account_id, name) for name, ids in groups.items() for account_id in ids]
    if not pairs or not spans:
        return moved
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT g.name, s.n, sum(d.value)
              FROM unnest(%(ids)s::bigint[], %(names)s::text[]) AS g(account_id, name)
             CROSS JOIN unnest(%(firsts)s::date[], %(lasts)s::date[])
                   WITH ORDINALITY AS s(first, last, n)
              JOIN ledger_dailybalance d
                ON d.account_id = g.account_id AND d.day >= s.first AND d.day <= s.last
             GROUP BY g.name, s.n
            """,
            {
                "ids": [account_id for account_id, _ in pairs],
                "names": [name for _, name in pairs],
                "firsts": [first for first, _ in spans],
                "lasts": [last for _, last in spans],
            },
        )
        for name, n, value in cursor.fetchall():
            moved[name][n - 1] = Decimal(value)
    return moved


def month_end_quantities(*, account_ids: Sequence[int], months: Sequence[date]) -> list[Decimal]:
    """The accounts' own quantity, added up, at the end of each of `months` (each given by
    its first day), in their order: one query over the monthly roll-ups, each month's
    total carried forward."""
    if not months:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH moved AS (
                SELECT month, sum(quantity) AS quantity FROM ledger_monthlybalance
                 WHERE account_id = ANY(%(accounts)s) AND month <= %(last)s
                 GROUP BY month
            ), held AS (
                SELECT month, sum(quantity) OVER (ORDER BY month) AS quantity FROM moved
            )
            SELECT coalesce((SELECT h.quantity FROM held h WHERE h.month <= m.month
                              ORDER BY h.month DESC LIMIT 1), 0)
              FROM unnest(%(months)s::date[]) WITH ORDINALITY AS m(month, position)
             ORDER BY m.position
            """,
            {"accounts": list(account_ids), "months": list(months), "last": max(months)},
        )
        return [Decimal(row[0]) for row in cursor.fetchall()]
