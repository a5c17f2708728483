"""The report pages' files and links: CSV and XLSX downloads opened and checked (headers,
numbers as numbers at their commodity's decimals, dates as dates, totals that tie to the
rows), and the drill-down from a trial balance line to the account detail, to an entry, to
the document behind it (a pool record and its pool file, a payout and its txid, a sale and
its disposals, a manual journal and its approver, a loan event)."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from holdings.models import Payout, PoolAccount, ProductionRecord, Sale, Wallet
from holdings.services import treasury
from ledger.models import ManualJournal
from tests.holdings.admin.test_reports import (  # noqa: F401 (fixtures)
    PAYOUT_ID,
    REPORTS,
    D,
    as_role,
    books,
    get,
    links,
    page_url,
    rows,
    users,
)
from tests.holdings.conftest import txid

pytestmark = pytest.mark.django_db


# --- downloads ---------------------------------------------------------------------------


def download(client: Any, name: str, fmt: str, **changes: str) -> Any:
    response = client.get(page_url(name), {**REPORTS[name], **changes, "format": fmt})
    assert response.status_code == 200, response.content[:1000]
    assert "attachment" in response["Content-Disposition"]
    return response


def read_csv(response: Any) -> list[list[str]]:
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_every_page_links_its_downloads_and_prints_cleanly(books, as_role):  # noqa: F811 (fixtures imported above)
    client = as_role("auditor")
    for name, query in REPORTS.items():
        html = client.get(page_url(name), query).content.decode()
        assert "format=csv" in html and "format=xlsx" in html
        assert "holdings/reports.css" in html and "holdings/reports.js" in html
        assert "onclick" not in html  # no inline script: the content security policy
        csv_response = download(client, name, "csv")
        assert csv_response["Content-Type"].startswith("text/csv")
        assert read_csv(csv_response)
        workbook = load_workbook(io.BytesIO(download(client, name, "xlsx").content))
        assert workbook.sheetnames
    css = (Path(__file__).resolve().parents[3] / "holdings/static/holdings/reports.css").read_text()
    assert "@media print" in css and "#header" in css and "#nav-sidebar" in css


def test_trial_balance_csv_and_xlsx_hold_the_pages_figures(books, as_role):  # noqa: F811 (fixtures imported above)
    client = as_role("staff")
    page = rows(get(client, "trial-balance"))
    response = download(client, "trial-balance", "csv")
    assert response["Content-Disposition"] == 'attachment; filename="trial-balance-2026-01-31.csv"'
    table = read_csv(response)
    header, *lines = table
    assert header == [
        "Account",
        "Name",
        "Type",
        "Commodity",
        "Quantity",
        "Value (USD)",
        "Debit (USD)",
        "Credit (USD)",
    ]
    assert [line[0] for line in lines] == [row["Account"] for row in page]
    assert [line[4] for line in lines] == [row["Quantity"] for row in page]
    total = lines[-1]
    assert total[0] == "Total"
    assert sum(D(line[6]) for line in lines[:-1]) == D(total[6])
    assert sum(D(line[7]) for line in lines[:-1]) == D(total[7]) == D(total[6])

    content = download(client, "trial-balance", "xlsx").content
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet["A1"].value == "Trial balance"
    assert [cell.value for cell in sheet[3]] == header
    assert all(cell.font.b for cell in sheet[3])
    data = list(sheet.iter_rows(min_row=4))
    assert [row[0].value for row in data] == [line[0] for line in lines]
    for row, line in zip(data, lines, strict=True):
        for cell, text in zip(row[4:], line[4:], strict=True):
            if text:
                assert isinstance(cell.value, int | float) and not isinstance(cell.value, bool)
                assert D(str(cell.value)) == D(text)
    btc = next(row for row in data if row[3].value == "BTC" and row[4].value)
    assert btc[4].number_format == "#,##0.00000000" and btc[5].number_format == "#,##0.00"
    assert data[-1][0].font.b
    assert sum(D(str(row[6].value)) for row in data[:-1]) == D(str(data[-1][6].value))
    # Decimals are written with their digits, not through a float.
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    for line in lines[:-1]:
        if line[3] == "BTC" and D(line[4]) != 0:
            assert f"<v>{D(line[4])}</v>" in xml or f"<v>{D(line[4]).normalize()}</v>" in xml


def test_account_detail_xlsx_has_dates_and_a_running_balance_that_ties(books, as_role):  # noqa: F811 (fixtures imported above)
    client = as_role("approver")
    sheet = load_workbook(io.BytesIO(download(client, "account-detail", "xlsx").content)).active
    data = [[cell for cell in row] for row in sheet.iter_rows(min_row=4)]
    headers = [cell.value for cell in sheet[3]]
    col = {name: headers.index(name) for name in headers}
    opening, *postings, total, closing = data
    assert opening[col["Memo"]].value == "Opening balance"
    assert postings
    running = D(str(opening[col["Running quantity"]].value))
    for row in postings:
        day = row[col["Date"]]
        assert isinstance(day.value, datetime) and day.number_format == "yyyy-mm-dd"
        assert date(2026, 1, 1) <= day.value.date() <= date(2026, 1, 31)
        running += D(str(row[col["Quantity (BTC)"]].value))
        assert D(str(row[col["Running quantity"]].value)) == running
        assert row[col["Quantity (BTC)"]].number_format == "#,##0.00000000"
    moved = sum(D(str(row[col["Quantity (BTC)"]].value)) for row in postings)
    assert D(str(total[col["Quantity (BTC)"]].value)) == moved
    assert D(str(closing[col["Running quantity"]].value)) == running


def test_realized_gains_and_loan_schedule_downloads_tie(books, as_role):  # noqa: F811 (fixtures imported above)
    client = as_role("auditor")
    header, *lines = read_csv(download(client, "realized-gains", "csv"))
    index = {name: header.index(name) for name in header}
    *disposals, total = lines
    assert disposals and total[index["Account"]] == "Total"
    for name in ("Units (BTC)", "Cost (USD)", "Proceeds (USD)", "Realized gain (USD)"):
        assert sum(D(line[index[name]]) for line in disposals) == D(total[index[name]])
    workbook = load_workbook(io.BytesIO(download(client, "loan-schedule", "xlsx").content))
    sheet = workbook.active
    headers = [cell.value for cell in sheet[3]]
    data = list(sheet.iter_rows(min_row=4, values_only=True))
    *days, total = data[1:]
    accrued = headers.index("Interest accrued")
    assert sum(D(str(day[accrued])) for day in days) == D(str(total[accrued]))
    assert all(isinstance(day[0], datetime) for day in days)


# --- drill-down --------------------------------------------------------------------------


def follow(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.content[:1000])
    return response.content.decode()


def drill_to_entry(client: Any, account: str, kind: str) -> tuple[str, str]:
    """Trial balance line -> account detail (same dates) -> the entry of `kind`: the entry
    page's address and HTML."""
    tb = client.get(page_url("trial-balance"), {"as_of": "2026-01-31", "start": "2026-01-01"})
    line = next(
        i for i, row in enumerate(rows(tb)) if row["Account"] == account and row["_kind"] == "row"
    )
    detail_url = links(tb)[line]["Value (USD)"]
    assert detail_url is not None
    assert f"account={account}" in detail_url
    assert "start=2026-01-01" in detail_url and "end=2026-01-31" in detail_url
    detail = client.get(detail_url)
    assert detail.status_code == 200
    closing = rows(detail)[-1]
    assert closing["Running value (USD)"] == rows(tb)[line]["Value (USD)"]
    kinds = [row["Kind"] for row in rows(detail)]
    assert kind in kinds, (account, kinds)
    index = kinds.index(kind)
    entry_url = links(detail)[index]["Entry"]
    assert entry_url is not None and "/admin/ledger/journalentry/" in entry_url
    entry = follow(client, entry_url)
    # The entry's page leads back to the account detail, with its dates.
    back = detail_url.replace("&", "&amp;")
    assert f'href="{back}">Back to the report</a>' in entry
    return entry_url, entry


def document_link(html: str, model: str) -> str:
    found = re.search(rf'href="(/admin/[a-z]+/{model}/\d+/change/)"', html)
    assert found, f"no link to a {model} on the entry's page"
    return found.group(1)


def test_drill_down_from_the_trial_balance_to_each_document(books, as_role):  # noqa: F811 (fixtures imported above)
    client = as_role("auditor")
    receivable = PoolAccount.objects.get(code="F2P-A").receivable_account.code
    hot = Wallet.objects.get(code="HOT-1").account.code
    cold = Wallet.objects.get(code="COLD-1").account.code

    # A pool earning: its pool record, whose page links to the pool file (import batch).
    _url, entry = drill_to_entry(client, receivable, "pool_earning")
    record_url = document_link(entry, "productionrecord")
    record = ProductionRecord.objects.get(pk=int(record_url.split("/")[-3]))
    assert record.batch_id == books["batch"].pk
    page = follow(client, record_url)
    assert reverse("admin:holdings_importbatch_change", args=[books["batch"].pk]) in page
    follow(client, reverse("admin:holdings_importbatch_change", args=[books["batch"].pk]))

    # A payout: its page shows the txid.
    _url, entry = drill_to_entry(client, hot, "pool_payout")
    payout_url = document_link(entry, "payout")
    assert txid(PAYOUT_ID) in follow(client, payout_url)
    assert Payout.objects.get(pk=int(payout_url.split("/")[-3])).txid == txid(PAYOUT_ID)

    # A sale: its page lists its disposals.
    _url, entry = drill_to_entry(client, cold, "sale")
    sale_url = document_link(entry, "sale")
    assert sale_url == reverse("admin:holdings_sale_change", args=[books["sale"].pk])
    page = follow(client, sale_url)
    assert "T-1" in page
    for disposal in books["sale"].disposals.all():
        assert f"{disposal.units:f}"[:4] in page

    # A manual journal: its page names its approver.
    _url, entry = drill_to_entry(client, "1000", "manual")
    journal_url = document_link(entry, "manualjournal")
    assert journal_url == reverse("admin:ledger_manualjournal_change", args=[books["journal"].pk])
    assert ManualJournal.objects.get(pk=books["journal"].pk).approved_by.username == "approver"
    assert "approver" in follow(client, journal_url)

    # A loan event.
    loan_event = books["loan"].events.filter(kind="draw").first()
    entry = follow(client, reverse("admin:ledger_journalentry_change", args=[loan_event.entry_id]))
    assert document_link(entry, "loanevent").endswith(f"/{loan_event.pk}/change/")
    assert Sale.objects.count() == 1


def test_roll_forward_lines_lead_to_the_reports_behind_them(books, as_role):  # noqa: F811 (fixtures imported above)
    client = as_role("auditor")
    page = get(client, "rollforward")
    lines = {row["Line"]: link["Label"] for row, link in zip(rows(page), links(page), strict=True)}
    units = {row["Line"]: row["Units (BTC)"] for row in rows(page)}

    # Opening and closing: the trial balance at the day before the period and at its end.
    closing = client.get(lines["closing"])
    assert closing.status_code == 200 and "as_of=2026-01-31" in lines["closing"]
    assert "as_of=2025-12-31" in lines["opening"]
    # Mining: the production report of the same dates, whose January mined is the line's.
    production = client.get(lines["additions.mining"])
    assert production.status_code == 200
    january = next(r for r in rows(production) if r["Month"] == "2026-01")
    assert january["Mined"] == units["additions.mining"]
    # Sales: realized gains of the same dates.
    gains = lines["dispositions.sales"]
    assert "start=2026-01-01" in gains and "end=2026-01-31" in gains
    assert client.get(gains).status_code == 200
    # Fair value changes: the adjustment account's detail.
    assert "account=1290" in lines["fair_value_changes"]
    assert client.get(lines["fair_value_changes"]).status_code == 200
    memo = {
        row["Line"]: link["Label"] for row, link in zip(rows(page, 1), links(page, 1), strict=True)
    }
    assert "account=1230" in memo["restricted.closing"]
    assert client.get(memo["restricted.closing"]).status_code == 200


def test_a_cold_wallet_line_leads_to_the_payouts_behind_its_lots(books, as_role):  # noqa: F811 (fixtures imported above)
    """Trial balance -> the cold wallet's account detail -> the sweep from the hot wallet
    and the lots held at the end, each with the payout that brought it in -> the payout's
    page and its txid."""
    sweep = treasury.transfer_record(
        txid=txid("sweep"),
        from_wallet="HOT-1",
        to_wallet="COLD-1",
        units=D("0.03"),
        sent_at=datetime(2026, 1, 6, 12, tzinfo=UTC),
    )
    client = as_role("auditor")
    cold = Wallet.objects.get(code="COLD-1").account.code
    _url, entry = drill_to_entry(client, cold, "wallet_transfer")
    assert f"/admin/holdings/transfer/{sweep.pk}/change/" in entry

    tb = client.get(page_url("trial-balance"), {"as_of": "2026-01-31", "start": "2026-01-01"})
    line = next(i for i, row in enumerate(rows(tb)) if row["Account"] == cold)
    detail = client.get(links(tb)[line]["Value (USD)"])
    held = rows(detail, 1)
    assert detail.context["tables"][1]["title"] == "Lots held at the end of 2026-01-31"
    assert sum(D(row["Quantity (BTC)"]) for row in held) == D(rows(tb)[line]["Quantity"])
    paid = [
        (row, link) for row, link in zip(held, links(detail, 1), strict=True) if row["Payout txid"]
    ]
    assert {row["Payout txid"] for row, _link in paid} == {txid(PAYOUT_ID)}
    assert sum(D(row["Quantity (BTC)"]) for row, _link in paid) == D("0.03")
    assert all(row["Paid out on"] == "2026-01-04" for row, _link in paid)
    page = follow(client, paid[0][1]["Payout txid"])
    assert txid(PAYOUT_ID) in page
    # The lots brought in otherwise (the opening balance) name no payout.
    assert all(row["Origin"] for row in held)


def test_a_long_report_is_written_as_a_spreadsheet_in_time_linear_in_its_rows():
    """A year of price evidence took minutes as a spreadsheet (each row read back every cell
    written before it); 6,000 rows of six columns take well under a second."""
    import time
    from decimal import Decimal

    from holdings.admin.reports.tables import AMOUNT, DATE, Column, Report, Row, Table, as_xlsx

    columns = [
        Column("day", "Day", DATE),
        Column("source", "Source"),
        *(Column(f"price{n}", f"Price {n}", AMOUNT, 2) for n in range(4)),
    ]
    prices = {f"price{n}": Decimal("1.5") for n in range(4)}
    rows = [Row({"day": date(2025, 1, 1), "source": "feed", **prices}) for _ in range(6000)]
    report = Report("Price evidence", "2025", [Table("Prices", columns, rows)])
    start = time.perf_counter()
    content = as_xlsx(report)
    assert time.perf_counter() - start < 5
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet.max_row == 6003
    assert sheet.cell(row=6003, column=3).number_format == "#,##0.00"
