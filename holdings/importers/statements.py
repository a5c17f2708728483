"""Custodian, pool and lender statements: CSV files read into typed records, no database.

Two formats, each one line per account (or loan) and date:

- balance statements, from custodians and from pools' own balance reports::

      date,account,commodity,balance

- lender statements::

      date,loan,commodity,principal_outstanding,accrued_interest,collateral_units

  `commodity` is the loan's, in which principal_outstanding and accrued_interest are
  counted; collateral_units are units of the collateral commodity, which the caller names
  (BTC unless told otherwise) because the statement does not.

`date` is an ISO day (YYYY-MM-DD), the day the statement figures are as of. `account` and
`loan` are the codes as the statement writes them. `commodity` is a code of `scales`
(for example {"BTC": 8, "USDT": 6, "USD": 2}); every amount is an exact decimal, never
negative, with no more decimal places than its commodity allows (never rounded).

Header names are read case-insensitively and without surrounding blanks, in any order; none
may be missing and no other may appear. Cells lose their surrounding blanks; blank lines are
skipped; a UTF-8 byte-order mark is accepted. Rows are numbered as lines of the file (the
header is line 1). The same account (or loan) and date twice is one line if both say the
same, and an error if they do not.

A file is all or nothing: every problem found is collected and the whole file refused with
StatementFileError (an ImportFileError), whose `errors` name the file, the row and the field
of each.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NoReturn, TypeVar

from holdings.importers.common import CsvRow, Fields
from holdings.importers.records import ImportFileError

BALANCE_COLUMNS = ("date", "account", "commodity", "balance")
LENDER_COLUMNS = (
    "date",
    "loan",
    "commodity",
    "principal_outstanding",
    "accrued_interest",
    "collateral_units",
)
BALANCE_HEADER = ",".join(BALANCE_COLUMNS)
LENDER_HEADER = ",".join(LENDER_COLUMNS)

# Errors listed in the message of a refused file; `errors` keeps every one.
MESSAGE_ERRORS = 10

# Used when the commodity is unknown (already an error): the amount is still checked for
# being a non-negative number, but no scale can be.
_ANY_SCALE = 1_000

T = TypeVar("T")


@dataclass(frozen=True)
class StatementBalance:
    """One account's balance on one day, as the custodian (or pool) states it."""

    day: date
    account: str
    commodity: str
    balance: Decimal
    row: int  # line of the file
    raw: dict[str, str]  # the cells as received, by (lower-case) column name


@dataclass(frozen=True)
class LoanStatement:
    """One loan's position on one day, as the lender states it."""

    day: date
    loan: str
    commodity: str  # of principal_outstanding and accrued_interest
    principal_outstanding: Decimal
    accrued_interest: Decimal
    collateral_units: Decimal
    collateral_commodity: str  # as the caller named it
    row: int
    raw: dict[str, str]


class StatementFileError(ImportFileError):
    """A statement refused as a whole. `errors` holds every problem found, each naming the
    file, the row and the field; file_name, row, field and message are the first one's."""

    def __init__(self, errors: Sequence[ImportFileError]):
        if not errors:
            raise ValueError("StatementFileError needs at least one error")
        first = errors[0]
        super().__init__(first.message, file_name=first.file_name, row=first.row, field=first.field)
        self.errors = tuple(errors)
        shown = "; ".join(str(error) for error in self.errors[:MESSAGE_ERRORS])
        if len(self.errors) > MESSAGE_ERRORS:
            shown += f" (and {len(self.errors) - MESSAGE_ERRORS} more)"
        self.args = (shown,)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [error.as_dict() for error in self.errors]


# ---------------------------------------------------------------------------------------
# The two formats


def parse_balance_statement(
    content: bytes | str, *, file_name: str, scales: Mapping[str, int]
) -> list[StatementBalance]:
    """The balances of a `date,account,commodity,balance` file, in file order."""
    errors: list[ImportFileError] = []
    balances: list[StatementBalance] = []
    for row in _rows(content, file_name=file_name, columns=BALANCE_COLUMNS, errors=errors):
        line = _Line(row, file_name=file_name, errors=errors)
        day = line.day("date")
        account = line.text("account")
        commodity, scale = line.commodity("commodity", scales)
        balance = line.amount("balance", scale=scale)
        if day is None or account is None or commodity is None or balance is None:
            continue
        balances.append(
            StatementBalance(
                day=day,
                account=account,
                commodity=commodity,
                balance=balance,
                row=row.line,
                raw=dict(row.raw),
            )
        )
    kept = _unique(
        balances,
        key=lambda b: (b.day, b.account),
        compared=("commodity", "balance"),
        describe=lambda b: f"account {b.account} on {b.day}",
        file_name=file_name,
        errors=errors,
    )
    _raise(errors)
    return kept


def parse_lender_statement(
    content: bytes | str,
    *,
    file_name: str,
    scales: Mapping[str, int],
    collateral_commodity: str = "BTC",
) -> list[LoanStatement]:
    """The loan positions of a `date,loan,commodity,principal_outstanding,accrued_interest,
    collateral_units` file, in file order. collateral_units are checked against the scale
    of `collateral_commodity`."""
    if collateral_commodity not in scales:
        raise ValueError(
            f"collateral commodity {collateral_commodity!r} has no scale in {sorted(scales)}"
        )
    collateral_scale = scales[collateral_commodity]
    errors: list[ImportFileError] = []
    loans: list[LoanStatement] = []
    for row in _rows(content, file_name=file_name, columns=LENDER_COLUMNS, errors=errors):
        line = _Line(row, file_name=file_name, errors=errors)
        day = line.day("date")
        loan = line.text("loan")
        commodity, scale = line.commodity("commodity", scales)
        principal = line.amount("principal_outstanding", scale=scale)
        interest = line.amount("accrued_interest", scale=scale)
        collateral = line.amount("collateral_units", scale=collateral_scale)
        if (
            day is None
            or loan is None
            or commodity is None
            or principal is None
            or interest is None
            or collateral is None
        ):
            continue
        loans.append(
            LoanStatement(
                day=day,
                loan=loan,
                commodity=commodity,
                principal_outstanding=principal,
                accrued_interest=interest,
                collateral_units=collateral,
                collateral_commodity=collateral_commodity,
                row=row.line,
                raw=dict(row.raw),
            )
        )
    kept = _unique(
        loans,
        key=lambda s: (s.day, s.loan),
        compared=("commodity", "principal_outstanding", "accrued_interest", "collateral_units"),
        describe=lambda s: f"loan {s.loan} on {s.day}",
        file_name=file_name,
        errors=errors,
    )
    _raise(errors)
    return kept


# ---------------------------------------------------------------------------------------
# Reading


def _text(content: bytes | str, *, file_name: str) -> str:
    if isinstance(content, str):
        return content.removeprefix("\ufeff")
    try:
        # utf-8-sig: a byte-order mark left by a spreadsheet is not an error.
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StatementFileError(
            [
                ImportFileError(
                    f"not UTF-8 text (byte {exc.start} cannot be decoded)", file_name=file_name
                )
            ]
        ) from exc


def _rows(
    content: bytes | str,
    *,
    file_name: str,
    columns: tuple[str, ...],
    errors: list[ImportFileError],
) -> list[CsvRow]:
    """The data rows, keyed by lower-case column name. Problems with the file as a whole
    are raised at once; rows of the wrong width are added to `errors` and left out."""
    expected = ",".join(columns)
    text = _text(content, file_name=file_name)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[CsvRow] = []
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)  # blank lines before the header carry nothing
        if header is None:
            _refuse(
                [
                    ImportFileError(
                        f"the file is empty; expected the header {expected}", file_name=file_name
                    )
                ]
            )
        header_line = reader.line_num
        names = [name.strip().lower() for name in header]
        _check_header(names, columns, file_name=file_name, row=header_line)
        line = header_line
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(names):
                errors.append(
                    ImportFileError(
                        f"expected {len(names)} columns ({expected}), found {len(cells)}",
                        file_name=file_name,
                        row=start,
                    )
                )
                continue
            raw = dict(zip(names, cells, strict=True))
            values = {name: cell.strip() for name, cell in raw.items()}
            rows.append(CsvRow(line=start, raw=raw, values=values))
    except csv.Error as exc:
        errors.append(
            ImportFileError(f"not readable CSV: {exc}", file_name=file_name, row=reader.line_num)
        )
        _refuse(errors)
    if not rows and not errors:
        errors.append(
            ImportFileError(
                f"the file has a header but no rows; expected {expected} lines",
                file_name=file_name,
            )
        )
    return rows


def _check_header(names: list[str], columns: tuple[str, ...], *, file_name: str, row: int) -> None:
    expected = ",".join(columns)
    problems: list[ImportFileError] = []
    for name in columns:
        if name not in names:
            problems.append(
                ImportFileError(
                    f"the column is missing; expected the header {expected}",
                    file_name=file_name,
                    row=row,
                    field=name,
                )
            )
    for position, name in enumerate(names):
        if name not in columns:
            problems.append(
                ImportFileError(
                    f"is not a column of this statement; expected the header {expected}",
                    file_name=file_name,
                    row=row,
                    field=name or f"(column {position + 1}, unnamed)",
                )
            )
        elif name in names[:position]:
            problems.append(
                ImportFileError(
                    "the column appears more than once", file_name=file_name, row=row, field=name
                )
            )
    _raise(problems)


class _Line:
    """One row's reads; each refusal is collected, so every bad field of every row is told."""

    def __init__(self, row: CsvRow, *, file_name: str, errors: list[ImportFileError]) -> None:
        self.fields = Fields(row.values, file_name=file_name, row=row.line)
        self.errors = errors

    def _read(self, read: Callable[[], T]) -> T | None:
        try:
            return read()
        except ImportFileError as error:
            self.errors.append(error)
            return None

    def day(self, name: str) -> date | None:
        return self._read(lambda: self.fields.day(name))

    def text(self, name: str) -> str | None:
        return self._read(lambda: self.fields.text(name))

    def amount(self, name: str, *, scale: int) -> Decimal | None:
        return self._read(lambda: self.fields.amount(name, scale=scale))

    def commodity(self, name: str, scales: Mapping[str, int]) -> tuple[str | None, int]:
        """The commodity code and its scale. An unknown code is an error; the row's amounts
        are then still checked, but against no scale."""
        code = self._read(lambda: self._known(name, scales))
        return code, scales[code] if code is not None else _ANY_SCALE

    def _known(self, name: str, scales: Mapping[str, int]) -> str:
        code = self.fields.text(name)
        if code not in scales:
            raise self.fields.error(
                f"{code!r} is not a known commodity (known: {', '.join(sorted(scales))})", name
            )
        return code


R = TypeVar("R", StatementBalance, LoanStatement)


def _unique(
    records: list[R],
    *,
    key: Callable[[R], tuple[date, str]],
    compared: tuple[str, ...],
    describe: Callable[[R], str],
    file_name: str,
    errors: list[ImportFileError],
) -> list[R]:
    """One record per key: a repeat that says the same collapses to the first; one that
    differs is an error on its first differing field, naming the row it contradicts."""
    first_seen: dict[tuple[date, str], R] = {}
    kept: list[R] = []
    for record in records:
        identity = key(record)
        first = first_seen.get(identity)
        if first is None:
            first_seen[identity] = record
            kept.append(record)
            continue
        for name in compared:
            here, there = getattr(record, name), getattr(first, name)
            if here != there:
                errors.append(
                    ImportFileError(
                        f"{describe(record)} is {here} here but {there} at row {first.row}",
                        file_name=file_name,
                        row=record.row,
                        field=name,
                    )
                )
                break
    return kept


def _raise(errors: list[ImportFileError]) -> None:
    if errors:
        _refuse(errors)


def _refuse(errors: list[ImportFileError]) -> NoReturn:
    # File-wide problems (no row) first, then by row; a row's fields in the order read.
    raise StatementFileError(sorted(errors, key=lambda e: e.row or 0))
