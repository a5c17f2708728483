"""Rules every importer shares: exact numbers, UTC times, errors that name the row, HTTP.

Nothing here touches the database. Parsers read a document with `load_json` or `read_csv`,
pull typed values out of each record through `Fields` (which raises ImportFileError naming
the file, the row and the field; `document_rows` gives them for a saved JSON document), and
drop overlapping duplicates with `collapse` (`finish` does so for earnings and payouts).
Clients talk to the pools through `JsonApi`, which turns every transport problem into
PoolApiError.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any, TypeVar

from holdings.addresses import AddressError, normalize_txid
from holdings.importers.records import Earning, ImportFileError, ParseContext, ParsedFile, Payout
from ledger.dates import posting_date_problem
from ledger.money import EXACT, fits_scale
from ledger.text import text_problem

# A double holds 15 significant decimal digits exactly: text with no more is its own
# shortest form. Its shortest text never needs more than 17: text with more significant
# digits was not written from a double (a decimal sent as a JSON number) and is read as
# written.
DOUBLE_EXACT_DIGITS = 15
DOUBLE_MAX_DIGITS = 17

# The sizes of what a pool file's values are kept in: digits before the point of an amount
# (the ledger's quantities), a provider's id and an address (their columns), and a hashrate,
# far above any pool's (a month's sum of them still fits its column).
AMOUNT_WHOLE_DIGITS = 20
MAX_ID_LENGTH = 100
MAX_ADDRESS_LENGTH = 128
HASHRATE_CEILING = Decimal("1e30")


def significant_digits(value: Decimal) -> int:
    """Digits from the first non-zero one to the last non-zero one (0.50400 has 3)."""
    digits = "".join(map(str, value.as_tuple().digits)).strip("0")
    return len(digits)


def _json_double(text: str) -> Decimal:
    """A JSON number the pool sent as a double, as the shortest text of that double where
    the text is a longer spelling of it: 0.51714 stays 0.51714, and 0.51714000000000002 (a
    serializer's 17 digits) is 0.51714 too. Any other text is read exactly as written, never
    rounded through the double: 1.234567890123456789 (more digits than a double carries) is
    that number, and a field that reads it refuses it if it has more decimals than the
    commodity allows. Only a number beyond a double's range is read through the double (it
    cannot hold it: infinity or zero, which the field reading it refuses)."""
    written = Decimal(text)
    if abs(written.adjusted()) >= 300:
        return Decimal(repr(float(text)))
    digits = significant_digits(written)
    if digits <= DOUBLE_EXACT_DIGITS or digits > DOUBLE_MAX_DIGITS:
        return written
    shortest = Decimal(repr(float(text)))
    return shortest if significant_digits(shortest) < digits else written


def _json_constant(text: str) -> Decimal:
    # NaN and Infinity are not JSON but Python's reader accepts them; keep them as Decimal
    # so that the field reading them refuses them with its row and name.
    return Decimal(text)


def decode_json(text: str | bytes) -> Any:
    """JSON with doubles through their shortest text and NaN/Infinity as Decimal.

    Integers stay Python ints (exact); decimal strings stay strings until a field reads them.
    Raises ValueError (json.JSONDecodeError is one) on anything that is not JSON.
    """
    return json.loads(text, parse_float=_json_double, parse_constant=_json_constant)


def _utf8_text(content: bytes, *, file_name: str) -> str:
    try:
        # utf-8-sig: a byte-order mark left by a Windows editor is not an error.
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"not UTF-8 text (byte {exc.start} cannot be decoded)", file_name=file_name
        ) from exc


def load_json(content: bytes, *, file_name: str) -> Any:
    """The document in a saved API response, or ImportFileError."""
    text = _utf8_text(content, file_name=file_name)
    try:
        return decode_json(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            file_name=file_name,
        ) from exc
    except (ValueError, RecursionError) as exc:  # huge integers, absurd nesting
        raise ImportFileError(f"not readable JSON: {exc}", file_name=file_name) from exc


def jsonable(value: Any) -> Any:
    """A received JSON value with its Decimals back as text, so that `raw` can be stored.
    Built without recursion: a received value may nest deeper than Python's stack."""

    def converted(item: Any, stack: list[tuple[Any, Any]]) -> Any:
        if isinstance(item, Decimal):
            return str(item)
        if isinstance(item, dict | list):
            copy: Any = {} if isinstance(item, dict) else []
            stack.append((item, copy))
            return copy
        return item

    stack: list[tuple[Any, Any]] = []
    root = converted(value, stack)
    while stack:
        source, target = stack.pop()
        if isinstance(source, dict):
            for key, item in source.items():
                target[key] = converted(item, stack)
        else:
            target.extend(converted(item, stack) for item in source)
    return root


# Deeper than any pool's record: a row nested deeper is refused rather than stored.
MAX_RAW_DEPTH = 32


def raw_problem(value: Any) -> tuple[str, str] | None:
    """Why a received record cannot be kept as its `raw` JSON, and where (a dotted path):
    a NUL in a key or a text (PostgreSQL's jsonb holds none), or nesting deeper than
    MAX_RAW_DEPTH."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            return path, "holds a NUL character"
        if isinstance(item, dict | list):
            if depth >= MAX_RAW_DEPTH:
                # Named by its top-level key: the path down is as long as the nesting.
                return path.split(".")[0].split("[")[0], (
                    f"is nested deeper than {MAX_RAW_DEPTH} levels"
                )
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and "\x00" in key:
                    return path, "has a key holding a NUL character"
                name = f"{path}.{key}" if isinstance(item, dict) else f"{path}[{key}]"
                stack.append((child, name.lstrip("."), depth + 1))
    return None


def responses(document: Any) -> list[tuple[str, Any]]:
    """A saved response, or a JSON array of them (paged or several requests), each with a
    phrase naming it in error messages."""
    if isinstance(document, list):
        return [(f"element {number} of the array", page) for number, page in enumerate(document, 1)]
    return [("the document", document)]


def join_json_array(bodies: Iterable[bytes]) -> bytes:
    """Several response bodies as one JSON array, each kept byte for byte as received."""
    return b"[" + b",\n".join(body.strip() for body in bodies) + b"]"


@dataclass(frozen=True)
class CsvRow:
    line: int  # line of the file the row starts on (the header is line 1)
    raw: dict[str, str]  # the cells as received, by column name
    values: dict[str, str]  # the same cells without surrounding blanks


def read_csv(
    content: bytes,
    *,
    file_name: str,
    headers: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]],
) -> tuple[str, list[CsvRow]]:
    """Rows of a CSV file whose header matches one of `headers`.

    `headers` maps a kind to (required columns, optional columns); columns may come in any
    order, optional ones may be left out, nothing else may appear. Returns the kind and rows.
    """
    text = _utf8_text(content, file_name=file_name)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFileError("the file is empty; expected a header line", file_name=file_name)
        columns = [name.strip() for name in header]
        kind = _header_kind(columns, headers)
        if kind is None:
            expected = " or ".join(
                repr(",".join(required + optional)) for required, optional in headers.values()
            )
            raise ImportFileError(
                f"unknown header {','.join(columns)!r}; expected {expected}",
                file_name=file_name,
                row=1,
            )
        rows: list[CsvRow] = []
        line = reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # blank lines (often one at the end) carry nothing
            if len(cells) != len(columns):
                raise ImportFileError(
                    f"expected {len(columns)} columns, found {len(cells)}",
                    file_name=file_name,
                    row=start,
                )
            raw = dict(zip(columns, cells, strict=True))
            values = {name: cell.strip() for name, cell in raw.items()}
            rows.append(CsvRow(line=start, raw=raw, values=values))
    except csv.Error as exc:
        raise ImportFileError(
            f"not readable CSV: {exc}", file_name=file_name, row=reader.line_num
        ) from exc
    return kind, rows


def _header_kind(
    columns: list[str], headers: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]
) -> str | None:
    if len(set(columns)) != len(columns):
        return None
    for kind, (required, optional) in headers.items():
        if set(required) <= set(columns) <= set(required) | set(optional):
            return kind
    return None


# ASCII digits only: `\d` would read other scripts' digits (Arabic-Indic, ...) as numbers.
_DECIMAL_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


_DAY_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


_NAIVE_TIME_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def to_decimal(value: Any) -> Decimal | None:
    """The exact decimal a JSON or CSV value spells, or None if it spells none."""
    if isinstance(value, bool):  # JSON true/false are ints to Python
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):  # only when a caller built the data by hand
        return Decimal(repr(value))
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        return Decimal(value)
    return None


def plain(value: Decimal) -> Decimal:
    """An integral value written without exponent (1.2E+18 -> 1200000000000000000)."""
    if value != value.to_integral_value():
        return value
    with localcontext(EXACT):
        return value.quantize(Decimal(1))


def midnight(day: date) -> datetime:
    return datetime.combine(day, dtime(0), tzinfo=UTC)


def unix_ms(day: date) -> int:
    return int(midnight(day).timestamp()) * 1000


class Fields:
    """Typed reads from one received record; every refusal names the file, row and field."""

    def __init__(
        self, data: Mapping[str, Any], *, file_name: str, row: int, prefix: str = ""
    ) -> None:
        self.data = data
        self.file_name = file_name
        self.row = row
        self.prefix = prefix

    def error(self, message: str, name: str | None = None) -> ImportFileError:
        field_name = f"{self.prefix}{name}" if name else (self.prefix.rstrip(".") or None)
        return ImportFileError(message, file_name=self.file_name, row=self.row, field=field_name)

    def raw(self) -> Any:
        """The record as received, to keep beside what was posted (its Decimals as text);
        refused, naming where, if PostgreSQL could not keep it (raw_problem)."""
        problem = raw_problem(self.data)
        if problem is not None:
            where, message = problem
            raise self.error(message, where or None)
        return jsonable(self.data)

    def present(self, name: str) -> bool:
        value = self.data.get(name)
        return value is not None and not (isinstance(value, str) and not value.strip())

    def get(self, name: str) -> Any:
        if not self.present(name):
            raise self.error("is missing", name)
        return self.data[name]

    def nested(self, name: str) -> Fields:
        value = self.get(name)
        if not isinstance(value, dict):
            raise self.error("must be an object", name)
        return Fields(value, file_name=self.file_name, row=self.row, prefix=f"{self.prefix}{name}.")

    def text(self, name: str, *, max_length: int | None = None) -> str:
        """One line of printable text (ledger/text.py), at most `max_length` characters."""
        value = self.get(name)
        if not isinstance(value, str):
            raise self.error(f"must be text, got {value!r}", name)
        value = value.strip()
        problem = text_problem(value)
        if problem is not None:
            raise self.error(problem, name)
        if max_length is not None and len(value) > max_length:
            raise self.error(f"is longer than {max_length} characters", name)
        return value

    def ident(self, name: str) -> str:
        """A provider's id: an integer or a non-empty string, as text."""
        value = self.get(name)
        if isinstance(value, str):
            return self.text(name, max_length=MAX_ID_LENGTH)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(f"must be an integer or text id, got {jsonable(value)!r}", name)
        if len(str(value)) > MAX_ID_LENGTH:
            raise self.error(f"is longer than {MAX_ID_LENGTH} characters", name)
        return str(value)

    def number(self, name: str) -> Decimal:
        value = self.get(name)
        number = to_decimal(value)
        if number is None:
            raise self.error(f"must be a number, got {jsonable(value)!r}", name)
        if not number.is_finite():
            raise self.error(f"must be a finite number, got {number}", name)
        return number

    def amount(self, name: str, *, scale: int, positive: bool = False) -> Decimal:
        """A quantity of the commodity: exact within its scale, never negative (never zero
        where `positive`), never rounded."""
        value = self.number(name)
        if not fits_scale(value, scale):
            raise self.error(
                f"{value} has more decimal places than the commodity allows ({scale})", name
            )
        if value < 0:
            raise self.error(f"must not be negative, got {value}", name)
        if positive and value == 0:
            raise self.error("must be greater than zero", name)
        if value and value.adjusted() >= AMOUNT_WHOLE_DIGITS:
            raise self.error(
                f"{value} is too large: at most {AMOUNT_WHOLE_DIGITS} digits before the point", name
            )
        return value

    def hashrate(self, name: str) -> Decimal | None:
        """A hashrate in H/s where reported; zero is a real value (machines off)."""
        if not self.present(name):
            return None
        value = self.number(name)
        if value < 0:
            raise self.error(f"must not be negative, got {value}", name)
        if value >= HASHRATE_CEILING:
            raise self.error(f"{value} H/s is beyond any pool's hashrate", name)
        return self._plain(value, name)

    def _plain(self, value: Decimal, name: str) -> Decimal:
        try:
            return plain(value)
        except InvalidOperation as exc:
            raise self.error(f"{value} is too large", name) from exc

    def unix_time(self, name: str) -> datetime:
        value = self.get(name)
        number = to_decimal(value) if not isinstance(value, str) else None
        if number is None or not number.is_finite() or number != number.to_integral_value():
            raise self.error(f"must be whole Unix seconds, got {jsonable(value)!r}", name)
        try:
            moment = datetime.fromtimestamp(int(number), tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise self.error(f"{value} is not a usable Unix time", name) from exc
        return self.within_books(moment, name)

    def within_books(self, when: Any, name: str) -> Any:
        """A day or time the ledger posts at (ledger/dates.py), or refused naming the field."""
        problem = posting_date_problem(when.date() if isinstance(when, datetime) else when)
        if problem is not None:
            raise self.error(problem, name)
        return when

    def iso_utc(self, name: str) -> datetime:
        """An ISO 8601 time that says it is UTC (`Z` or `+00:00`)."""
        text = self.text(name)
        if not (text.endswith("Z") or text.endswith("+00:00")):
            raise self.error(
                f"{text!r} must be a UTC time ending in Z or +00:00 (zone-less or other "
                "offsets are refused)",
                name,
            )
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise self.error(f"{text!r} is not an ISO 8601 time", name) from exc
        if moment.utcoffset() != timedelta(0):
            raise self.error(f"{text!r} is not UTC", name)
        return self.within_books(moment.astimezone(UTC), name)

    def zoneless_utc(self, name: str) -> datetime:
        """A `YYYY-MM-DD HH:MM:SS` time without zone, which the provider means as UTC."""
        text = self.text(name)
        if not _NAIVE_TIME_TEXT.fullmatch(text):
            raise self.error(f"{text!r} must look like YYYY-MM-DD HH:MM:SS", name)
        try:
            moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError as exc:
            raise self.error(f"{text!r} is not a real time", name) from exc
        return self.within_books(moment, name)

    def day(self, name: str) -> date:
        text = self.text(name)
        if not _DAY_TEXT.fullmatch(text):
            raise self.error(f"{text!r} must be a date written YYYY-MM-DD", name)
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise self.error(f"{text!r} is not a real date", name) from exc
        return self.within_books(day, name)

    def txid(self, name: str) -> str:
        """64 hex characters, lower-cased as explorers write them. EVM chains (ETC) write
        the same hash with a `0x` prefix, which is dropped."""
        text = self.text(name)
        try:
            return normalize_txid(text)
        except AddressError as exc:
            raise self.error(str(exc), name) from exc

    def address(self, name: str) -> str:
        text = self.text(name, max_length=MAX_ADDRESS_LENGTH)
        if not text or any(char.isspace() for char in text):
            raise self.error(f"{text!r} is not an address", name)
        return text


def provider_message(data: Any) -> str | None:
    """The error text a provider put in its JSON answer, where it put one."""
    if not isinstance(data, dict):
        return None
    for key in ("message", "msg", "error", "detail"):
        value = data.get(key)
        if isinstance(value, dict):
            value = value.get("message")
        if isinstance(value, str) and value:
            return value
    return None


def object_fields(item: Any, *, file_name: str, row: int, noun: str = "a row") -> Fields:
    """Fields of a row that must be a JSON object; `noun` names the row in the refusal."""
    if not isinstance(item, dict):
        raise ImportFileError(f"{noun} must be a JSON object", file_name=file_name, row=row)
    return Fields(item, file_name=file_name, row=row)


def document_rows(
    document: Any,
    page_rows: Callable[[str, Any, str], list[Any]],
    *,
    file_name: str,
    noun: str = "a row",
) -> Iterator[Fields]:
    """Fields of every row of every response in a saved document (see `responses`).

    `page_rows(where, response, file_name)` gives one response's rows or refuses the
    response. Rows are numbered across the whole document, in order, so that an error names
    the row a reader counts to. Rows are given one at a time, so the first problem in the
    file is the one reported, whether it is in a row or in a later response.
    """
    row = 0
    for where, response in responses(document):
        for item in page_rows(where, response, file_name):
            row += 1
            yield object_fields(item, file_name=file_name, row=row, noun=noun)


def saved_coded_data(where: str, page: Any, *, file_name: str, a_pool: str, answer: str) -> Any:
    """The `data` of a saved `{"code": 0, "data": ...}` answer.

    `a_pool` is the pool's name with its article ("an Antpool"), `answer` what a response is
    called ("API page"). A saved error answer is refused with the provider's own message.
    """
    if not isinstance(page, dict) or "code" not in page:
        raise ImportFileError(f"{where} is not {a_pool} {answer}", file_name=file_name)
    if page["code"] != 0:
        message = provider_message(page) or "no message"
        raise ImportFileError(
            f"{where} is {a_pool} error answer (code {jsonable(page['code'])}): {message}",
            file_name=file_name,
        )
    return page.get("data")


def is_earning_row(item: Fields, *, earning_key: str, payout_key: str, neither: str) -> bool:
    """Whether a row is an earning (it has `earning_key`) rather than a payout (it has
    `payout_key`). A row with both or neither cannot be told apart: refused with `neither`."""
    is_earning, is_payout = earning_key in item.data, payout_key in item.data
    if is_earning == is_payout:
        raise item.error(neither)
    return is_earning


R = TypeVar("R", Earning, Payout)


def collapse(
    records: Iterable[R],
    *,
    key: Callable[[R], Hashable],
    describe: Callable[[R], str],
    field: str,
    file_name: str,
) -> list[R]:
    """One record per identity: exact repeats (overlapping pages) collapse to the first,
    the same identity with different content is an error naming both rows."""
    first_seen: dict[Hashable, R] = {}
    kept: list[R] = []
    for record in records:
        identity = key(record)
        first = first_seen.get(identity)
        if first is None:
            first_seen[identity] = record
            kept.append(record)
        elif replace(first, row=0) != replace(record, row=0):
            raise ImportFileError(
                f"{describe(record)} also appears at row {first.row} with different content",
                file_name=file_name,
                row=record.row,
                field=field,
            )
    return kept


def one_day_per_id(earnings: list[Earning], *, field: str, file_name: str) -> list[Earning]:
    """Earnings (one per pool account and day) whose provider ids name one day each: the
    ledger keeps an id once per pool account, so an id on two days is refused naming both
    rows."""
    first_day: dict[tuple[str | None, str], Earning] = {}
    for earning in earnings:
        if earning.external_id is None:
            continue
        first = first_day.setdefault((earning.pool_account, earning.external_id), earning)
        if first is not earning:
            raise ImportFileError(
                f"id {earning.external_id!r} of {earning.day} is also the id of {first.day} "
                f"(row {first.row}): a provider's id names one day",
                file_name=file_name,
                row=earning.row,
                field=field,
            )
    return earnings


def finish(
    earnings: list[Earning],
    payouts: list[Payout],
    ctx: ParseContext,
    *,
    day_field: str,
    day_name: str,
    id_field: str = "id",
    id_name: str = "payout id",
) -> ParsedFile:
    """The parsed file with one earning per day and one payout per provider id: pages and
    requests saved together overlap, so the same record can come more than once.

    A clash names the record as `day_name`/`id_name` and its value, in the field
    `day_field`/`id_field` it was read from.
    """
    days = collapse(
        earnings,
        key=lambda e: e.day,
        describe=lambda e: f"{day_name} {e.day}",
        field=day_field,
        file_name=ctx.file_name,
    )
    return ParsedFile(
        earnings=one_day_per_id(days, field=id_field, file_name=ctx.file_name),
        payouts=collapse(
            payouts,
            key=lambda p: p.external_id,
            describe=lambda p: f"{id_name} {p.external_id}",
            field=id_field,
            file_name=ctx.file_name,
        ),
    )
