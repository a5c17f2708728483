"""The journal as a beancount file that auditors can check with beancount's own tools.

`beancount_export(as_of=...)` writes, as a stream of text, a beancount (v3) file of every
posted entry through `as_of`: the options, a `commodity` directive per commodity, an `open`
directive per account, every entry as a transaction, a `price` directive per price, and a
`balance` assertion per account the day after `as_of` (beancount checks a balance at the
start of its day). `bean-check` accepts the file, and its balances are the trial balance's:
per account the quantity in the account's commodity, and the USD value as the sum of the
account's positions at cost.

Account names. An account is `<root>:<component>:...`, one component per level of the
ledger's tree, from the top-level ancestor down to the account: `Assets:1210:1210-COLD-01`.
The root comes from the type (asset `Assets`, liability `Liabilities`, equity `Equity`,
income `Income`, expense `Expenses`); a component is the account's code where beancount
accepts it as it is (a capital letter or a digit, then letters, digits and hyphens). Other
codes (a lower-case first letter, `.` or `_`) are written with those characters made
acceptable (`_` and `.` become `-`, the first letter a capital) and the first eight hex
digits of the code's SHA-256 appended (`cold_1` -> `Cold-1-X82BFF3FB`), so a name depends only on
the account's code and its place in the tree, and two codes never share one (the export
refuses if they would). Every `open` carries the ledger `code` and `name` as metadata. A
`balance` assertion on a parent covers its subtree in beancount, as the ledger's roll-ups do;
the trial balance is each account's own postings, which beancount's realization gives too.

Amounts. A posting to a USD account is its value in USD. A posting to an account in another
commodity is held at cost in USD, so that beancount carries both figures the ledger does:
the units, and the USD value as the position's cost (a transaction balances on those costs,
as a journal entry balances on its values). Fair value adjustments are not in these
accounts: the ledger keeps them in USD accounts (1290, 1490), written as USD postings.

Lots. The postings of an account whose lots explain them entry by entry (every wallet, pool
receivable and collateral account the services keep) are written lot by lot from the lots'
movements, and the account is booked STRICT, so that beancount itself checks that every
relief takes a lot that is there:

- a lot opened (or moved in) is an augmentation at its total cost, acquisition date and a
  label naming the lot: `0.5 BTC {{42000.00 USD, 2025-10-01, "lot-17"}}`;
- a lot relieved in full is the reduction of that position, with the same cost, date and
  label (the same figures give beancount the same unit cost, so the match is exact);
- a lot relieved in part is the reduction of the whole position and its remainder opened
  again with the cost the ledger leaves on it, same date and label. The ledger splits a
  lot's cost to the cent (the part relieved rounded, the rest staying behind) while
  beancount would carry the remainder at units x unit cost, which drifts from the cents by
  fractions of a cent each time; reopening keeps every lot's cost, and so every account's,
  equal to the ledger's to the cent.

A fair value remeasurement changes no lot's units or cost (its adjustment posts to 1290 or
1490), so it adds no lot postings. Accounts in a commodity other than USD with a posting
that no lot movement explains (a loan's USDT principal and interest, or an account that a
manual entry or a reversal posted to without moving lots) are booked NONE: what lots explain
is still written lot by lot, the rest of each entry's postings to the account as a position
at its own cost (`-100.000000 USDT {{100.00 USD}}`), and beancount adds positions without
matching them, so the balances still tie. A quantity of zero with a value (beancount holds
no cost on no units) is written as one unit at that value and one unit back at no cost.
Accounts with no posting at all keep beancount's default, STRICT.

Tolerance. Values are cents, so transactions balance in USD within half a cent
(`inferred_tolerance_default USD:0.005`); beancount's unit costs are quotients whose last
digits differ from the cents by far less. The balance assertions are exact (`~ 0`); each
names the account's USD value (its subtree's, at cost) as metadata, `value`.

Prices. Every price through `as_of` (and the one the price policy values `as_of` with, at
00:00 UTC the next day under `day_end`) is a `price` directive on its timestamp's UTC date,
with its timestamp and source as metadata.

The export reads one snapshot (a repeatable-read transaction when the caller has none), and
is streamed: PostgreSQL writes the transactions, and sends them a day at a time as they are
written; memory holds a few days. Two queries write them: the entries whose postings are all
in USD, and the others (lots, other commodities). With a transaction of its own, the export
runs them at once on two connections reading the same snapshot; in the caller's
transaction, one after the other on its connection (holdings.selectors.side_by_side). Each
day's entries of the two are then put in the journal's order (date, then sequence).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import chain
from typing import Any

from django.db import connection

from holdings.errors import HoldingsError
from holdings.models import Price
from holdings.selectors import side_by_side
from holdings.selectors.prices import price_timestamp
from ledger import selectors as ledger_selectors
from ledger.models import Account, AccountType, Commodity
from ledger.money import FUNCTIONAL_CURRENCY, format_amount

FETCH_ROWS = 2000
PIECE_CHARS = 256 * 1024
ROOTS = {
    AccountType.ASSET: "Assets",
    AccountType.LIABILITY: "Liabilities",
    AccountType.EQUITY: "Equity",
    AccountType.INCOME: "Income",
    AccountType.EXPENSE: "Expenses",
}
STRICT, NONE = "STRICT", "NONE"
# A component of a beancount account name below the root, restricted to ASCII.
_COMPONENT = re.compile(r"[A-Z0-9][A-Za-z0-9-]*")
_NOT_IN_COMPONENT = re.compile(r"[^A-Za-z0-9-]")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_TO_ESCAPE = re.compile(r'[\\"\n\r\t]')


class ExportError(HoldingsError):
    code = "export_error"


@dataclass(frozen=True)
class ExportAccount:
    id: int
    code: str
    name: str
    type: str
    commodity: str
    scale: int
    beancount_name: str
    # STRICT: written lot by lot, beancount matches every relief; NONE: positions at their
    # own cost; "" for USD accounts (no cost).
    booking: str


def account_component(code: str) -> str:
    """The component that stands for a ledger code in a beancount account name."""
    if _COMPONENT.fullmatch(code):
        return code
    cleaned = _NOT_IN_COMPONENT.sub("-", code)
    cleaned = cleaned[:1].upper() + cleaned[1:]
    digest = hashlib.sha256(code.encode()).hexdigest()[:8].upper()
    return f"{cleaned}-X{digest}"


def beancount_account_names(accounts: Iterable[Account]) -> dict[int, str]:
    """Each account's beancount name (root from its type, then one component per level of
    the tree); refuses two accounts that would share a name."""
    by_id = {account.pk: account for account in accounts}
    names: dict[int, str] = {}

    def name(account: Account) -> str:
        if account.pk not in names:
            component = account_component(account.code)
            parent = by_id.get(account.parent_id) if account.parent_id else None
            if parent is None:
                names[account.pk] = f"{ROOTS[AccountType(account.type)]}:{component}"
            else:
                names[account.pk] = f"{name(parent)}:{component}"
        return names[account.pk]

    seen: dict[str, str] = {}
    for account in sorted(by_id.values(), key=lambda a: a.code):
        full = name(account)
        if full in seen:
            raise ExportError(
                f"accounts {seen[full]} and {account.code} would both be named {full} in "
                f"beancount; rename one of them",
                field="code",
            )
        seen[full] = account.code
    return names


def check_as_of(as_of: date) -> None:
    if not isinstance(as_of, date) or isinstance(as_of, datetime):
        raise ExportError(f"as_of must be a date, not {as_of!r}", field="as_of")
    if as_of >= date.max:
        raise ExportError(
            f"as_of {as_of} is the last date there is: the balance assertions are dated the "
            f"day after as_of",
            field="as_of",
        )


def beancount_export(*, as_of: date) -> Iterator[str]:
    """The journal through `as_of` as a beancount file, in pieces of text to write one
    after the other. What can refuse the export (a bad date, account names that clash) is
    checked now; the journal is read as the pieces are taken (a generator: closing it
    early ends its transaction)."""
    check_as_of(as_of)
    beancount_account_names(Account.objects.all())
    return _export(as_of)


def _export(as_of: date) -> Iterator[str]:
    with side_by_side.own_snapshot() as snapshot:
        accounts = _accounts()
        commodities = list(Commodity.objects.order_by("code"))
        first_day = _first_day(as_of)
        params = _params(as_of, accounts)
        # The entries that move lots or hold another commodity (the longer query) aside.
        days = side_by_side.days_side_by_side(
            _USD_DAYS_SQL, _OTHER_DAYS_SQL, params, snapshot, _USD_DAYS_SETTINGS
        )
        with days as (usd, others):
            first = next(others, None)
            if first is not None:
                accounts = _booked_none(accounts, first.booked_none or [])
                others = chain([first], others)
            yield _header(as_of, commodities, accounts, first_day)
            yield from _joined(_texts(side_by_side.in_journal_order(usd, others)))
        yield from _prices(as_of)
        yield from _balances(as_of, accounts)


def _joined(pieces: Iterable[str]) -> Iterator[str]:
    """The pieces joined into pieces of PIECE_CHARS or more: a transaction each would be
    millions of writes, each with its own cost in the response."""
    held: list[str] = []
    size = 0
    for piece in pieces:
        held.append(piece)
        size += len(piece)
        if size >= PIECE_CHARS:
            yield "".join(held)
            held, size = [], 0
    if held:
        yield "".join(held)


# --- accounts and what they hold ----------------------------------------------------------


def _accounts() -> dict[int, ExportAccount]:
    """Every account, those in a commodity other than USD booked STRICT until the journal
    says otherwise (_booked_none)."""
    chart = list(Account.objects.select_related("commodity").order_by("code"))
    names = beancount_account_names(chart)
    return {
        account.pk: ExportAccount(
            id=account.pk,
            code=account.code,
            name=account.name,
            type=account.type,
            commodity=account.commodity_id,
            scale=account.commodity.decimal_places,
            beancount_name=names[account.pk],
            booking="" if account.commodity_id == FUNCTIONAL_CURRENCY else STRICT,
        )
        for account in chart
    }


def _booked_none(
    accounts: dict[int, ExportAccount], booked_none: list[int]
) -> dict[int, ExportAccount]:
    """The accounts with those the lots do not explain booked NONE."""
    none = set(booked_none)
    return {
        pk: replace(account, booking=NONE) if pk in none else account
        for pk, account in accounts.items()
    }


def _first_day(as_of: date) -> date:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(effective_date) FROM ledger_journalentry "
            "WHERE effective_date <= %s AND status = 'posted'",
            [as_of],
        )
        first = cursor.fetchone()[0]
    return first or as_of


# --- the text ------------------------------------------------------------------------------


def _string(text: str) -> str:
    if _TO_ESCAPE.search(text) is None:  # most text: nothing to escape
        return f'"{text}"'
    return '"' + _TO_ESCAPE.sub(lambda m: _ESCAPES[m.group(0)], text) + '"'


def _usd(amount: Decimal) -> str:
    return format_amount(amount, 2)


def _header(
    as_of: date,
    commodities: list[Commodity],
    accounts: dict[int, ExportAccount],
    first_day: date,
) -> str:
    lines = [
        f"; cango-treasury: the journal through {as_of.isoformat()}, every entry as posted.",
        "; Quantities are in each account's commodity. Postings in another commodity are held",
        '; at their USD cost, lot by lot ("lot-<id>", acquisition date); a relief takes the',
        "; lot's whole position and opens what is left again at the cost the ledger leaves",
        "; on it. The balance assertions, the day after, carry each account's USD value (its",
        "; subtree's, at cost) as `value`. Check with: bean-check <this file>",
        "",
        f'option "title" {_string(f"cango-treasury journal through {as_of.isoformat()}")}',
        f'option "operating_currency" "{FUNCTIONAL_CURRENCY}"',
        f'option "inferred_tolerance_default" "{FUNCTIONAL_CURRENCY}:0.005"',
        'option "booking_method" "STRICT"',
        "",
    ]
    for commodity in commodities:
        lines += [
            f"{first_day.isoformat()} commodity {commodity.code}",
            f"  name: {_string(commodity.name)}",
            f"  decimal-places: {commodity.decimal_places}",
            f"  measurement: {_string(commodity.measurement_policy)}",
        ]
    lines.append("")
    for account in sorted(accounts.values(), key=lambda a: a.beancount_name):
        booking = f' "{account.booking}"' if account.booking else ""
        lines += [
            f"{first_day.isoformat()} open {account.beancount_name} {account.commodity}{booking}",
            f"  code: {_string(account.code)}",
            f"  name: {_string(account.name)}",
        ]
    lines.append("")
    return "\n".join(lines) + "\n"


# --- transactions --------------------------------------------------------------------------

# PostgreSQL writes the transactions and sends them a day to a row: about a hundred bytes a
# posting, which Python took most of the export's time to write one by one. The query
# follows the lots as beancount needs them: each lot's change in an entry (its movements
# there added up) and what it holds after it (a running sum over the entries in order).
# A row names the first problem of its day, if any: the export stops there.
#
# The fragments below are SQL over `a`, the account (name, booking, scale, commodity, code),
# written once where the same text is needed twice.


def _sql_units(amount: str, scale: str) -> str:
    """An amount written with exactly `scale` places (format_amount's text)."""
    return f"round({amount}, {scale})::text"


def _sql_lot_line(units: str, cost: str) -> str:
    """A lot's position: `units` at the total `cost`, with the lot's date and label
    (`s.label`, the line's end)."""
    units_sql, cost_sql = _sql_units(units, "a.scale"), _sql_units(cost, "2")
    return f"a.lead || {units_sql} || a.at_cost || {cost_sql} || s.label"


def _sql_cost_postings(quantity: str, value: str) -> str:
    """A position held at its own cost (no lot). Beancount holds no cost on no units: zero
    units with a value are one unit at the value and one unit back at none."""
    start = "a.lead || "
    at_cost = f" || a.at_cost || {_sql_units(f'abs({value})', '2')}"
    at_value = f"{at_cost} || E' USD}}}}\\n'"
    return (
        f"CASE WHEN {quantity} <> 0 THEN {start}{_sql_units(quantity, 'a.scale')}{at_value}"
        f" WHEN {value} <> 0 THEN {start}{_sql_units(f'sign({value})', 'a.scale')}{at_value}"
        f" || {start}{_sql_units(f'-sign({value})', 'a.scale')}"
        f" || ' ' || a.commodity || E' {{{{0.00 USD}}}}\\n'"
        " ELSE '' END"
    )


def _sql_misfit(amount: str, scale: str) -> str:
    """True when an amount has more places than `scale` (format_amount refuses it)."""
    return f"{amount} <> round({amount}, {scale})"


def _sql_string(column: str) -> str:
    """A text column as a beancount string, with _string's escapes."""
    escaped = column
    for char, escape in _ESCAPES.items():
        sql_char = char.encode("unicode_escape").decode().replace("'", "''")
        sql_escape = escape.encode("unicode_escape").decode()
        escaped = f"replace({escaped}, E'{sql_char}', E'{sql_escape}')"
    return f"'\"' || {escaped} || '\"'"


_HEAD_SQL = f"""
    e.effective_date::text || ' * ' || {_sql_string("e.memo")}
    || E'\\n  sequence: ' || e.sequence || E'\\n  kind: ' || {_sql_string("e.kind")} || E'\\n'
    || CASE WHEN e.reversal_of_id IS NULL THEN ''
       ELSE '  reversal-of: ' || (SELECT r.sequence FROM ledger_journalentry r
                                   WHERE r.id = e.reversal_of_id) || E'\\n' END
"""

# An account's `lead` is the start of its posting lines ("  <name>  "), `at_cost` what
# follows the units of a position held at cost (" BTC {"): made once, not at every line.
_ACCOUNTS_SQL = """(
    SELECT * FROM unnest(%(ids)s::bigint[], %(leads)s::text[], %(bookings)s::text[],
                         %(scales)s::int[], %(commodities)s::text[], %(codes)s::text[],
                         %(at_costs)s::text[])
           AS a(id, lead, booking, scale, commodity, code, at_cost)
)"""

# Entries written account by account: a lot moved, or a posting in a commodity other than
# USD (an account with a booking); the others are their USD postings as posted.
_MOVED_SQL = """
    SELECT FROM holdings_lotmovement m
     WHERE m.entry_id = e.id AND (m.quantity <> 0 OR m.cost <> 0)
"""
_NOT_USD_SQL = """
    SELECT FROM ledger_posting n WHERE n.entry_id = e.id AND n.commodity_id <> %(usd)s
"""

# The groups, by entry and account, of the postings of the entries that move lots or hold
# a commodity other than USD and of their lots' changes; and the accounts booked NONE.
_GROUPS_SQL = f"""
    WITH lot_groups AS (
        SELECT s.entry_id, s.account_id, min(s.first_id) AS first_id,
               sum(s.q) AS q, sum(s.c) AS c,
               string_agg(
                   CASE WHEN s.q = 0 AND s.c = 0 THEN ''
                   ELSE CASE WHEN s.held_q <> s.q
                             THEN {_sql_lot_line("s.q - s.held_q", "s.held_c - s.c")}
                             ELSE '' END
                     || CASE WHEN s.held_q <> 0
                             THEN {_sql_lot_line("s.held_q", "s.held_c")}
                             ELSE '' END
                   END, '' ORDER BY s.first_id) AS lines,
               min(CASE
                   WHEN s.held_q < 0 OR s.held_c < 0 OR (s.held_q = 0 AND s.held_c <> 0)
                     OR {_sql_misfit("s.held_q", "a.scale")} OR {_sql_misfit("s.held_c", "2")}
                   THEN format('lot %%s in account %%s would hold %%s %%s at %%s USD',
                               s.lot_id, a.code, s.held_q, a.commodity, s.held_c)
                   END) AS error
          FROM (
            -- each lot's change in each entry (its movements there added up, in one sort
            -- by lot and the journal's order, which the running sum then reads as it is),
            -- and what the lot holds after it; `label` ends each of the lot's lines.
            SELECT g.entry_id, g.lot_id, g.first_id, g.q, g.c, l.account_id,
                   ' USD, ' || (l.acquired_at AT TIME ZONE 'UTC')::date || ', "lot-' || l.id
                   || E'"}}}}\\n' AS label,
                   sum(g.q) OVER held AS held_q, sum(g.c) OVER held AS held_c
              FROM (
                SELECT m.lot_id, e.effective_date, e.sequence, m.entry_id,
                       min(m.id) AS first_id, sum(m.quantity) AS q, sum(m.cost) AS c
                  FROM holdings_lotmovement m
                  JOIN ledger_journalentry e ON e.id = m.entry_id
                   AND e.effective_date <= %(as_of)s AND e.status = 'posted'
                 WHERE m.quantity <> 0 OR m.cost <> 0
                 GROUP BY m.lot_id, e.effective_date, e.sequence, m.entry_id
                 ORDER BY m.lot_id, e.effective_date, e.sequence
              ) g
              JOIN holdings_lot l ON l.id = g.lot_id
            WINDOW held AS (PARTITION BY g.lot_id ORDER BY g.effective_date, g.sequence
                            ROWS UNBOUNDED PRECEDING)
          ) s
          JOIN {_ACCOUNTS_SQL} a ON a.id = s.account_id AND a.booking <> ''
         GROUP BY s.entry_id, s.account_id
    ), post_groups AS (
        SELECT p.entry_id, p.account_id, min(p.id) AS first_id,
               sum(p.quantity) AS q, sum(round(p.value, 2)) AS v,
               string_agg(CASE a.booking
                   WHEN '' THEN a.lead || round(p.value, 2) || E' USD\\n'
                   ELSE {_sql_cost_postings("p.quantity", "round(p.value, 2)")}
                   END, '' ORDER BY p.id) AS lines,
               min(CASE WHEN {_sql_misfit("p.quantity", "a.scale")}
                          OR {_sql_misfit("p.value", "2")}
                   THEN format('a posting to account %%s of %%s %%s at %%s USD has more places '
                               'than its commodity''s %%s', a.code, p.quantity, a.commodity,
                               p.value, a.scale)
                   END) AS error
          FROM ledger_posting p
          JOIN {_ACCOUNTS_SQL} a ON a.id = p.account_id
         WHERE p.effective_date <= %(as_of)s
           -- Two sets of ids each posting is looked up in, rather than one made of both:
           -- the postings are kept or dropped as they are read, before any sort.
           AND (p.entry_id IN (SELECT m.entry_id FROM holdings_lotmovement m
                                WHERE m.quantity <> 0 OR m.cost <> 0)
                OR p.entry_id IN (SELECT n.entry_id FROM ledger_posting n
                                   WHERE n.effective_date <= %(as_of)s
                                     AND n.commodity_id <> %(usd)s))
         GROUP BY p.entry_id, p.account_id
    ), groups AS MATERIALIZED (
        -- Read twice: for the accounts the lots do not explain, then for the text.
        SELECT coalesce(pg.entry_id, lg.entry_id) AS entry_id, a.id AS account_id,
               pg.first_id IS NULL AS lots_alone,
               coalesce(pg.first_id, lg.first_id) AS first_id,
               a.booking <> '' AND (r.q <> 0 OR r.v <> 0) AS unexplained,
               -- Postings no lot moved with, each at its own cost: written only where the
               -- account's booking is NONE (where it is STRICT, they add up to nothing).
               a.booking <> '' AND lg.entry_id IS NULL AS at_own_cost,
               CASE WHEN a.booking = '' OR lg.entry_id IS NULL THEN pg.lines
                    ELSE lg.lines || r.lines
               END AS lines,
               coalesce(pg.error, lg.error) AS error
          FROM post_groups pg
          FULL JOIN lot_groups lg ON lg.entry_id = pg.entry_id AND lg.account_id = pg.account_id
          JOIN {_ACCOUNTS_SQL} a ON a.id = coalesce(pg.account_id, lg.account_id)
          CROSS JOIN LATERAL (
              SELECT rest.q, rest.v, {_sql_cost_postings("rest.q", "rest.v")} AS lines
                FROM (SELECT coalesce(pg.q, 0) - coalesce(lg.q, 0) AS q,
                             coalesce(pg.v, 0) - coalesce(lg.c, 0) AS v) rest
          ) r
    ), unexplained AS (
        -- The accounts booked NONE: a posting in another commodity than USD that the lots
        -- moved in its entry do not explain, in quantity or value.
        SELECT coalesce(array_agg(DISTINCT g.account_id), '{{}}') AS ids
          FROM groups g WHERE g.unexplained
    )
"""

# The entries whose postings are all in USD, written as posted: grouped by the journal's
# order (a group key other than the entry's id alone), so that no text needs sorting after.
_USD_ENTRIES_SQL = f"""
    SELECT e.effective_date, e.sequence, NULL AS error,
           {_HEAD_SQL}
           || string_agg(a.lead || round(p.value, 2) || E' USD\\n', '' ORDER BY p.id)
           || E'\\n' AS text
      FROM ledger_journalentry e
      JOIN ledger_posting p ON p.entry_id = e.id
      JOIN {_ACCOUNTS_SQL} a ON a.id = p.account_id
     WHERE e.effective_date <= %(as_of)s AND e.status = 'posted'
       AND NOT EXISTS ({_MOVED_SQL}) AND NOT EXISTS ({_NOT_USD_SQL})
     GROUP BY e.effective_date, e.sequence, e.memo, e.kind, e.reversal_of_id
"""

# The others account by account, each entry's text put together before it is joined to the
# entry: a row an entry to join and sort rather than a row a group.
_OTHER_ENTRIES_SQL = f"""
    SELECT e.effective_date, e.sequence, 'entry #' || e.sequence || ': ' || x.error AS error,
           {_HEAD_SQL} || x.lines || E'\\n' AS text
      FROM (
        SELECT g.entry_id, min(g.error) AS error,
               string_agg(
                   CASE WHEN g.at_own_cost
                         AND g.account_id <> ALL ((SELECT u.ids FROM unexplained u)::bigint[])
                        THEN '' ELSE g.lines END,
                   '' ORDER BY g.lots_alone, g.first_id) AS lines
          FROM groups g
         GROUP BY g.entry_id
      ) x
      JOIN ledger_journalentry e ON e.id = x.entry_id
     WHERE e.effective_date <= %(as_of)s AND e.status = 'posted'
"""


def _days_sql(entries: str, booked_none: str) -> str:
    """A row a day of `entries` (date, sequence, error, text): few and large rows for the
    reader, and no day holds more than the journal of a day. The day's first error, its
    text in the journal's order, each entry's sequence and the length of its text (8 and
    4 bytes each, in network order), and `booked_none`."""
    return f"""
    SELECT d.effective_date,
           (array_agg(d.error ORDER BY d.sequence) FILTER (WHERE d.error IS NOT NULL))[1],
           string_agg(d.text, '' ORDER BY d.sequence),
           string_agg(int8send(d.sequence), ''::bytea ORDER BY d.sequence),
           string_agg(int4send(length(d.text)), ''::bytea ORDER BY d.sequence),
           {booked_none}
      FROM ({entries}) d
     GROUP BY d.effective_date
     ORDER BY d.effective_date
"""


# Sorted again, by an expression PostgreSQL does not know to be in order already, so that
# the query is done, its days held in that sort, before its first row is read: it runs
# while the other query, which the header waits for, is still at work, not after it.
_USD_DAYS_SQL = f"""
    SELECT * FROM ({_days_sql(_USD_ENTRIES_SQL, "NULL::int8[]")}) u
     ORDER BY u.effective_date + 0
"""
# It reads every entry and posting: merge joins over the two tables in id order (the order
# they are stored in) rather than a hash of every entry, probed at random, and no parallel
# workers, which would take the second core from the other query, the one the export
# waits for (the header needs its first row).
_USD_DAYS_SETTINGS = (
    "SET LOCAL enable_hashjoin = off; SET LOCAL max_parallel_workers_per_gather = 0"
)
# Every row names the accounts booked NONE (the header, written before the first day,
# needs them).
_OTHER_DAYS_SQL = _GROUPS_SQL + _days_sql(_OTHER_ENTRIES_SQL, "(SELECT u.ids FROM unexplained u)")


def _params(as_of: date, accounts: dict[int, ExportAccount]) -> dict[str, Any]:
    """The queries' parameters. The accounts' bookings given are provisional (USD or not):
    the query finds those booked NONE and writes their postings so."""
    chart = list(accounts.values())
    return {
        "as_of": as_of,
        "usd": FUNCTIONAL_CURRENCY,
        "ids": [account.id for account in chart],
        "leads": [f"  {account.beancount_name}  " for account in chart],
        "bookings": [account.booking for account in chart],
        "scales": [account.scale for account in chart],
        "commodities": [account.commodity for account in chart],
        "codes": [account.code for account in chart],
        "at_costs": [f" {account.commodity} {{{{" for account in chart],
    }


def _texts(days: Iterator[tuple[str | None, str]]) -> Iterator[str]:
    """The days' text; a day's first problem stops the export before its text."""
    for error, text in days:
        if error is not None:
            raise ExportError(error, field="as_of")
        yield text


# --- prices and balances -------------------------------------------------------------------


def _price_number(price: Decimal) -> str:
    return f"{price.normalize():f}"  # as quoted, without the column's trailing zeros


def _prices(as_of: date) -> Iterator[str]:
    end = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=UTC)
    policy = price_timestamp(as_of)
    prices = Price.objects.filter(timestamp__lt=end) | Price.objects.filter(timestamp=policy)
    lines = []
    for price in prices.order_by("timestamp", "base_id", "quote_id").iterator(FETCH_ROWS):
        at = price.timestamp.astimezone(UTC)
        lines += [
            f"{at.date().isoformat()} price {price.base_id} {_price_number(price.price)} "
            f"{price.quote_id}",
            f"  timestamp: {_string(at.strftime('%Y-%m-%dT%H:%M:%SZ'))}",
            f"  source: {_string(price.source)}",
        ]
        if len(lines) >= FETCH_ROWS:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"
    yield "\n"


def _balances(as_of: date, accounts: dict[int, ExportAccount]) -> Iterator[str]:
    day = (as_of + timedelta(days=1)).isoformat()
    lines = [f"; Balances at the end of {as_of.isoformat()}, each account with its subtree."]
    rows = ledger_selectors.balances(as_of=as_of)
    for row in sorted(rows, key=lambda r: accounts[r.account_id].beancount_name):
        account = accounts[row.account_id]
        units = format_amount(row.quantity, account.scale)
        lines.append(f"{day} balance {account.beancount_name}  {units} ~ 0 {account.commodity}")
        if account.commodity != FUNCTIONAL_CURRENCY:
            lines.append(f"  value: {_usd(row.value)} USD")
    yield "\n".join(lines) + "\n"
