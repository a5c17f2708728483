"""A report as the admin shows it: titled tables of typed columns, written out once as a
page, a CSV file or a workbook, so that the three always hold the same figures.

A cell holds the figure itself (a Decimal, a date, an int or text); the column says how it
is written: an amount at its scale (`ledger.money.format_amount`, as the API writes it), a
price or ratio exactly as recorded, a date as YYYY-MM-DD. In the workbook numbers stay
numbers, with a number format showing the column's decimals, and dates stay dates."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ledger.money import format_amount

TEXT, DATE, INTEGER, AMOUNT, EXACT = "text", "date", "integer", "amount", "exact"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    kind: str = TEXT
    scale: int = 0  # AMOUNT: the decimals the figure is written with

    @property
    def numeric(self) -> bool:
        return self.kind in (INTEGER, AMOUNT, EXACT)


@dataclass
class Row:
    """One line: its cells by column key, links by column key, and its kind: a plain row,
    a `total` (printed bold, after the rows it adds up) or a `heading`."""

    cells: dict[str, Any]
    links: dict[str, str] = field(default_factory=dict)
    kind: str = "row"
    scales: dict[str, int] = field(default_factory=dict)  # a column's scale, for this row

    def scale(self, column: Column) -> int:
        return self.scales.get(column.key, column.scale)


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)

    def add(
        self,
        style: str = "row",
        links: dict[str, str] | None = None,
        scales: dict[str, int] | None = None,
        **cells: Any,
    ) -> Row:
        return self.add_cells(cells, style=style, links=links, scales=scales)

    def add_cells(
        self,
        cells: dict[str, Any],
        *,
        style: str = "row",
        links: dict[str, str] | None = None,
        scales: dict[str, int] | None = None,
    ) -> Row:
        row = Row(cells=cells, links=links or {}, kind=style, scales=scales or {})
        self.rows.append(row)
        return row


@dataclass
class Report:
    """What a report page shows: a title, a line saying what it covers, its tables, and
    notes (a check that failed, say)."""

    title: str
    subtitle: str
    tables: list[Table]
    file_parts: tuple[str, ...] = ()  # what the downloaded file's name adds to the report's
    notes: list[str] = field(default_factory=list)


def text(value: Any, column: Column, scale: int | None = None) -> str:
    """A cell as the page and the CSV file write it."""
    if value is None:
        return ""
    if column.kind == AMOUNT:
        return format_amount(value, column.scale if scale is None else scale)
    if column.kind == EXACT:
        return f"{value:f}"
    if column.kind == DATE and isinstance(value, date):
        return value.isoformat()
    return str(value)


# --- CSV ---------------------------------------------------------------------------------


def as_csv(report: Report) -> bytes:
    """Each table under its title, a header row, its rows and totals; tables apart by a
    blank line. UTF-8 with a byte order mark, which spreadsheet programs read."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for number, table in enumerate(report.tables):
        if number:
            writer.writerow([])
        if len(report.tables) > 1:
            writer.writerow([table.title])
        writer.writerow([column.header for column in table.columns])
        for row in table.rows:
            writer.writerow([text(row.cells.get(c.key), c, row.scale(c)) for c in table.columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- XLSX --------------------------------------------------------------------------------


def number_format(column: Column, scale: int) -> str:
    if column.kind == AMOUNT:
        return "#,##0" + ("." + "0" * scale if scale else "")
    if column.kind == INTEGER:
        return "0"
    if column.kind == DATE:
        return "yyyy-mm-dd"
    return "General"


def _sheet_name(title: str, taken: set[str]) -> str:
    name = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31] or "Report"
    base, counter = name, 2
    while name in taken:
        suffix = f" {counter}"
        name, counter = base[: 31 - len(suffix)] + suffix, counter + 1
    taken.add(name)
    return name


def as_xlsx(report: Report) -> bytes:
    """One sheet per table: the report's title and coverage, the header row (bold), the rows
    and the totals (bold). Decimals are written exactly as numbers (openpyxl writes a
    Decimal's digits), dates as dates."""
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    taken: set[str] = set()
    bold = Font(bold=True)
    for table in report.tables:
        sheet = workbook.create_sheet(_sheet_name(table.title, taken))
        sheet.append([report.title])
        sheet.append([report.subtitle])
        sheet.append([column.header for column in table.columns])
        for cell in sheet[3]:
            cell.font = bold
        # Rows are counted here: the sheet's max_row reads every cell written so far, which
        # made a year's rows take minutes.
        for number, row in enumerate(table.rows, start=4):
            values = []
            for column in table.columns:
                value = row.cells.get(column.key)
                if column.kind == AMOUNT and isinstance(value, Decimal):
                    value = Decimal(format_amount(value, row.scale(column)))
                values.append(value)
            sheet.append(values)
            for index, column in enumerate(table.columns, start=1):
                cell = sheet.cell(row=number, column=index)
                cell.number_format = number_format(column, row.scale(column))
                if row.kind != "row":
                    cell.font = bold
        for index, column in enumerate(table.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(
                12, min(40, len(column.header) + 2)
            )
        sheet.freeze_panes = "A4"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
