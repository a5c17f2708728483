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
is streamed: entries, postings and lot movements are read through server-side cursors, in
the order of the journal (date, then sequence), a transaction at a time.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction

from holdings.errors import HoldingsError
from holdings.models import Price
from holdings.selectors.prices import price_timestamp
from ledger import selectors as ledger_selectors
from ledger.models import Account, AccountType, Commodity
from ledger.money import FUNCTIONAL_CURRENCY, format_amount

ZERO = Decimal(0)
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


@contextmanager
def _snapshot() -> Iterator[None]:
    if connection.in_atomic_block:  # the caller's transaction is the snapshot
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _export(as_of: date) -> Iterator[str]:
    with _snapshot():
        accounts = _accounts(as_of)
        commodities = list(Commodity.objects.order_by("code"))
        first_day = _first_day(as_of)
        yield _header(as_of, commodities, accounts, first_day)
        yield from _joined(_transactions(as_of, accounts))
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


def _accounts(as_of: date) -> dict[int, ExportAccount]:
    chart = list(Account.objects.select_related("commodity").order_by("code"))
    names = beancount_account_names(chart)
    unexplained = _unexplained_accounts(as_of)
    accounts = {}
    for account in chart:
        if account.commodity_id == FUNCTIONAL_CURRENCY:
            booking = ""
        else:
            booking = NONE if account.pk in unexplained else STRICT
        accounts[account.pk] = ExportAccount(
            id=account.pk,
            code=account.code,
            name=account.name,
            type=account.type,
            commodity=account.commodity_id,
            scale=account.commodity.decimal_places,
            beancount_name=names[account.pk],
            booking=booking,
        )
    return accounts


def _unexplained_accounts(as_of: date) -> set[int]:
    """Accounts in a commodity other than USD with a posting, among the entries exported,
    that the movements of their lots do not explain (entry by entry, in quantity and
    value); an account without lots and with postings is one of them."""
    sql = """
        WITH exported AS MATERIALIZED (
            SELECT id FROM ledger_journalentry
             WHERE effective_date <= %(as_of)s AND status = 'posted'
        ), moved AS MATERIALIZED (
            SELECT m.entry_id, l.account_id, sum(m.quantity) q, sum(m.cost) c
              FROM holdings_lotmovement m
              JOIN exported e ON e.id = m.entry_id
              JOIN holdings_lot l ON l.id = m.lot_id
             GROUP BY 1, 2
        ), posted AS MATERIALIZED (
            SELECT p.entry_id, p.account_id, sum(p.quantity) q, sum(p.value) v
              FROM ledger_posting p
              JOIN exported e ON e.id = p.entry_id
             WHERE p.commodity_id <> %(usd)s
             GROUP BY 1, 2
        )
        SELECT DISTINCT coalesce(m.account_id, p.account_id)
          FROM moved m FULL JOIN posted p
            ON p.entry_id = m.entry_id AND p.account_id = m.account_id
         WHERE coalesce(m.q, 0) <> coalesce(p.q, 0) OR coalesce(m.c, 0) <> coalesce(p.v, 0)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"as_of": as_of, "usd": FUNCTIONAL_CURRENCY})
        return {row[0] for row in cursor.fetchall()}


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

# Numbers and dates as text, as written: a USD posting is written as read, without a
# Decimal made for it (the value at its two places: every value has at most two, the
# postings' check); the quantities and costs of other accounts are made Decimals to be
# added up, as their lots are followed.
_ENTRIES_SQL = """
    SELECT e.id, e.sequence, e.effective_date::text, e.kind, e.memo, r.sequence,
           p.account_id, p.quantity::text, round(p.value, 2)::text
      FROM ledger_journalentry e
      JOIN ledger_posting p ON p.entry_id = e.id
      LEFT JOIN ledger_journalentry r ON r.id = e.reversal_of_id
     WHERE e.effective_date <= %(as_of)s AND e.status = 'posted'
     ORDER BY e.effective_date, e.sequence, p.id
"""

_MOVEMENTS_SQL = """
    SELECT e.id, m.lot_id, l.account_id, (l.acquired_at AT TIME ZONE 'UTC')::date::text,
           m.quantity::text, m.cost::text
      FROM holdings_lotmovement m
      JOIN ledger_journalentry e ON e.id = m.entry_id
      JOIN holdings_lot l ON l.id = m.lot_id
     WHERE e.effective_date <= %(as_of)s AND e.status = 'posted'
       AND (m.quantity <> 0 OR m.cost <> 0)
     ORDER BY e.effective_date, e.sequence, m.id
"""


def _rows(sql: str, params: dict) -> Iterator[tuple]:
    """Rows of a query read through a server-side cursor, a few thousand at a time."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while True:
            rows = cursor.fetchmany(FETCH_ROWS)
            if not rows:
                return
            yield from rows


@dataclass
class _LotState:
    quantity: Decimal
    cost: Decimal
    acquired: date


def _transactions(as_of: date, accounts: dict[int, ExportAccount]) -> Iterator[str]:
    params = {"as_of": as_of}
    movements = itertools.groupby(_rows(_MOVEMENTS_SQL, params), key=_entry_of)
    pending = next(movements, None)
    usd = {
        account.id: account.beancount_name for account in accounts.values() if not account.booking
    }
    lots: dict[int, _LotState] = {}
    for entry_id, rows in itertools.groupby(_rows(_ENTRIES_SQL, params), key=_entry_of):
        postings = list(rows)
        if pending is not None and pending[0] == entry_id:
            moved = [_moved(row) for row in pending[1]]
            pending = next(movements, None)
        elif all(row[6] in usd for row in postings):
            # USD postings alone, no lot moved: written as read.
            yield _usd_transaction(postings, usd)
            continue
        else:
            moved = []
        yield _transaction([_posted(row) for row in postings], moved, accounts, lots)
    if pending is not None:  # pragma: no cover - movements always belong to an entry read
        raise ExportError(f"lot movements of entry {pending[0]} have no entry in the export")


def _entry_of(row: tuple) -> int:
    return row[0]  # type: ignore[no-any-return]


def _posted(row: tuple) -> tuple:
    return (*row[:7], Decimal(row[7]), Decimal(row[8]))


def _moved(row: tuple) -> tuple:
    return (*row[:3], date.fromisoformat(row[3]), Decimal(row[4]), Decimal(row[5]))


def _usd_transaction(postings: list[tuple], names: dict[int, str]) -> str:
    _id, sequence, day, kind, memo, reversal_of = postings[0][:6]
    head = f"{day} * {_string(memo)}\n  sequence: {sequence}\n  kind: {_string(kind)}\n"
    if reversal_of is not None:
        head += f"  reversal-of: {reversal_of}\n"
    return head + "".join(f"  {names[row[6]]}  {row[8]} USD\n" for row in postings) + "\n"


def _transaction(
    postings: list[tuple],
    moved: list[tuple],
    accounts: dict[int, ExportAccount],
    lots: dict[int, _LotState],
) -> str:
    _id, sequence, day, kind, memo, reversal_of = postings[0][:6]
    lines = [f"{day} * {_string(memo)}", f"  sequence: {sequence}", f"  kind: {_string(kind)}"]
    if reversal_of is not None:
        lines.append(f"  reversal-of: {reversal_of}")

    # What each lot-tracked account's lots did in this entry, lot by lot.
    by_lot: dict[int, list[tuple]] = {}
    for row in moved:
        by_lot.setdefault(row[1], []).append(row)
    lot_lines: dict[int, list[str]] = {}
    lot_totals: dict[int, tuple[Decimal, Decimal]] = {}
    for lot_id, lot_rows in by_lot.items():
        account = accounts[lot_rows[0][2]]
        if not account.booking:
            continue  # a USD account is written as posted
        quantity = sum((row[4] for row in lot_rows), ZERO)
        cost = sum((row[5] for row in lot_rows), ZERO)
        q, c = lot_totals.get(account.id, (ZERO, ZERO))
        lot_totals[account.id] = (q + quantity, c + cost)
        lot_lines.setdefault(account.id, []).extend(
            _lot_postings(lot_id, lot_rows[0][3], quantity, cost, account, lots, sequence)
        )

    # Postings in the order posted; a lot-tracked account's at its first posting.
    per_account: dict[int, list[tuple[Decimal, Decimal]]] = {}
    for row in postings:
        per_account.setdefault(row[6], []).append((row[7], row[8]))
    for account_id in lot_totals:
        per_account.setdefault(account_id, [])
    for account_id, amounts in per_account.items():
        account = accounts[account_id]
        if not account.booking:
            lines += [f"  {account.beancount_name}  {value:f} USD" for _q, value in amounts]
            continue
        lines += lot_lines.get(account_id, [])
        if account_id in lot_totals or account.booking == STRICT:
            moved_q, moved_c = lot_totals.get(account_id, (ZERO, ZERO))
            rest_q = sum((q for q, _v in amounts), ZERO) - moved_q
            rest_v = sum((v for _q, v in amounts), ZERO) - moved_c
            if account.booking == STRICT and (rest_q or rest_v):
                raise ExportError(
                    f"entry #{sequence}: the lots of account {account.code} moved "
                    f"{moved_q} {account.commodity} at {moved_c} USD, its postings differ by "
                    f"{rest_q} {account.commodity} and {rest_v} USD",
                    field="as_of",
                )
            lines += _cost_postings(account, rest_q, rest_v)
        else:
            for quantity, value in amounts:
                lines += _cost_postings(account, quantity, value)
    return "\n".join(lines) + "\n\n"


def _lot_postings(
    lot_id: int,
    acquired: date,
    quantity: Decimal,
    cost: Decimal,
    account: ExportAccount,
    lots: dict[int, _LotState],
    sequence: int,
) -> list[str]:
    """A lot's change in one entry: its position before reduced in full, and its position
    after opened (again) at the cost the ledger carries."""
    before = lots.get(lot_id)
    if before is None:
        before = _LotState(ZERO, ZERO, acquired)
    after = _LotState(before.quantity + quantity, before.cost + cost, before.acquired)
    if after.quantity < 0 or after.cost < 0 or (after.quantity == 0 and after.cost != 0):
        raise ExportError(
            f"entry #{sequence}: lot {lot_id} in account {account.code} would hold "
            f"{after.quantity} {account.commodity} at {after.cost} USD",
            field="as_of",
        )
    if quantity == 0 and cost == 0:
        return []
    lines = []
    if before.quantity:
        lines.append(_lot_line(account, -before.quantity, before, lot_id))
    if after.quantity:
        lines.append(_lot_line(account, after.quantity, after, lot_id))
        lots[lot_id] = after
    else:
        lots.pop(lot_id, None)
    return lines


def _lot_line(account: ExportAccount, units: Decimal, state: _LotState, lot_id: int) -> str:
    return (
        f"  {account.beancount_name}  {format_amount(units, account.scale)} {account.commodity}"
        f' {{{{{_usd(state.cost)} USD, {state.acquired.isoformat()}, "lot-{lot_id}"}}}}'
    )


def _cost_postings(account: ExportAccount, quantity: Decimal, value: Decimal) -> list[str]:
    """A posting held at its own cost (no lot)."""
    name, commodity = account.beancount_name, account.commodity
    if quantity:
        units = format_amount(quantity, account.scale)
        return [f"  {name}  {units} {commodity} {{{{{_usd(abs(value))} USD}}}}"]
    if value:
        # Beancount holds no cost on zero units: one unit at the value, one back at none.
        one = Decimal(1) if value > 0 else Decimal(-1)
        return [
            f"  {name}  {format_amount(one, account.scale)} {commodity} "
            f"{{{{{_usd(abs(value))} USD}}}}",
            f"  {name}  {format_amount(-one, account.scale)} {commodity} {{{{0.00 USD}}}}",
        ]
    return []


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
