"""The report pages: one view serves every report, from its definition (what it takes,
how it builds its tables). Every role reads them; a user without a role is refused. The
same tables become the page, `?format=csv` and `?format=xlsx`; a bad or missing parameter
is an error on the page naming it (400), never a file, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from holdings.admin.reports.params import COLUMNS, PRESETS, Query
from holdings.admin.reports.tables import Report, Table, as_csv, as_xlsx, text
from holdings.errors import HoldingsError
from holdings.models import Loan, Site
from holdings.selectors.costs import GROUPS as COST_GROUPS
from holdings.selectors.prices import PRICE_USES
from ledger.admin import allowed, utc_today
from ledger.errors import LedgerError
from ledger.models import Account, Commodity
from ledger.roles import READ_ROLES

FORMATS = ("", "html", "csv", "xlsx")
PAGE_ROWS = 500  # a page shows at most this many rows of each table; the files hold them all
TEXT_INPUTS = ("account", "commodity", "loan", "base", "used_by", "site", "group_by")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Definition:
    """A report: its name (as in the API's path), title, the inputs its form shows, the
    parameters its index link starts with, and the function that builds it from a query."""

    name: str
    title: str
    description: str
    inputs: tuple[str, ...]
    build: Callable[[Query], Report | None]
    defaults: tuple[tuple[str, str], ...] = (("period", "this_month"),)


def accepted_parameters(definition: Definition) -> set[str]:
    """The query parameters a report page reads: its inputs (a period is `period`, `start`
    and `end`; columns come with `compare`), the file format and the page."""
    names = {"format", "page"}
    for name in definition.inputs:
        names |= {
            "period": {"period", "start", "end"},
            "columns": {"columns", "compare"},
        }.get(name, {name})
    return names


def _page_asked(query: Query) -> int:
    """The page asked for (`page`, from 1); not a whole number from 1 is an error."""
    raw = query.raw("page") or "1"
    if not raw.isdigit() or int(raw) < 1 or len(raw) > 9:
        query.errors["page"] = "must be a whole number from 1."
        return 1
    return int(raw)


def _page_count(query: Query, page: int, rows: int) -> int:
    """How many pages the longest table takes; a page past the last is an error."""
    pages = max(1, -(-rows // PAGE_ROWS))
    if page > pages:
        query.errors["page"] = f"the report has {pages} page{'s' if pages > 1 else ''}."
    return pages


def url_name(name: str) -> str:
    return "reports_" + name.replace("-", "_")


def report_url(name: str, **params: Any) -> str:
    """A report page's address with its parameters (dates written YYYY-MM-DD)."""
    query = {
        key: value.isoformat() if hasattr(value, "isoformat") else value
        for key, value in params.items()
        if value not in (None, "")
    }
    url = reverse(f"admin:{url_name(name)}")
    return f"{url}?{urlencode(query)}" if query else url


def input_choices(name: str) -> list[str]:
    """What a typed-in parameter may be, offered as the reader types."""
    if name == "account":
        return list(Account.objects.order_by("code").values_list("code", flat=True))
    if name in ("commodity", "base"):
        return list(Commodity.objects.order_by("code").values_list("code", flat=True))
    if name == "loan":
        return list(Loan.objects.order_by("code").values_list("code", flat=True))
    if name == "used_by":
        return list(PRICE_USES)
    if name == "site":
        return list(Site.objects.order_by("code").values_list("code", flat=True))
    if name == "group_by":
        return list(COST_GROUPS)
    return []


def _table_context(table: Table, page: int = 1) -> dict[str, Any]:
    rows = []
    for row in table.rows[(page - 1) * PAGE_ROWS : page * PAGE_ROWS]:
        cells = [
            {
                "text": text(row.cells.get(column.key), column, row.scale(column)),
                "link": row.links.get(column.key),
                "numeric": column.numeric,
            }
            for column in table.columns
        ]
        rows.append({"kind": row.kind, "cells": cells})
    return {"title": table.title, "columns": table.columns, "rows": rows}


def _download(report: Report, name: str, fmt: str) -> HttpResponse:
    stem = "-".join([name, *report.file_parts])
    if fmt == "csv":
        response = HttpResponse(as_csv(report), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(as_xlsx(report), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


def report_view(site: Any, definition: Definition) -> Callable[[HttpRequest], HttpResponse]:
    def view(request: HttpRequest) -> HttpResponse:
        if not allowed(request.user, READ_ROLES):
            raise PermissionDenied
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        query = Query(data=request.GET, today=utc_today())
        for name in sorted(set(request.GET) - accepted_parameters(definition)):
            query.errors[name] = "is not a parameter of this report."
        page = _page_asked(query)
        fmt = request.GET.get("format", "")
        if fmt not in FORMATS:
            query.errors["format"] = "must be csv or xlsx (or nothing, for the page)."
        report: Report | None = None
        if not query.errors:
            try:
                report = definition.build(query)
            except (HoldingsError, LedgerError) as exc:
                query.errors[getattr(exc, "field", None) or "parameters"] = exc.message
        if query.errors:
            report = None
        if report is not None and fmt in ("csv", "xlsx"):
            return _download(report, definition.name, fmt)
        pages = 1
        if report is not None:
            pages = _page_count(query, page, max((len(t.rows) for t in report.tables), default=0))
            if query.errors:
                report = None
        params: dict[str, str] = {
            key: str(value) for key, value in request.GET.items() if key not in ("format", "page")
        }
        context = {
            **site.each_context(request),
            "title": definition.title,
            "definition": definition,
            "report": report,
            "tables": [_table_context(t, page) for t in report.tables] if report else [],
            "page": page,
            "pages": pages,
            "page_rows": PAGE_ROWS,
            "previous_url": "?" + urlencode({**params, "page": str(page - 1)}) if page > 1 else "",
            "next_url": "?" + urlencode({**params, "page": str(page + 1)}) if page < pages else "",
            "errors": sorted(query.errors.items()),
            "values": {key: request.GET.get(key, "") for key in request.GET},
            "text_inputs": [
                (name, request.GET.get(name, ""), input_choices(name))
                for name in definition.inputs
                if name in TEXT_INPUTS
            ],
            "presets": PRESETS.items(),
            "column_choices": COLUMNS.items(),
            "csv_url": "?" + urlencode({**params, "format": "csv"}),
            "xlsx_url": "?" + urlencode({**params, "format": "xlsx"}),
            "reports_url": reverse("admin:reports_index"),
        }
        request.current_app = site.name
        response = TemplateResponse(request, "admin/holdings/reports/report.html", context)
        if query.errors:
            response.status_code = 400
        return response

    return view


def index_view(site: Any, definitions: list[Definition]) -> Callable[[HttpRequest], HttpResponse]:
    def view(request: HttpRequest) -> HttpResponse:
        if not allowed(request.user, READ_ROLES):
            raise PermissionDenied
        entries = [
            {
                "title": d.title,
                "description": d.description,
                "url": report_url(d.name, **dict(d.defaults)),
            }
            for d in definitions
        ]
        context = {**site.each_context(request), "title": "Reports", "reports": entries}
        request.current_app = site.name
        return TemplateResponse(request, "admin/holdings/reports/index.html", context)

    return view
