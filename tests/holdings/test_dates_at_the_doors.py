"""Dates inside a horizon: every date parameter of every GET endpoint answers 400 naming the
parameter for a date Python can or cannot represent, never 500; every door that posts
refuses a date past today plus the horizon (or before the books' start), naming its own
field, and writes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from holdings.models import (
    Disposal,
    LoanEvent,
    Lot,
    LotMovement,
    Price,
    ReconciliationRun,
    Sale,
    Transfer,
)
from ledger.models import JournalEntry, ManualJournal, PeriodClose, Posting
from tests.holdings.api.test_loans import loan_world, running_loan  # noqa: F401

API = "/api/v1"
BAD_DATES = ["0001-01-01", "9999-12-31", "10000-01-01", "2025-02-30", "-1", "1899-12-31"]
# Other parameters an endpoint needs, so that only the date sent is at fault.
NEEDS = {
    "/api/v1/reports/account-detail/": {"account": "1210"},
    "/api/v1/reports/loan-schedule/": {"loan": "L-1"},
}
PATH_VALUES = {
    "/api/v1/accounts/{code}/balance/": "/api/v1/accounts/1210/balance/",
    "/api/v1/loans/{code}/": "/api/v1/loans/L-1/",
    "/api/v1/loans/{code}/events/": "/api/v1/loans/L-1/events/",
}
GOOD = {"as_of": "2026-01-15", "start": "2026-01-01", "end": "2026-01-31"}


def date_parameters() -> list[tuple[str, list[str], list[str]]]:
    """(path, its date parameters, its required ones) of every GET in the API's schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        params = [p for p in get.get("parameters", []) if p["in"] == "query"]
        dated = [p["name"] for p in params if p.get("schema", {}).get("format") == "date"]
        required = [p["name"] for p in params if p.get("required")]
        if dated:
            found.append((PATH_VALUES.get(path, path), dated, required))
    return found


def test_the_schema_lists_the_date_parameters():
    paths = {path for path, _dated, _required in date_parameters()}
    # Every report and dated list, so that the sweep below covers them all.
    for expected in [
        "/api/v1/reports/income-statement/",
        "/api/v1/reports/account-detail/",
        "/api/v1/reports/rollforward/",
        "/api/v1/reports/production/",
        "/api/v1/loans/",
        "/api/v1/loans/L-1/",
        "/api/v1/reports/loan-schedule/",
        "/api/v1/reconciliations/",
        "/api/v1/exports/beancount/",
        "/api/v1/audit-log/",
        "/api/v1/accounts/1210/balance/",
    ]:
        assert expected in paths


def field_names(body: dict[str, Any]) -> set[str]:
    return {body.get("field")} | {e["field"] for e in body.get("errors", [])}


@pytest.mark.django_db
def test_every_date_parameter_of_every_endpoint_answers_400_naming_it(
    running_loan,  # noqa: F811
    api_client_for,
):
    client = api_client_for("auditor")
    failures = []
    for path, dated, required in date_parameters():
        base = {name: GOOD[name] for name in required if name in GOOD}
        base.update(NEEDS.get(path, {}))
        for name in dated:
            for bad in BAD_DATES:
                response = client.get(path, {**base, name: bad})
                ok = response.status_code == 400 and name in field_names(response.json())
                if not ok:
                    failures.append((path, name, bad, response.status_code))
            # Empty: an optional parameter left empty is absent; a required one is refused.
            response = client.get(path, {**base, name: ""})
            if name in required:
                ok = response.status_code == 400 and name in field_names(response.json())
            else:
                ok = response.status_code == 200
            if not ok:
                failures.append((path, name, "", response.status_code))
            # The widest dates taken answer (whatever the report says then), never 500.
            for edge in ["1900-01-01", "9998-12-31"]:
                response = client.get(path, {**base, name: edge})
                if response.status_code >= 500:
                    failures.append((path, name, edge, response.status_code))
    assert failures == []


# --- doors that post ---------------------------------------------------------------------


def written() -> tuple[int, ...]:
    return (
        JournalEntry.objects.count(),
        Posting.objects.count(),
        ManualJournal.objects.count(),
        LoanEvent.objects.count(),
        Sale.objects.count(),
        Transfer.objects.count(),
        Disposal.objects.count(),
        Lot.objects.count(),
        LotMovement.objects.count(),
        PeriodClose.objects.count(),
        Price.objects.count(),
    )


def beyond() -> str:
    return (timezone.now().date() + timedelta(days=32)).isoformat()


SALE = {
    "reference": "OTC-1",
    "wallet": "COLD-1",
    "units": "0.5",
    "proceeds_commodity": "USD",
    "gross_proceeds": "45000.00",
}
TRANSFER = {
    "txid": "ab" * 32,
    "from_wallet": "COLD-1",
    "to_wallet": "HOT-1",
    "units": "0.1",
}
JOURNAL = {
    "memo": "Accrued audit fee",
    "kind": "accrual",
    "postings": [
        {"account": "5300", "quantity": "100.00", "value": "100.00"},
        {"account": "1000", "quantity": "-100.00", "value": "-100.00"},
    ],
}


def doors() -> list[tuple[str, str, dict[str, Any], str, str]]:
    """(url, role, body without its date, the date field, "date" or "time")."""
    return [
        ("/sales/", "staff", SALE, "sold_at", "time"),
        ("/sales/preview/", "staff", SALE, "sold_at", "time"),
        ("/transfers/", "staff", TRANSFER, "sent_at", "time"),
        ("/loans/L-1/draws/", "staff", {"amount": "1000.00"}, "on", "date"),
        ("/loans/L-1/pledges/", "staff", {"units": "0.1", "from_wallet": "HOT-1"}, "on", "date"),
        ("/loans/L-1/releases/", "staff", {"units": "0.1", "to_wallet": "COLD-1"}, "on", "date"),
        ("/loans/L-1/repayments/", "staff", {"amount": "10.00"}, "on", "date"),
        ("/loans/L-1/liquidations/", "staff", {"units": "0.1", "proceeds": "10.00"}, "on", "date"),
        ("/loans/L-1/accruals/", "staff", {}, "on", "date"),
        ("/journal-entries/", "staff", JOURNAL, "effective_date", "date"),
        ("/manual-journals/", "staff", JOURNAL, "effective_date", "date"),
        ("/periods/", "approver", {}, "through", "date"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "role", "body", "field", "shape", "when"),
    [
        (*door, when)
        for door in doors()
        for when in ("9999-12-31", "beyond", "2009-01-02", "10000-01-01")
        # A close through a day before the books' start is taken: it closes nothing.
        if not (door[3] == "through" and when == "2009-01-02")
    ],
)
def test_the_doors_refuse_dates_outside_the_books_naming_their_field(
    running_loan,  # noqa: F811
    api_client_for,
    url,
    role,
    body,
    field,
    shape,
    when,
):
    day = beyond() if when == "beyond" else when
    value = f"{day}T12:00:00Z" if shape == "time" else day
    before = written()
    response = api_client_for(role).post(f"{API}{url}", {**body, field: value}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert written() == before


@pytest.mark.django_db
def test_a_period_is_closed_only_through_a_day_that_has_begun(api_client_for, chart):
    client = api_client_for("approver")
    tomorrow = (timezone.now().date() + timedelta(days=1)).isoformat()
    response = client.post(f"{API}/periods/", {"through": tomorrow}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "through"
    assert "after today" in response.json()["detail"]
    assert PeriodClose.objects.count() == 0
    today = timezone.now().date().isoformat()
    assert client.post(f"{API}/periods/", {"through": today}, format="json").status_code == 201


@pytest.mark.django_db
def test_the_manual_journal_draft_cannot_move_past_the_horizon(running_loan, api_client_for):  # noqa: F811
    client = api_client_for("staff")
    created = client.post(
        f"{API}/manual-journals/", {**JOURNAL, "effective_date": "2026-01-05"}, format="json"
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    response = client.patch(
        f"{API}/manual-journals/{pk}/", {"effective_date": "9999-12-31"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["field"] == "effective_date"
    assert ManualJournal.objects.get(pk=pk).effective_date == date(2026, 1, 5)


@pytest.mark.django_db
def test_the_posting_check_refuses_dates_outside_the_books(chart, settings):
    from ledger import services
    from ledger.errors import InvalidEntry

    lines = [
        ("1000", Decimal("1.00"), Decimal("1.00")),
        ("3000", Decimal("-1.00"), Decimal("-1.00")),
    ]
    today = timezone.now().date()
    for day, words in [
        (today + timedelta(days=32), "days after today"),
        (date(9999, 12, 31), "days after today"),
        (date(2009, 1, 2), "before the books' start, 2009-01-03"),
    ]:
        with pytest.raises(InvalidEntry, match=words) as caught:
            services.entry_post(effective_date=day, memo="x", postings=lines)
        assert caught.value.field == "effective_date"
    services.entry_post(effective_date=today + timedelta(days=31), memo="x", postings=lines)
    settings.BOOKS_START = date(2025, 1, 1)
    settings.POSTING_HORIZON_DAYS = 0
    with pytest.raises(InvalidEntry, match="before the books' start, 2025-01-01"):
        services.entry_post(effective_date=date(2024, 12, 31), memo="x", postings=lines)
    with pytest.raises(InvalidEntry, match="at most 0 days after today"):
        services.entry_post(effective_date=today + timedelta(days=1), memo="x", postings=lines)
    services.entry_post(effective_date=today, memo="x", postings=lines)


# --- the admin -----------------------------------------------------------------------------

ADMIN_DATES = ["0001-01-01", "9999-12-31", "10000-01-01", "2025-02-30", "-1", "1899-12-31"]


@pytest.mark.django_db
def test_the_admin_answers_400_or_a_form_error_never_500(
    running_loan,  # noqa: F811
    client,
    approver_user,
):
    from django.contrib import admin
    from django.urls import reverse

    approver_user.is_staff = True
    approver_user.save(update_fields=["is_staff"])
    client.force_login(approver_user)
    for bad in ADMIN_DATES:
        response = client.get("/admin/", {"as_of": bad})
        assert response.status_code == 400, bad
        assert "Write the date as YYYY-MM-DD" in response.content.decode()
    assert client.get("/admin/", {"as_of": ""}).status_code == 200
    # Every change list's date drill-down, with years and days Python cannot reach.
    failures = []
    for model, model_admin in admin.site._registry.items():
        field = model_admin.date_hierarchy
        if not field:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for query in [
            {f"{field}__year": "9999"},
            {f"{field}__year": "9999", f"{field}__month": "12"},
            {f"{field}__year": "9999", f"{field}__month": "12", f"{field}__day": "31"},
            {f"{field}__year": "10000"},
            {f"{field}__year": "0"},
            {f"{field}__year": "2025", f"{field}__month": "2", f"{field}__day": "30"},
            {f"{field}__year": "-1"},
        ]:
            status = client.get(url, query).status_code
            if status >= 500:
                failures.append((url, query, status))
    assert failures == []


@pytest.mark.django_db
def test_the_admin_forms_refuse_dates_outside_the_books_on_their_field(
    running_loan,  # noqa: F811
):
    from holdings.admin.forms.loans import LoanEventRecordForm
    from holdings.admin.forms.reconciliation import ReconcileForm
    from holdings.admin.forms.treasury import SaleRecordForm, TransferRecordForm

    far = {
        "on": "9999-12-31",
        "sold_at": "9999-12-31T00:00:00Z",
        "sent_at": beyond() + "T00:00:00Z",
    }
    for form_class, field in [
        (LoanEventRecordForm, "on"),
        (SaleRecordForm, "sold_at"),
        (TransferRecordForm, "sent_at"),
    ]:
        form = form_class(data={field: far[field]})
        assert not form.is_valid()
        assert field in form.errors, (form_class, form.errors)
    form = ReconcileForm(data={"as_of": "9999-12-31"})
    assert not form.is_valid() and "as_of" in form.errors


# --- files: prices and pool files ----------------------------------------------------------


@pytest.mark.parametrize(
    "when", ["9999-12-31T00:00:00Z", "2099-01-01T00:00:00Z", "2008-12-31T00:00:00Z"]
)
def test_a_price_file_dated_outside_the_books_is_refused_naming_row_and_field(when):
    from holdings.importers.prices import parse_prices
    from holdings.importers.records import ImportFileError

    content = f"timestamp,base,quote,price,source\n{when},BTC,USD,95000,desk\n".encode()
    with pytest.raises(ImportFileError) as caught:
        parse_prices(content, file_name="prices.csv")
    error = caught.value
    assert (error.file_name, error.row, error.field) == ("prices.csv", 2, "timestamp")


@pytest.mark.django_db
@pytest.mark.parametrize("day", [date(2099, 1, 1), date(9999, 12, 30), date(2008, 12, 31)])
def test_a_pool_file_with_days_outside_the_books_fails_naming_the_field(world, day):
    from holdings.models import ProductionRecord
    from tests.holdings.conftest import f2pool_file, run_import

    batch = run_import("f2pool", f2pool_file(earnings=[(day, "0.5")]), file_name="far.json")
    assert batch.status == "failed"
    error = batch.errors[0]
    assert error["file"] == "far.json" and error["field"].endswith("mining_date"), error
    assert ProductionRecord.objects.count() == 0


@pytest.mark.parametrize(
    "arguments",
    [
        ["remeasure", "--date", "9999-12-31"],
        ["remeasure", "--date", "0001-01-01"],
        ["reconcile", "--date", "9999-12-31"],
        ["reconcile", "--date", "0001-01-01"],
        ["close_site_costs", "9999-12"],
        ["close_site_costs", "0001-01"],
    ],
)
def test_the_commands_refuse_dates_outside_the_books_and_write_nothing(chart, arguments):
    with pytest.raises(CommandError, match=r"(as_of|month) .*(after|before)"):
        call_command(*arguments)
    assert not ReconciliationRun.objects.exists() and not JournalEntry.objects.exists()
