"""Site costs posted through the ledger: invoices imported all or nothing, typed ones with
maker-checker, month-end accruals reversed by the invoice, cancellation only through the
document, meter readings."""

from __future__ import annotations

import io
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from holdings.errors import ImportFailed
from holdings.importers.site_costs import parse_invoices
from holdings.models import CostOrigin, CostStatus, MeterReading, SiteCost, SiteCostFile
from holdings.services import costs, setup
from ledger import selectors as ledger_selectors
from ledger import services as ledger_services
from ledger.errors import Forbidden, InvalidState, LedgerError
from ledger.models import JournalEntry

pytestmark = pytest.mark.django_db
D = Decimal

HEADER = (
    b"site,kind,vendor,reference,period_start,period_end,kwh,energy,demand,taxes,credits,"
    b"amount,hosting_basis,description,paid\n"
)
JULY = HEADER + (
    b"SITE-A,power,Grid Co,P-07,2025-07-01,2025-07-31,4000000,"
    b"150000.00,20000.00,5000.00,15000.00,,,,\n"
    b"SITE-A,hosting,Host Co,H-07,2025-07-01,2025-07-31,,,,,,30000.00,per_kw,,\n"
    b"SITE-B,other,,O-07,2025-07-01,2025-07-31,,,,,,10000.00,,site staff,\n"
)


@pytest.fixture
def sites(chart):
    for code in ("SITE-A", "SITE-B"):
        setup.site_create(code=code, name=code, region="North America", deployed_hashrate_hs="1000")


def balance(code: str, as_of: date = date(2025, 12, 31)) -> Decimal:
    return ledger_selectors.account_balance(account=code, as_of=as_of).value


def moved(code: str, start: date, end: date) -> Decimal:
    return balance(code, end) - balance(code, date.fromordinal(start.toordinal() - 1))


def test_a_file_of_invoices_is_posted_by_site(sites, staff_user):
    record, created = costs.site_costs_import(content=JULY, file_name="july.csv", by=staff_user)
    assert created and record.rows == 3
    assert balance("5000-SITE-A") == D("175000.00")  # energy, demand and taxes
    assert balance("5010-SITE-A") == D("-15000.00")  # the credits apart
    assert balance("5020-SITE-A") == D("30000.00")
    assert balance("5030-SITE-B") == D("10000.00")
    assert balance("2210") == D("-200000.00")
    power = SiteCost.objects.get(reference="P-07")
    assert power.status == CostStatus.POSTED and power.origin == CostOrigin.FILE
    assert power.entry.effective_date == date(2025, 7, 31) and power.entry.kind == "site_cost"
    assert (power.file, power.row) == (record, 2)
    # The same file again posts nothing.
    again, created = costs.site_costs_import(content=JULY, file_name="july.csv")
    assert again == record and not created
    assert JournalEntry.objects.filter(kind="site_cost").count() == 3


def test_one_bad_row_refuses_the_file_and_nothing_is_written(sites):
    content = JULY + b"SITE-X,hosting,,H-1,2025-07-01,2025-07-31,,,,,,5.00,fixed,,\n"
    with pytest.raises(ImportFailed) as refused:
        costs.site_costs_import(content=content, file_name="july.csv")
    assert refused.value.errors == [
        {"file": "july.csv", "row": 5, "field": "site", "message": "no site 'SITE-X'"}
    ]
    assert not SiteCost.objects.exists() and not JournalEntry.objects.exists()
    with pytest.raises(ImportFailed) as refused:
        costs.site_costs_import(
            content=HEADER + b"SITE-A,power,,P,2025-07-01,x,,,,,,,,,\n", file_name="y.csv"
        )
    assert {(e["row"], e["field"]) for e in refused.value.errors} == {
        (2, "period_end"),
        (2, "energy"),
    }


def test_an_invoice_already_recorded_is_refused_naming_its_row(sites):
    costs.site_costs_import(content=JULY, file_name="july.csv")
    other_file = HEADER + b"SITE-A,hosting,Host Co,H-07,2025-07-01,2025-07-31,,,,,,1.00,fixed,,\n"
    with pytest.raises(ImportFailed) as refused:
        costs.site_costs_import(content=other_file, file_name="again.csv")
    (error,) = refused.value.errors
    assert (error["row"], error["field"]) == (2, "reference")
    assert "already recorded" in error["message"]


def test_an_invoice_paid_in_cash_needs_the_cash(sites):
    paid = HEADER + b"SITE-A,hosting,Host Co,H-1,2025-07-01,2025-07-31,,,,,,100.00,fixed,,true\n"
    with pytest.raises(ImportFailed) as refused:
        costs.site_costs_import(content=paid, file_name="paid.csv")
    assert refused.value.errors[0]["row"] == 2
    assert not SiteCost.objects.exists()
    ledger_services.entry_post(
        effective_date=date(2025, 7, 1),
        memo="Capital",
        postings=[("1000", D("500.00"), D("500.00")), ("3000", D("-500.00"), D("-500.00"))],
    )
    costs.site_costs_import(content=paid, file_name="paid.csv")
    assert balance("1000") == D("400.00") and balance("2210") == 0


def test_a_month_end_accrual_is_reversed_when_the_invoice_arrives(sites, staff_user):
    costs.site_costs_import(content=JULY, file_name="july.csv")
    accruals = costs.site_costs_accrue(month=date(2025, 8, 1))
    # SITE-A's power and hosting, from July's invoices day for day (31 days of 31); the
    # other cost of SITE-B is not accrued.
    assert sorted((a.site.code, a.kind, a.amount) for a in accruals) == [
        ("SITE-A", "hosting", D("30000.00")),
        ("SITE-A", "power", D("160000.00")),
    ]
    assert costs.site_costs_accrue(month=date(2025, 8, 1)) == []  # nothing twice
    assert balance("2200-SITE-A", date(2025, 8, 31)) == D("-190000.00")
    assert moved("5000-SITE-A", date(2025, 8, 1), date(2025, 8, 31)) == D("160000.00")
    august = HEADER + (b"SITE-A,power,Grid Co,P-08,2025-08-01,2025-08-31,,150000.00,,,,,,,\n")
    costs.site_costs_import(content=august, file_name="august.csv")
    invoice = SiteCost.objects.get(reference="P-08")
    assert invoice.reverses is not None and invoice.reverses.kind == "power"
    # The accrual reversed in the invoice's own entry: August's power is the invoice's.
    assert moved("5000-SITE-A", date(2025, 8, 1), date(2025, 8, 31)) == D("150000.00")
    assert balance("2200-SITE-A", date(2025, 8, 31)) == D("-30000.00")  # hosting still accrued
    # A shorter invoice period accrues per day: 15 days of hosting for 30 days of September.
    half = HEADER + b"SITE-B,hosting,Host Co,H-B,2025-08-17,2025-08-31,,,,,,1500.00,per_th,,\n"
    costs.site_costs_import(content=half, file_name="half.csv")
    september = costs.site_costs_accrue(month=date(2025, 9, 1))
    assert {(a.site.code, a.kind): a.amount for a in september}[("SITE-B", "hosting")] == D(
        "3000.00"
    )


def test_an_accrual_is_cancelled_only_after_the_invoice_that_reversed_it(
    sites, staff_user, approver_user
):
    costs.site_costs_import(content=JULY, file_name="july.csv")
    (power, _hosting) = sorted(
        costs.site_costs_accrue(month=date(2025, 8, 1)), key=lambda a: a.kind != "power"
    )
    august = HEADER + b"SITE-A,power,Grid Co,P-08,2025-08-01,2025-08-31,,150000.00,,,,,,,\n"
    costs.site_costs_import(content=august, file_name="august.csv")
    invoice = SiteCost.objects.get(reference="P-08")
    with pytest.raises(LedgerError, match="cancel the invoice first"):
        ledger_services.cancellation_request(entry=power.entry, reason="estimate", by=staff_user)
    cancellation, _ = ledger_services.cancellation_request(
        entry=invoice.entry, reason="wrong tariff", by=staff_user
    )
    assert cancellation.document == "power invoice P-08 of SITE-A"
    ledger_services.cancellation_approve(cancellation=cancellation, by=approver_user)
    assert balance("2200-SITE-A", date(2025, 8, 31)) == D("-190000.00")  # accrued again
    # The accrual stands open again: the corrected invoice reverses it.
    corrected = HEADER + b"SITE-A,power,Grid Co,P-08b,2025-08-01,2025-08-31,,149000.00,,,,,,,\n"
    costs.site_costs_import(content=corrected, file_name="corrected.csv")
    assert SiteCost.objects.get(reference="P-08b").reverses == power
    assert moved("5000-SITE-A", date(2025, 8, 1), date(2025, 8, 31)) == D("149000.00")


def _typed(reference: str = "T-1", month: str = "2025-07") -> object:
    content = (
        HEADER
        + (
            f"SITE-A,hosting,Host Co,{reference},{month}-01,{month}-31,,,,,,800.00,fixed,,\n"
        ).encode()
    )
    (line,) = parse_invoices(content, file_name="typed invoice")
    return line


def test_a_typed_invoice_is_posted_when_another_person_approves_it(
    sites, staff_user, approver_user, second_approver
):
    cost = costs.site_cost_submit(line=_typed(), by=staff_user)
    assert cost.status == CostStatus.SUBMITTED and cost.entry is None
    assert not JournalEntry.objects.exists()
    with pytest.raises(Forbidden):
        costs.site_cost_approve(cost=cost, by=staff_user)  # not an approver
    mine = costs.site_cost_submit(line=_typed("T-2"), by=approver_user)
    with pytest.raises(Forbidden, match="typed"):
        costs.site_cost_approve(cost=mine, by=approver_user)
    posted = costs.site_cost_approve(cost=cost, by=approver_user)
    assert posted.status == CostStatus.POSTED and posted.decided_by == approver_user
    assert posted.entry.approved_by == approver_user and posted.entry.created_by == staff_user
    assert balance("5020-SITE-A") == D("800.00")
    with pytest.raises(InvalidState):
        costs.site_cost_approve(cost=cost, by=second_approver)
    with pytest.raises(LedgerError, match="reason"):
        costs.site_cost_reject(cost=mine, by=second_approver, reason=" ")
    rejected = costs.site_cost_reject(cost=mine, by=second_approver, reason="duplicate")
    assert rejected.status == CostStatus.REJECTED
    # A rejected invoice's number may be typed again.
    assert costs.site_cost_submit(line=_typed("T-2"), by=staff_user).status == "submitted"


def test_a_typed_invoice_is_refused_at_once_where_its_approval_would_be(
    sites, staff_user, approver_user
):
    """Refused when typed, naming its field, as the same row of a file is: a month already
    closed (period_end), paid from cash the books do not hold (amount). It used to wait
    for an approval that could only fail."""
    paid = HEADER + b"SITE-A,hosting,Host Co,H-1,2025-08-01,2025-08-31,,,,,,100.00,fixed,,true\n"
    with pytest.raises(ImportFailed) as filed:
        costs.site_costs_import(content=paid, file_name="paid.csv")
    assert filed.value.errors[0]["field"] == "amount"
    (line,) = parse_invoices(paid, file_name="typed invoice")
    with pytest.raises(LedgerError) as typed:
        costs.site_cost_submit(line=line, by=staff_user)
    assert (typed.value.code, typed.value.field) == ("insufficient_balance", "amount")

    ledger_services.period_close(through=date(2025, 7, 31), by=approver_user)
    with pytest.raises(ImportFailed) as filed:
        costs.site_costs_import(content=JULY, file_name="july.csv")
    assert filed.value.errors[0]["field"] == "period_end"
    with pytest.raises(LedgerError) as typed:
        costs.site_cost_submit(line=_typed(), by=staff_user)  # July's hosting
    assert (typed.value.code, typed.value.field) == ("closed_period", "period_end")
    assert not SiteCost.objects.exists() and not JournalEntry.objects.exists()


def test_each_accrual_is_reversed_by_one_invoice_filed_or_typed(sites, staff_user, approver_user):
    costs.site_costs_import(content=JULY, file_name="july.csv")
    costs.site_costs_accrue(month=date(2025, 8, 1))  # SITE-A's power and hosting
    power, hosting = (
        SiteCost.objects.get(origin=CostOrigin.ACCRUAL, kind=kind) for kind in ("power", "hosting")
    )
    august = HEADER + (
        b"SITE-A,power,Grid Co,P-08,2025-08-01,2025-08-31,,150000.00,,,,,,,\n"
        b"SITE-A,power,Grid Co,P-08B,2025-08-01,2025-08-31,,1000.00,,,,,,,\n"
    )
    costs.site_costs_import(content=august, file_name="august.csv")
    # The file's first power invoice of the month reverses the accrual; the second, none.
    filed = [SiteCost.objects.get(reference=ref).reverses for ref in ("P-08", "P-08B")]
    assert filed == [power, None]
    # A typed invoice takes the hosting accrual when it is approved; a second one, none.
    typed = [
        costs.site_cost_submit(line=_typed(ref, month="2025-08"), by=staff_user)
        for ref in ("H-08", "H-08B")
    ]
    assert [cost.reverses for cost in typed] == [None, None]
    approved = [costs.site_cost_approve(cost=cost, by=approver_user) for cost in typed]
    assert [cost.reverses for cost in approved] == [hosting, None]
    assert balance("2200-SITE-A", date(2025, 8, 31)) == 0
    with pytest.raises(costs.CostRefused, match="H-08 of site SITE-A from Host Co is already"):
        costs.site_cost_submit(line=_typed("H-08", month="2025-08"), by=staff_user)


def test_meter_readings_are_recorded_once_and_an_overlap_refused(sites):
    content = (
        b"site,period_start,period_end,kwh,hpc_kwh\n"
        b"SITE-A,2025-07-01,2025-07-31,4000000,100000\n"
        b"SITE-B,2025-07-01,2025-07-31,1000000,\n"
    )
    _record, created = costs.meter_readings_import(content=content, file_name="meters.csv")
    assert created and MeterReading.objects.count() == 2
    overlap = b"site,period_start,period_end,kwh\nSITE-A,2025-07-15,2025-08-14,5\n"
    with pytest.raises(ImportFailed) as refused:
        costs.meter_readings_import(content=overlap, file_name="overlap.csv")
    assert refused.value.errors[0]["field"] == "period_start"
    assert MeterReading.objects.count() == 2


def test_the_commands_import_files_and_close_a_month(sites, tmp_path):
    july = tmp_path / "july.csv"
    july.write_bytes(JULY)
    out = io.StringIO()
    call_command("import_site_costs", str(july), stdout=out)
    call_command("import_site_costs", str(july), stdout=out)
    pk = SiteCostFile.objects.get().pk
    assert out.getvalue().splitlines() == [
        f"july.csv: 3 row(s) recorded (file {pk})",
        f"july.csv: already imported (file {pk})",
    ]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(HEADER + b"SITE-Z,hosting,,H,2025-07-01,2025-07-31,,,,,,1.00,fixed,,\n")
    with pytest.raises(CommandError, match="row 2, field site: no site 'SITE-Z'"):
        call_command("import_site_costs", str(bad))
    meters = tmp_path / "meters.csv"
    meters.write_bytes(b"site,period_start,period_end,kwh\nSITE-A,2025-07-01,2025-07-31,10\n")
    call_command("import_site_costs", "--meter-readings", str(meters), stdout=out)
    assert MeterReading.objects.count() == 1
    out = io.StringIO()
    call_command("close_site_costs", "2025-08", stdout=out)
    assert out.getvalue().strip() == (
        "2025-08: 2 accrual(s), 0 depreciation entries, 0 HPC revenue entries"
    )
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("close_site_costs", "August")


@pytest.mark.django_db(transaction=True)
def test_two_files_with_the_same_invoice_at_once_post_it_once(sites):
    outcomes: list[object] = []
    line = b"SITE-A,hosting,Host Co,H-1,2025-07-01,2025-07-31,,,,,,100.00,fixed,,\n"

    def load(n: int) -> None:
        try:
            extra = f"SITE-B,other,,O-{n},2025-07-01,2025-07-31,,,,,,1.00,,staff,\n".encode()
            outcomes.append(
                costs.site_costs_import(content=HEADER + line + extra, file_name=f"{n}.csv")
            )
        except ImportFailed as error:
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=load, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(o).__name__ for o in outcomes) == ["ImportFailed", "tuple"]
    assert SiteCost.objects.filter(reference="H-1").count() == 1
    assert balance("5020-SITE-A") == D("100.00")


def test_an_invoice_of_a_closed_month_is_refused_naming_its_row(sites, approver_user):
    ledger_services.period_close(through=date(2025, 7, 31), by=approver_user)
    with pytest.raises(ImportFailed) as refused:
        costs.site_costs_import(content=JULY, file_name="july.csv")
    (error,) = refused.value.errors
    assert (error["file"], error["row"], error["field"]) == ("july.csv", 2, "period_end")
    assert "closed" in error["message"]
    assert not SiteCost.objects.exists()


def test_the_sample_files_of_the_readme_import(chart):
    setup.site_create(code="US-TX-01", name="Rockdale", region="NA", deployed_hashrate_hs="1")
    samples = Path(__file__).resolve().parents[3] / "fixtures" / "samples"
    for name, run in (
        ("site_invoices.csv", costs.site_costs_import),
        ("meter_readings.csv", costs.meter_readings_import),
    ):
        record, created = run(content=(samples / name).read_bytes(), file_name=name)
        assert created and record.rows >= 1
    assert balance("5010-US-TX-01") == D("-96500.00")
