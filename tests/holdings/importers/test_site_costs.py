"""Invoices and meter readings read from CSV: the documented shape, every bad field of every
row named by file, row and field, nothing half-read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from holdings.importers.site_costs import CostFileError, parse_invoices, parse_meter_readings

D = Decimal

INVOICES = (
    b"site,kind,vendor,reference,period_start,period_end,kwh,energy,demand,taxes,credits,"
    b"amount,hosting_basis,description,paid\n"
    b"US-TX-01,power,Oncor,P-2025-07,2025-07-01,2025-07-31,4000000.000,"
    b"150000.00,20000.00,5000.00,15000.00,160000.00,,,\n"
    b"US-TX-01,hosting,Host Co,H-7,2025-07-01,2025-07-31,,,,,,30000.00,per_kw,,true\n"
    b"US-TX-02,other,,O-1,2025-07-01,2025-07-31,,,,,,10000.00,,site staff,\n"
)


def test_a_file_of_invoices_is_read_with_every_column():
    power, hosting, other = parse_invoices(INVOICES, file_name="july.csv")
    assert power.row == 2 and power.kind == "power"
    assert (power.energy, power.demand, power.taxes, power.credits) == (
        D("150000.00"),
        D("20000.00"),
        D("5000.00"),
        D("15000.00"),
    )
    assert power.amount == D("160000.00") and power.kwh == D("4000000.000")
    assert power.period_start == date(2025, 7, 1) and power.period_end == date(2025, 7, 31)
    assert not power.paid
    assert hosting.hosting_basis == "per_kw" and hosting.paid and hosting.amount == D("30000.00")
    assert other.description == "site staff" and other.vendor == ""


def test_the_optional_columns_may_be_left_out_and_a_power_total_is_worked_out():
    content = (
        b"site,kind,reference,period_start,period_end,amount,energy\n"
        b"US-TX-01,power,P-1,2025-07-01,2025-07-31,,1000.50\n"
    )
    (line,) = parse_invoices(content, file_name="short.csv")
    assert line.amount == D("1000.50") and line.credits == 0


def test_every_bad_field_of_every_row_is_named_by_file_row_and_field():
    content = (
        b"site,kind,reference,period_start,period_end,amount,energy,credits,hosting_basis\n"
        b"US-TX-01,power,P-1,2025-07-01,2025-07-31,99.00,100.00,2.00,\n"
        b"US-TX-01,cooling,P-2,2025-07-01,2025-07-31,1.00,,,\n"
        b"US-TX-01,hosting,H-1,2025-07-31,2025-07-01,1.001,,,per_day\n"
        b"US-TX-01,other,O-1,2025-07-01,2025-07-31,5.00,3.00,,\n"
    )
    with pytest.raises(CostFileError) as refused:
        parse_invoices(content, file_name="bad.csv")
    found = {(e.row, e.field) for e in refused.value.errors}
    assert found == {
        (2, "amount"),  # 99.00 is not 100.00 - 2.00
        (3, "kind"),
        (4, "period_end"),
        (4, "amount"),  # three decimals
        (4, "hosting_basis"),
        (5, "energy"),  # only power has it
        (5, "description"),  # an other cost says what it is
    }
    assert all(e.file_name == "bad.csv" for e in refused.value.errors)
    assert "bad.csv, row 2, field amount" in str(refused.value)


def test_the_same_invoice_twice_in_a_file_is_refused_naming_both_rows():
    line = b"US-TX-01,hosting,H-1,2025-07-01,2025-07-31,5.00,fixed\n"
    content = b"site,kind,reference,period_start,period_end,amount,hosting_basis\n" + line * 2
    with pytest.raises(CostFileError) as refused:
        parse_invoices(content, file_name="twice.csv")
    (error,) = refused.value.errors
    assert (error.row, error.field) == (3, "reference")
    assert "already at row 2" in error.message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"site,kind\n", "unknown header"),
        (b"site,kind,reference,period_start,period_end,amount\n", "no rows"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_a_file_that_is_not_an_invoice_file_is_refused(content, message):
    with pytest.raises(CostFileError) as refused:
        parse_invoices(content, file_name="x.csv")
    assert message in str(refused.value)


def test_meter_readings_are_read_and_the_hpc_share_checked():
    content = (
        b"site,period_start,period_end,kwh,hpc_kwh\n"
        b"US-TX-01,2025-07-01,2025-07-31,4000000.000,250000.5\n"
        b"US-TX-02,2025-07-01,2025-07-31,1000,\n"
    )
    first, second = parse_meter_readings(content, file_name="meters.csv")
    assert first.hpc_kwh == D("250000.5") and second.hpc_kwh == 0 and second.kwh == 1000
    bad = b"site,period_start,period_end,kwh,hpc_kwh\nUS-TX-01,2025-07-01,2025-07-31,10,11\n"
    with pytest.raises(CostFileError) as refused:
        parse_meter_readings(bad, file_name="meters.csv")
    assert [(e.row, e.field) for e in refused.value.errors] == [(2, "hpc_kwh")]
