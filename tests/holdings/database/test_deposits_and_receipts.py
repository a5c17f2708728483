"""What PostgreSQL refuses of a vendor deposit or a fixed asset's receipt whose entry does not
post what the document makes of it. A writer gone wrong is played by the service with the
entry's postings altered on their way to the journal."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError

from holdings import chart, migrations
from holdings.models import AssetClass, FixedAsset, VendorDeposit
from holdings.selectors import cost_integrity
from holdings.services import fixed_assets
from holdings.services.reconciliation import reconcile
from tests.holdings.database.test_disposal_records import behind_the_triggers
from tests.holdings.services.test_fixed_assets import fund

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("chart")]
D = Decimal


def postings_written_as(monkeypatch, change) -> None:
    """Each entry's postings, (code, value) pairs, pass through `change` to the journal."""
    post = fixed_assets._post
    monkeypatch.setattr(
        fixed_assets,
        "_post",
        lambda *, postings, **fields: post(postings=change(postings), **fields),
    )


def deposit(amount: str = "10000.00") -> VendorDeposit:
    return fixed_assets.vendor_deposit_record(
        vendor="Bitmain", reference="DEP-1", amount=D(amount), paid_on=date(2024, 12, 15)
    )


def receive(**fields) -> FixedAsset:
    return fixed_assets.asset_receive(
        code="M-1", asset_class="ASIC", received_on=date(2025, 1, 1), units=100, **fields
    )


def test_a_deposits_entry_pays_its_amount(monkeypatch):
    fund("10000.00")
    postings_written_as(monkeypatch, lambda lines: [(c, v / 10) for c, v in lines])
    with pytest.raises(
        IntegrityError,
        match=r"holdings_deposit_matches_its_entry: deposit DEP-1 of 10000\.00 USD to Bitmain "
        r"makes -10000\.00 USD of account 1000, but its entry #\d+ of 2024-12-15 posts "
        r"-1000\.00 at -1000\.00\n",
    ):
        deposit()
    assert not VendorDeposit.objects.exists()


def test_a_receipts_entry_books_its_cost_to_its_class(monkeypatch):
    """The machines' cost booked as an expense rather than to the class's cost account."""
    postings_written_as(
        monkeypatch, lambda lines: [("5400" if c == "1600" else c, v) for c, v in lines]
    )
    with pytest.raises(
        IntegrityError,
        match=r"holdings_receipt_matches_its_entry: asset M-1 received at a cost of 36000\.00 USD "
        r"\(0\.00 of a deposit applied, the rest owed\) makes 36000\.00 USD of account 1600, but "
        r"its entry #\d+ of 2025-01-01 posts 0 at 0\n",
    ):
        receive(cost=D("36000.00"))


def test_a_receipt_applies_its_deposit(monkeypatch):
    """The deposit left in 1500 while the receipt says it was applied: the vendor owed less."""
    fund("10000.00")
    deposit()
    postings_written_as(
        monkeypatch,
        lambda lines: (
            [(c, v) for c, v in lines if c != chart.VENDOR_DEPOSITS]
            + [(chart.OPENING_EQUITY, D("-10000.00"))]
        ),
    )
    with pytest.raises(
        IntegrityError,
        match=r"asset M-1 received at a cost of 36000\.00 USD \(10000\.00 of a deposit applied, "
        r"the rest owed\) makes -10000\.00 USD of account 1500, but its entry #\d+ of 2025-01-01 "
        r"posts 0 at 0",
    ):
        receive(cost=D("36000.00"), deposit="DEP-1", deposit_applied=D("10000.00"))


def test_a_receipt_paid_in_cash_is_not_owed(monkeypatch):
    fund("36000.00")
    postings_written_as(
        monkeypatch, lambda lines: [("2210" if c == chart.CASH else c, v) for c, v in lines]
    )
    with pytest.raises(
        IntegrityError,
        match=r"asset M-1 .*\(0\.00 of a deposit applied, the rest paid\) makes -36000\.00 USD of "
        r"account 1000, but its entry #\d+ of 2025-01-01 posts 0 at 0",
    ):
        receive(cost=D("36000.00"), paid=True)


def test_deposits_and_receipts_as_the_service_writes_them_pass():
    fund("46000.00")
    deposit()
    receive(cost=D("36000.00"), deposit="DEP-1", deposit_applied=D("4000.00"))
    fixed_assets.asset_receive(
        code="M-2", asset_class="ASIC", cost=D("36000.00"), received_on=date(2025, 1, 1), paid=True
    )
    fixed_assets.asset_receive(
        code="OPEN-1",
        asset_class="ASIC",
        cost=D("36000.00"),
        received_on=date(2025, 6, 30),
        opening=True,
    )
    assert FixedAsset.objects.count() == 3


def test_the_rules_read_the_charts_own_codes():
    name = "0051_deposits_and_receipts_match_their_entries.sql"
    sql = Path(migrations.__file__).with_name(name).read_text()
    body = sql[sql.index("CREATE FUNCTION holdings_deposit") :]
    assert set(re.findall(r"'(\d{4})'", body)) == {
        chart.VENDOR_DEPOSITS,
        chart.CASH,
        chart.VENDOR_PAYABLES,
        chart.OPENING_EQUITY,
    }
    assert AssetClass.objects.get(code="ASIC").cost_account == chart.MACHINES_COST


def test_the_nightly_check_names_a_deposit_or_receipt_off_its_entry():
    """As a ledger of an earlier release may hold them: 0051 was not there to refuse."""
    fund("10000.00")
    deposit()
    asset = receive(cost=D("36000.00"), deposit="DEP-1", deposit_applied=D("10000.00"))
    assert [f.status for f in cost_integrity.cost_document_entries()] == ["matched"]
    behind_the_triggers("UPDATE holdings_vendordeposit SET amount = 12000.00")
    behind_the_triggers(f"UPDATE holdings_fixedasset SET cost = 36500.00 WHERE id = {asset.pk}")

    found = cost_integrity.cost_document_entries()
    deposit_entry = VendorDeposit.objects.get().entry.sequence
    receipt_entry = asset.receipt_entry.sequence
    assert [(f.subject_type, f.subject, f.message) for f in found] == [
        (
            "vendor_deposit",
            "DEP-1",
            f"deposit DEP-1 makes -12000.00 USD of account 1000, but its entry #{deposit_entry} "
            "posts -10000.00 at -10000.00",
        ),
        (
            "vendor_deposit",
            "DEP-1",
            f"deposit DEP-1 makes 12000.00 USD of account 1500, but its entry #{deposit_entry} "
            "posts 10000.00 at 10000.00",
        ),
        (
            "fixed_asset",
            "M-1",
            f"the receipt of asset M-1 makes 36500.00 USD of account 1600, but its entry "
            f"#{receipt_entry} posts 36000.00 at 36000.00",
        ),
        (
            "fixed_asset",
            "M-1",
            f"the receipt of asset M-1 makes -26500.00 USD of account 2210, but its entry "
            f"#{receipt_entry} posts -26000.00 at -26000.00",
        ),
    ]
    [run] = reconcile(as_of=date(2025, 1, 31), kinds=["internal"])
    assert run.items.filter(checked="cost_document_entries", status="unmatched").count() == 4
