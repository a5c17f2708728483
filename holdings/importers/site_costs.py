"""Sites' invoices and meter readings: CSV files read into typed records, no database.

Invoices, one line per invoice (the columns in any order; those in brackets may be left
out)::

    site,kind,reference,period_start,period_end,amount
    [,vendor,kwh,energy,demand,taxes,credits,hosting_basis,description,paid]

- `site`: the site's code; `kind`: power, hosting or other; `reference`: the invoice number
  (unique per site and vendor); `period_start`, `period_end`: the days the invoice covers
  (UTC dates, YYYY-MM-DD, both included).
- power: `energy` (kWh x tariff), `demand` (demand charges), `taxes`, and `credits`
  (curtailment and demand-response credits, kept apart in the books), USD to the cent, never
  negative; `kwh`, the energy billed, to the watt-hour. `amount`, if given, must be energy +
  demand + taxes - credits.
- hosting: `amount` and `hosting_basis` (per_kw, per_th or fixed); other: `amount` and a
  `description`. The power columns stay empty.
- `paid`: true if paid in cash when posted; otherwise (empty or false) owed to the vendor.

Meter readings, one line per site and period::

    site,period_start,period_end,kwh[,hpc_kwh]

`hpc_kwh` is what the site's sub-meter gave to HPC (zero where none), at most `kwh`.

Cells lose their surrounding blanks; blank lines are skipped; rows are numbered as lines of
the file (the header is line 1). A file is all or nothing: every problem is collected and
the whole file refused with CostFileError, each naming the file, the row and the field.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from holdings.importers.common import CsvRow, Fields, read_csv
from holdings.importers.records import ImportFileError

INVOICE_REQUIRED = ("site", "kind", "reference", "period_start", "period_end", "amount")
INVOICE_OPTIONAL = (
    "vendor",
    "kwh",
    "energy",
    "demand",
    "taxes",
    "credits",
    "hosting_basis",
    "description",
    "paid",
)
INVOICE_HEADER = ",".join(INVOICE_REQUIRED + INVOICE_OPTIONAL)
METER_REQUIRED = ("site", "period_start", "period_end", "kwh")
METER_OPTIONAL = ("hpc_kwh",)
METER_HEADER = ",".join(METER_REQUIRED + METER_OPTIONAL)

KINDS = ("power", "hosting", "other")
HOSTING_BASES = ("per_kw", "per_th", "fixed")
POWER_ONLY = ("kwh", "energy", "demand", "taxes", "credits")
USD_SCALE = 2
KWH_SCALE = 3
MAX_REFERENCE = 100
MAX_DESCRIPTION = 500
MESSAGE_ERRORS = 10
ZERO = Decimal("0.00")

T = TypeVar("T")


class CostFileError(ImportFileError):
    """A file refused as a whole; `errors` holds every problem found."""

    def __init__(self, errors: Sequence[ImportFileError]):
        first = errors[0]
        super().__init__(first.message, file_name=first.file_name, row=first.row, field=first.field)
        self.errors = tuple(errors)
        shown = "; ".join(str(error) for error in self.errors[:MESSAGE_ERRORS])
        if len(self.errors) > MESSAGE_ERRORS:
            shown += f" (and {len(self.errors) - MESSAGE_ERRORS} more)"
        self.args = (shown,)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [error.as_dict() for error in self.errors]


@dataclass(frozen=True)
class InvoiceLine:
    row: int
    site: str
    kind: str
    reference: str
    period_start: date
    period_end: date
    amount: Decimal
    vendor: str = ""
    kwh: Decimal | None = None
    energy: Decimal = ZERO
    demand: Decimal = ZERO
    taxes: Decimal = ZERO
    credits: Decimal = ZERO
    hosting_basis: str = ""
    description: str = ""
    paid: bool = False


@dataclass(frozen=True)
class MeterLine:
    row: int
    site: str
    period_start: date
    period_end: date
    kwh: Decimal
    hpc_kwh: Decimal


class _Row:
    """One row's reads; every refusal is collected, so each bad field of each row is told."""

    def __init__(self, row: CsvRow, *, file_name: str, errors: list[ImportFileError]) -> None:
        self.values = row.values
        self.fields = Fields(row.values, file_name=file_name, row=row.line)
        self.errors = errors
        self.line = row.line

    def read(self, read: Callable[[], T]) -> T | None:
        try:
            return read()
        except ImportFileError as error:
            self.errors.append(error)
            return None

    def refuse(self, name: str, message: str) -> None:
        self.errors.append(self.fields.error(message, name))

    def present(self, name: str) -> bool:
        return bool(self.values.get(name, ""))

    def text(self, name: str, limit: int, *, required: bool = True) -> str | None:
        if not required and not self.present(name):
            return ""
        value = self.read(lambda: self.fields.text(name))
        if value is not None and len(value) > limit:
            self.refuse(name, f"is longer than {limit} characters")
            return None
        return value

    def choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        value = self.read(lambda: self.fields.text(name))
        if value is not None and value not in choices:
            self.refuse(name, f"{value[:40]!r} must be one of {', '.join(choices)}")
            return None
        return value

    def amount(self, name: str, scale: int, *, positive: bool = False) -> Decimal | None:
        return self.read(lambda: self.fields.amount(name, scale=scale, positive=positive))

    def optional_amount(self, name: str, scale: int) -> Decimal | None:
        return self.amount(name, scale) if self.present(name) else None

    def period(self) -> tuple[date | None, date | None]:
        start = self.read(lambda: self.fields.day("period_start"))
        end = self.read(lambda: self.fields.day("period_end"))
        if start is not None and end is not None and end < start:
            self.refuse("period_end", f"{end} is before period_start {start}")
            return start, None
        return start, end

    def flag(self, name: str) -> bool | None:
        value = self.values.get(name, "").lower()
        if value in ("", "false", "no", "0"):
            return False
        if value in ("true", "yes", "1"):
            return True
        self.refuse(name, f"{value[:20]!r} must be true or false")
        return None


def _rows(
    content: bytes, *, file_name: str, required: tuple[str, ...], optional: tuple[str, ...]
) -> list[CsvRow]:
    try:
        _kind, rows = read_csv(content, file_name=file_name, headers={"": (required, optional)})
    except CostFileError:
        raise
    except ImportFileError as error:
        raise CostFileError([error]) from error
    if not rows:
        raise CostFileError(
            [ImportFileError("the file has a header but no rows", file_name=file_name)]
        )
    return rows


def parse_invoices(content: bytes, *, file_name: str) -> list[InvoiceLine]:
    """The invoices of a file, in file order, or CostFileError naming every problem."""
    errors: list[ImportFileError] = []
    lines: list[InvoiceLine] = []
    for csv_row in _rows(
        content, file_name=file_name, required=INVOICE_REQUIRED, optional=INVOICE_OPTIONAL
    ):
        row = _Row(csv_row, file_name=file_name, errors=errors)
        before = len(errors)
        line = _invoice(row)
        if line is not None and len(errors) == before:
            lines.append(line)
    if errors:
        raise CostFileError(errors)
    _refuse_repeats(
        lines,
        key=lambda line: (line.site, line.vendor, line.reference),
        describe=lambda line: f"invoice {line.reference} of site {line.site}",
        field="reference",
        file_name=file_name,
    )
    return lines


def _invoice(row: _Row) -> InvoiceLine | None:
    site = row.text("site", 27)
    kind = row.choice("kind", KINDS)
    reference = row.text("reference", MAX_REFERENCE)
    vendor = row.text("vendor", 200, required=False)
    description = row.text("description", MAX_DESCRIPTION, required=False)
    start, end = row.period()
    paid = row.flag("paid")
    basis = ""
    parts = {name: ZERO for name in ("energy", "demand", "taxes", "credits")}
    kwh = None
    amount: Decimal | None = None
    if kind == "power":
        if row.present("hosting_basis"):
            row.refuse("hosting_basis", "a power invoice has no hosting basis")
        kwh = row.optional_amount("kwh", KWH_SCALE)
        energy = row.amount("energy", USD_SCALE)
        parts = {
            "energy": energy if energy is not None else ZERO,
            **{
                name: row.optional_amount(name, USD_SCALE) or ZERO
                for name in ("demand", "taxes", "credits")
            },
        }
        charges = parts["energy"] + parts["demand"] + parts["taxes"]
        total = charges - parts["credits"]
        if energy is not None and charges == 0:
            row.refuse("energy", "a power invoice charges something (energy, demand or taxes)")
        given = row.optional_amount("amount", USD_SCALE) if row.present("amount") else None
        if given is not None and given != total:
            row.refuse("amount", f"{given} is not energy + demand + taxes - credits ({total})")
        amount = total
    elif kind in ("hosting", "other"):
        for name in POWER_ONLY:
            if row.present(name):
                row.refuse(name, f"only a power invoice has {name}")
        amount = row.amount("amount", USD_SCALE, positive=True)
        if kind == "hosting":
            basis = row.choice("hosting_basis", HOSTING_BASES) or ""
        elif row.present("hosting_basis"):
            row.refuse("hosting_basis", "only a hosting invoice has a hosting basis")
        if kind == "other" and not description:
            row.refuse("description", "an other direct cost says what it is")
    if None in (site, kind, reference, start, end, amount, paid, vendor, description):
        return None
    return InvoiceLine(
        row=row.line,
        site=site,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        reference=reference,  # type: ignore[arg-type]
        period_start=start,  # type: ignore[arg-type]
        period_end=end,  # type: ignore[arg-type]
        amount=amount,  # type: ignore[arg-type]
        vendor=vendor or "",
        kwh=kwh,
        hosting_basis=basis,
        description=description or "",
        paid=bool(paid),
        **parts,
    )


def parse_meter_readings(content: bytes, *, file_name: str) -> list[MeterLine]:
    """The readings of a file, in file order, or CostFileError naming every problem."""
    errors: list[ImportFileError] = []
    lines: list[MeterLine] = []
    for csv_row in _rows(
        content, file_name=file_name, required=METER_REQUIRED, optional=METER_OPTIONAL
    ):
        row = _Row(csv_row, file_name=file_name, errors=errors)
        site = row.text("site", 27)
        start, end = row.period()
        kwh = row.amount("kwh", KWH_SCALE)
        hpc = row.optional_amount("hpc_kwh", KWH_SCALE) if row.present("hpc_kwh") else ZERO
        if kwh is not None and hpc is not None and hpc > kwh:
            row.refuse("hpc_kwh", f"{hpc} is more than the site's {kwh} kWh")
            continue
        if None in (site, start, end, kwh, hpc):
            continue
        lines.append(MeterLine(row.line, site, start, end, kwh, hpc))  # type: ignore[arg-type]
    if errors:
        raise CostFileError(errors)
    _refuse_repeats(
        lines,
        key=lambda line: (line.site, line.period_start, line.period_end),
        describe=lambda line: f"site {line.site} from {line.period_start} to {line.period_end}",
        field="period_start",
        file_name=file_name,
    )
    return lines


L = TypeVar("L", InvoiceLine, MeterLine)


def _refuse_repeats(
    lines: list[L],
    *,
    key: Callable[[L], tuple[Any, ...]],
    describe: Callable[[L], str],
    field: str,
    file_name: str,
) -> None:
    seen: dict[tuple[Any, ...], int] = {}
    errors = []
    for line in lines:
        first = seen.setdefault(key(line), line.row)
        if first != line.row:
            errors.append(
                ImportFileError(
                    f"{describe(line)} is already at row {first}",
                    file_name=file_name,
                    row=line.row,
                    field=field,
                )
            )
    if errors:
        raise CostFileError(errors)


def parse_typed_invoice(values: dict[str, str], *, source: str = "typed invoice") -> InvoiceLine:
    """An invoice a person typed (each column's text by name; missing ones empty), checked as
    a file's row is; CostFileError names each bad field."""
    columns = [*INVOICE_REQUIRED, *INVOICE_OPTIONAL]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerow([str(values.get(name) or "") for name in columns])
    (line,) = parse_invoices(out.getvalue().encode(), file_name=source)
    return line
