"""CSV answers for the reports: the same figures as the JSON, as one table a spreadsheet opens.

A report view says how its JSON becomes a table (`csv_table`, a CSVTable): which lists hold
its rows, and which figures found elsewhere in the JSON (totals, opening and closing
balances) become rows of their own, their label in the table's label column. The columns
are the row serializer's fields, nested objects flattened into dotted names
(`price.source`), the header row first. Every cell is written as the JSON has it: decimals
as the same strings, null as an empty cell, true and false as such, a list of names joined
by "; ", any other object as its JSON text. A text cell a spreadsheet would take for a
formula (it starts with =, +, -, @, a tab or a carriage return, and is not a number) gets a
leading apostrophe.

CSV is the whole report: every row of the period in one answer, never a page (`page` and
`page_size` do not apply). JSON stays the default; a format the view does not offer is a
404 (`?format=`) or a 406 (`Accept`), as DRF answers; errors are JSON whatever was asked.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from drf_spectacular.drainage import get_override
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import generics, serializers
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

CSV_MEDIA_TYPE = "text/csv"
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Rows:
    """A list in the JSON (a dotted path such as `assets.rows`) whose items are rows."""

    path: str


@dataclass(frozen=True)
class Figures:
    """One row of figures found elsewhere in the JSON: `label` in the label column, and
    each column named in `cells` filled from a dotted path of the JSON."""

    label: str
    cells: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CSVTable:
    """How a report's JSON becomes one table."""

    name: str  # the report, first part of the file name
    row: serializers.Serializer  # its fields are the columns
    parts: Sequence[Rows | Figures] = (Rows("results"),)
    label_column: str | None = None  # where a Figures row writes its label; the first column

    def columns(self) -> list[str]:
        return columns_of(self.row)


def columns_of(serializer: serializers.Serializer, prefix: str = "") -> list[str]:
    """The serializer's output fields, nested serializers flattened into dotted names."""
    names: list[str] = []
    for name, field_ in serializer.fields.items():
        if field_.write_only:
            continue
        nested = _nested(serializer, field_)
        if nested is None:
            names.append(f"{prefix}{name}")
        else:
            names += columns_of(nested, f"{prefix}{name}.")
    return names


def _nested(parent: serializers.Serializer, field_: Any) -> serializers.Serializer | None:
    if isinstance(field_, serializers.ListSerializer):
        return None
    if isinstance(field_, serializers.Serializer):
        return field_
    if isinstance(field_, serializers.SerializerMethodField):
        # An object shaped by a method, declared to the schema with extend_schema_field.
        method = getattr(parent, field_.method_name or f"get_{field_.field_name}", None)
        declared = get_override(method, "field") if method is not None else None
        if isinstance(declared, type) and issubclass(declared, serializers.Serializer):
            declared = declared()
        if isinstance(declared, serializers.Serializer) and not isinstance(
            declared, serializers.ListSerializer
        ):
            return declared
    return None


def at(data: Any, path: str) -> Any:
    """The value at a dotted path; None where the path meets a null or a missing key."""
    for key in path.split(".") if path else ():
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and all(
        isinstance(item, str | int) and not isinstance(item, bool) for item in value
    ):
        value = "; ".join(str(item) for item in value)
    elif isinstance(value, Mapping | list):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return f"'{text}"
    return text


def table_rows(table: CSVTable, data: Any) -> Iterable[list[str]]:
    """The header, then every row of the table."""
    columns = table.columns()
    label_column = table.label_column or columns[0]
    yield columns
    for part in table.parts:
        if isinstance(part, Rows):
            for row in at(data, part.path) or []:
                yield [cell(at(row, column)) for column in columns]
        else:
            values = {label_column: part.label}
            values.update({column: at(data, path) for column, path in part.cells.items()})
            yield [cell(values.get(column)) for column in columns]


def file_name(*parts: Any) -> str:
    named = "_".join(_UNSAFE_IN_FILE_NAME.sub("-", str(part)) for part in parts if part)
    return f"{named or 'report'}.csv"


class CSVRenderer(BaseRenderer):
    """The view's `csv_table` as text/csv, with an attachment file name naming the report
    and its dates (`view.csv_file_name`)."""

    media_type = CSV_MEDIA_TYPE
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        context = renderer_context or {}
        view = context.get("view")
        table: CSVTable | None = getattr(view, "csv_table", None)
        if table is None:  # pragma: no cover - only report views offer CSV
            raise TypeError(f"{type(view).__name__} has no csv_table")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerows(table_rows(table, data))
        response = context.get("response")
        if response is not None:
            name = getattr(view, "csv_file_name", None) or file_name(table.name)
            response["Content-Disposition"] = f'attachment; filename="{name}"'
        return out.getvalue().encode(self.charset)


class CSVReportMixin(generics.GenericAPIView):
    """A report view that answers JSON by default and CSV on `?format=csv` (or
    `Accept: text/csv`): the whole report, unpaginated. Errors are always JSON.

    A report reads in one snapshot of the database (a REPEATABLE READ transaction): its
    several queries (opening and closing balances, the movements between them) see the same
    books even while entries are being posted, so what must tie does."""

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if connection.in_atomic_block:  # already in a transaction: its snapshot rules
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return super().dispatch(request, *args, **kwargs)

    csv_table: CSVTable
    csv_file_name: str | None = None

    def get_renderers(self) -> list[BaseRenderer]:
        return [JSONRenderer(), CSVRenderer()]

    @property
    def wants_csv(self) -> bool:
        return isinstance(getattr(self.request, "accepted_renderer", None), CSVRenderer)

    def name_csv(self, *parts: Any) -> None:
        """The attachment's file name: the report, then its commodity, account or dates."""
        self.csv_file_name = file_name(self.csv_table.name, *parts)

    def paginate_queryset(self, queryset: Any) -> Any:
        if self.wants_csv:
            return None
        return super().paginate_queryset(queryset)

    def paginate_counted(self, queryset: Any, count: int) -> Any:
        """As paginate_queryset, for a queryset the report has counted already."""
        if self.wants_csv:
            return None
        paginator: Any = self.paginator
        return paginator.paginate_counted(queryset, self.request, self, count)

    def get_paginated_response(self, data: Any) -> Response:
        if self.wants_csv:
            return Response({"results": data})
        return super().get_paginated_response(data)

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if getattr(response, "exception", False) and isinstance(
            getattr(response, "accepted_renderer", None), CSVRenderer
        ):
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response


# --- the schema --------------------------------------------------------------------------

FORMAT_PARAMETER = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    enum=["json", "csv"],
    description=(
        "json (default) or csv: the same figures as one table (nested objects in dotted "
        "columns, totals as labelled rows), every row of the report unpaginated, as an "
        "attachment named after the report and its dates. `Accept: text/csv` does the same."
    ),
)

PAGE_PARAMETERS = [
    OpenApiParameter(
        "page",
        OpenApiTypes.INT,
        OpenApiParameter.QUERY,
        description="JSON: the page (1 by default). CSV holds every row and has no pages.",
    ),
    OpenApiParameter(
        "page_size",
        OpenApiTypes.INT,
        OpenApiParameter.QUERY,
        description="JSON: rows per page (100 by default, at most 1000).",
    ),
]


def report_responses(
    serializer: Any, errors: Mapping[int, OpenApiResponse], description: str = ""
) -> dict[Any, Any]:
    """A report's answers for the schema: JSON or CSV with 200, errors as JSON."""
    return {
        (200, "application/json"): OpenApiResponse(serializer, description=description),
        (200, CSV_MEDIA_TYPE): OpenApiResponse(
            OpenApiTypes.STR,
            description="The same report as CSV (?format=csv): header row first, then the "
            "rows, then the labelled rows of totals.",
        ),
        **{(code, "application/json"): response for code, response in errors.items()},
    }
