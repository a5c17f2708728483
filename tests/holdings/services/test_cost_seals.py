"""The cost documents sealed with the journal (site costs, vendor deposits, fixed assets,
their events, HPC revenue) and held against the journal by the nightly internal check
(accrued liabilities, deposits, the register, HPC revenue, meter readings).

Tampering is done as a database superuser could: with the triggers off, inside the test's
transaction."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from holdings.models import (
    AssetEvent,
    FixedAsset,
    HpcRevenue,
    ItemStatus,
    MeterReading,
    SiteCost,
    VendorDeposit,
)
from holdings.selectors import seals
from holdings.selectors.integrity import check_internal
from holdings.selectors.reconciliation import Context
from holdings.services import costs, fixed_assets, hpc, setup
from ledger import selectors, services
from tests.holdings.services.test_seals import as_committed, first_break, tamper

pytestmark = pytest.mark.django_db
D = Decimal
AS_OF = date(2025, 9, 30)
HEADER = (
    "site,kind,vendor,reference,period_start,period_end,kwh,energy,demand,taxes,credits,"
    "amount,hosting_basis,description,paid\n"
)


@pytest.fixture
def cost_books(chart):
    services.entry_post(
        effective_date=date(2025, 1, 1),
        memo="Capital",
        postings=[("1000", D("900000.00"), D("900000.00")), ("3000", -D("900000"), -D("900000"))],
    )
    site = setup.site_create(code="SITE-H", name="H", region="NA", deployed_hashrate_hs="1")
    costs.site_costs_import(
        content=(
            HEADER
            + "SITE-H,power,Grid,P-7,2025-07-01,2025-07-31,,31000.00,,,,,,,\n"
            + "SITE-H,hosting,Host,H-7,2025-07-01,2025-07-31,,,,,,3100.00,fixed,,\n"
        ).encode(),
        file_name="july.csv",
    )
    costs.site_costs_accrue(month=date(2025, 8, 1))  # August: no invoice yet
    costs.site_costs_import(
        content=(
            HEADER + "SITE-H,power,Grid,P-8,2025-08-01,2025-08-31,,30000.00,,,,,,,\n"
        ).encode(),
        file_name="august.csv",
    )
    costs.meter_readings_import(
        content=b"site,period_start,period_end,kwh,hpc_kwh\nSITE-H,2025-07-01,2025-07-31,1000000,100000\n",
        file_name="meters.csv",
    )
    deposit = fixed_assets.vendor_deposit_record(
        vendor="Bitmain", reference="DEP-1", amount=D("5000.00"), paid_on=date(2025, 6, 1)
    )
    asset = fixed_assets.asset_receive(
        code="M-1",
        asset_class="ASIC",
        cost=D("36000.00"),
        received_on=date(2025, 7, 1),
        deposit=deposit,
        deposit_applied=D("3000.00"),
    )
    fixed_assets.asset_place_in_service(asset=asset, site=site, on=date(2025, 7, 1))
    fixed_assets.depreciation_run(through=date(2025, 8, 31))
    hpc.hpc_contract_create(
        code="HPC-1",
        customer="Compute Co",
        site=site,
        capacity_mw=D("1"),
        monthly_fee=D("31000.00"),
        usage_rate=D("0.10"),
        start=date(2025, 7, 1),
        term_months=12,
    )
    hpc.hpc_revenue_recognize(month=date(2025, 7, 1))
    return site


@pytest.fixture
def sealed_costs(cost_books):
    as_committed()
    services.journal_seal(chains=True)
    return cost_books


def sealed_keys() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_hashes FROM holdings_subledgerseal")
        return {key for (row,) in cursor.fetchall() for key in json.loads(row)}


def test_the_cost_documents_are_sealed_with_their_entries(sealed_costs):
    keys = sealed_keys()
    expected = (
        {f"site_cost:{pk}" for pk in SiteCost.objects.values_list("pk", flat=True)}
        | {f"vendor_deposit:{pk}" for pk in VendorDeposit.objects.values_list("pk", flat=True)}
        | {f"fixed_asset:{pk}" for pk in FixedAsset.objects.values_list("pk", flat=True)}
        | {
            f"asset_event:{pk}"
            for pk in AssetEvent.objects.filter(entry__isnull=False).values_list("pk", flat=True)
        }
        | {f"hpc_revenue:{pk}" for pk in HpcRevenue.objects.values_list("pk", flat=True)}
    )
    # Three invoices and two accruals (August's power and hosting), a deposit, a receipt,
    # two months' depreciation, a month's HPC revenue.
    assert len(expected) == 5 + 1 + 1 + 2 + 1
    assert expected <= keys
    report = selectors.journal_verify(chains=True)
    assert report.ok, report.first_break


@pytest.mark.parametrize(
    ("table", "model", "change", "reason"),
    [
        ("holdings_sitecost", SiteCost, "vendor = 'Other'", "site_cost_altered"),
        ("holdings_vendordeposit", VendorDeposit, "amount = amount + 1", "vendor_deposit_altered"),
        ("holdings_fixedasset", FixedAsset, "cost = cost + 1", "fixed_asset_altered"),
        ("holdings_hpcrevenue", HpcRevenue, "usage_kwh = usage_kwh + 1", "hpc_revenue_altered"),
    ],
)
def test_a_cost_document_altered_or_deleted_is_found(sealed_costs, table, model, change, reason):
    row = model.objects.order_by("id").first()
    tamper(f"UPDATE {table} SET {change} WHERE id = %s", [row.pk])
    found = first_break()
    assert (found.chain, found.reason, found.record_id) == ("subledgers", reason, row.pk)
    assert found.reason in seals.REASONS


def test_an_asset_event_altered_is_found_but_its_service_may_change(sealed_costs):
    event = AssetEvent.objects.filter(entry__isnull=False).order_by("id").first()
    # Where and how long the asset works is its events', not its receipt's: not sealed.
    tamper("UPDATE holdings_fixedasset SET disposed_on = '2025-09-01'")
    assert selectors.journal_verify(chains=True).ok
    tamper("DELETE FROM holdings_assetevent WHERE id = %s", [event.pk])
    found = first_break()
    assert (found.reason, found.record, found.record_id) == (
        "row_removed",
        "asset_event",
        event.pk,
    )


def test_seals_written_before_the_cost_kinds_were_sealed_stay_true(cost_books, monkeypatch):
    as_committed()
    older = tuple(s for s in seals.SUBLEDGERS if s.record in {"lot", "lot_movement"})
    monkeypatch.setattr(seals, "SUBLEDGERS", older)
    services.journal_seal(chains=True)
    monkeypatch.undo()
    # Read with every kind, those seals lack the cost rows...
    assert first_break().reason == "row_added"
    head, _ = seals.chain_head()
    tamper("UPDATE holdings_subledgercoverage SET after_sequence = %s", [head])
    # ...but the kinds are sealed only after them.
    assert selectors.journal_verify(chains=True).ok
    fixed_assets.depreciation_run(through=date(2025, 9, 30))
    as_committed()
    services.journal_seal(chains=True)
    assert "asset_event:" in " ".join(sealed_keys())
    september = AssetEvent.objects.filter(month=date(2025, 9, 1)).get()
    tamper("UPDATE holdings_assetevent SET amount = 1 WHERE id = %s", [september.pk])
    assert (first_break().reason, first_break().record_id) == (
        "asset_event_altered",
        september.pk,
    )


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE holdings_subledgercoverage SET after_sequence = 1",
        "DELETE FROM holdings_subledgercoverage",
        "TRUNCATE holdings_subledgercoverage",
        "UPDATE holdings_hpcrevenue SET amount = amount",
        "DELETE FROM holdings_hpcrevenue",
    ],
)
def test_the_coverage_and_hpc_revenue_are_kept_as_written(cost_books, sql):
    with (
        pytest.raises(IntegrityError),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)


# --- the nightly internal check -------------------------------------------------------------


def cost_checks(as_of: date = AS_OF) -> list:
    context = Context(as_of=as_of, chain=None, chain_error=None)
    return [
        f
        for f in check_internal(context)
        if f.check
        in {
            "cost_subledgers",
            "accrued_site_costs",
            "vendor_deposits",
            "fixed_assets",
            "hpc_revenue",
            "meter_readings",
        }
    ]


def test_the_cost_documents_equal_the_journal(cost_books):
    (finding,) = cost_checks()
    assert finding.status == ItemStatus.MATCHED and finding.check == "cost_subledgers"
    assert "accrued power and hosting (2200)" in finding.message
    assert "vendor deposits (1500) at the end of 2025-09-30: ledger 2000.00 USD" in finding.message
    # At the end of August the accrual stands: the August invoice reversed it on the 31st.
    assert cost_checks(date(2025, 8, 30))[0].status == ItemStatus.MATCHED


def test_a_posting_past_the_documents_is_named(cost_books):
    services.entry_post(
        effective_date=date(2025, 9, 1),
        memo="Straight to the accrual",
        postings=[("2200-SITE-H", -D("10.00"), -D("10.00")), ("5030", D("10.00"), D("10.00"))],
    )
    services.entry_post(
        effective_date=date(2025, 9, 1),
        memo="Straight to the register",
        postings=[("1690", -D("5.00"), -D("5.00")), ("5400", D("5.00"), D("5.00"))],
    )
    found = {f.subject: f for f in cost_checks()}
    assert set(found) == {"2200", "1690"}
    assert found["2200"].status == ItemStatus.UNMATCHED and found["2200"].difference == -10
    assert found["1690"].details == {"asset_class": "ASIC"}


def test_meter_readings_against_their_file_and_the_hpc_revenue(cost_books):
    reading = MeterReading.objects.get()
    tamper("UPDATE holdings_meterreading SET hpc_kwh = 50000 WHERE id = %s", [reading.pk])
    (found,) = cost_checks()
    assert (found.check, found.subject) == ("meter_readings", "SITE-H 2025-07")
    assert "used 100000.000 kWh" in found.message and "hold 50000.000 kWh" in found.message
    tamper("DELETE FROM holdings_meterreading WHERE id = %s", [reading.pk])
    subjects = {f.subject for f in cost_checks()}
    assert subjects == {f"file {reading.file_id}", "SITE-H 2025-07"}
