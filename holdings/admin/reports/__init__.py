"""Report pages in the admin, under /admin/reports/<name>/, one per report of the API and
named as its path (trial-balance, balance-sheet, ...): the same parameters with the same
checks, the figures of the same selectors at each commodity's scale, downloads as CSV and
XLSX (`?format=csv`, `?format=xlsx`) and a print stylesheet.

One module per report group: `statements` (the ledger's: trial balance, balance sheet,
income statement, account detail), `holdings` (roll-forward and realized gains, of one
commodity or of every commodity with their total in USD, production, loan schedule, price
evidence) and `costs` (cost to mine, fixed assets); `pages` is the
view they share, `params` reads the query and the period presets, `tables` writes a report
as a page, CSV or workbook. The admin site adds `urls(site)` to its own
(holdings.admin_site)."""

from __future__ import annotations

from typing import Any

from django.urls import path

from holdings.admin.reports import costs, holdings, statements
from holdings.admin.reports.pages import index_view, report_view, url_name

DEFINITIONS = [*statements.DEFINITIONS, *holdings.DEFINITIONS, *costs.DEFINITIONS]


def urls(site: Any) -> list[Any]:
    """The report pages' URL patterns, each behind the site's log-in."""
    return [
        path("reports/", site.admin_view(index_view(site, DEFINITIONS)), name="reports_index"),
        *(
            path(
                f"reports/{d.name}/",
                site.admin_view(report_view(site, d)),
                name=url_name(d.name),
            )
            for d in DEFINITIONS
        ),
    ]
