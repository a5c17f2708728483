"""What PostgreSQL refuses of a fixed asset's depreciation, impairment or disposal whose entry
does not post what the event makes of it. A writer gone wrong is played by the service with
the entry's postings altered on their way to the journal."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError

from holdings import chart, migrations
from holdings.models import AssetEvent
from holdings.selectors import cost_integrity
from holdings.services import fixed_assets
from ledger import services as ledger_services
from tests.holdings.database.test_deposits_and_receipts import postings_written_as
from tests.holdings.database.test_disposal_records import behind_the_triggers
from tests.holdings.database.test_rules import execute
from tests.holdings.services.test_fixed_assets import machines
from tests.holdings.services.test_fixed_assets import site as site  # the fixture

pytestmark = pytest.mark.django_db
D = Decimal


def in_service(site):
    return machines("M-1", "36000.00", date(2025, 1, 1), site)


def test_a_months_depreciation_is_what_its_entry_charges(site, monkeypatch):
    asset = in_service(site)
    postings_written_as(monkeypatch, lambda lines: [(c, v * 10) for c, v in lines])
    with pytest.raises(
        IntegrityError,
        match=r"holdings_asset_event_matches_its_entry: the depreciation of asset M-1 of "
        r"2025-01-31 \(1000\.00 USD\) makes -1000\.00 USD of account 1690, but its entry #\d+ of "
        r"2025-01-31 posts -10000\.00 at -10000\.00\n",
    ):
        fixed_assets.depreciation_run(through=date(2025, 1, 31))
    assert not AssetEvent.objects.filter(asset=asset, kind="depreciation").exists()


def test_an_impairments_loss_is_charged_to_its_site(site, approver_user, monkeypatch):
    asset = in_service(site)
    fixed_assets.depreciation_run(through=date(2025, 6, 30))
    postings_written_as(
        monkeypatch,
        lambda lines: [("5400-SITE-A" if c.startswith("5500-") else c, v) for c, v in lines],
    )
    with pytest.raises(
        IntegrityError,
        match=r"the impairment of asset M-1 of 2025-06-30 \(15000\.00 USD\) makes 0 USD of account "
        r"5400-SITE-A, but its entry #\d+ of 2025-06-30 posts 15000\.00 at 15000\.00\n",
    ):
        fixed_assets.asset_impair(
            asset=asset,
            on=date(2025, 6, 30),
            fair_value=D("15000.00"),
            evidence="broker quotes",
            by=approver_user,
        )


def test_a_disposals_loss_is_not_booked_as_a_gain(site, monkeypatch):
    asset = in_service(site)
    fixed_assets.depreciation_run(through=date(2025, 4, 30))
    turned = {chart.DISPOSAL_GAIN: -1, chart.CASH: 1}

    def as_gain(lines):
        # The loss of 2,000.00 booked as a gain, the cash made up to balance.
        gain = next(v for c, v in lines if c == chart.DISPOSAL_GAIN)
        return [(c, v - 2 * gain * turned[c] if c in turned else v) for c, v in lines]

    postings_written_as(monkeypatch, as_gain)
    with pytest.raises(
        IntegrityError,
        match=r"the disposal of asset M-1 of 2025-04-30 \(-2000\.00 USD\) makes 30000\.00 USD of "
        r"account 1000, but its entry #\d+ of 2025-04-30 posts 26000\.00 at 26000\.00\n",
    ):
        fixed_assets.asset_dispose(asset=asset, on=date(2025, 4, 30), proceeds=D("30000.00"))


def test_asset_events_as_the_service_writes_them_pass(site, approver_user):
    asset = in_service(site)
    fixed_assets.depreciation_run(through=date(2025, 6, 30))
    fixed_assets.asset_impair(
        asset=asset,
        on=date(2025, 6, 30),
        fair_value=D("15000.00"),
        evidence="broker quotes",
        by=approver_user,
    )
    fixed_assets.depreciation_run(through=date(2025, 7, 31))
    fixed_assets.asset_dispose(asset=asset, on=date(2025, 8, 16), proceeds=D("20000.00"))
    # Seven months' depreciation, half of August's, the impairment and the disposal.
    assert AssetEvent.objects.filter(entry__isnull=False).count() == 10


def test_the_nightly_check_names_an_event_off_its_entry(site):
    asset = in_service(site)
    fixed_assets.depreciation_run(through=date(2025, 2, 28))
    assert [f.status for f in cost_integrity.cost_document_entries()] == ["matched"]
    january = AssetEvent.objects.get(asset=asset, month=date(2025, 1, 1))
    behind_the_triggers(f"UPDATE holdings_assetevent SET amount = 100.00 WHERE id = {january.pk}")
    sequence = january.entry.sequence
    assert [(f.subject, f.message) for f in cost_integrity.cost_document_entries()] == [
        (
            "M-1",
            f"the depreciation of asset M-1 of 2025-01-31 makes -100.00 USD of account 1690, but "
            f"its entry #{sequence} posts -1000.00 at -1000.00",
        ),
        (
            "M-1",
            f"the depreciation of asset M-1 of 2025-01-31 makes 100.00 USD of account "
            f"5400-SITE-A, but its entry #{sequence} posts 1000.00 at 1000.00",
        ),
    ]


def test_the_rule_reads_the_charts_own_codes():
    name = "0052_asset_events_match_their_entries.sql"
    sql = Path(migrations.__file__).with_name(name).read_text()
    body = sql[sql.index("CREATE FUNCTION") :]
    assert set(re.findall(r"'(\d{4})-?'", body)) == {
        chart.IMPAIRMENT,
        chart.CASH,
        chart.DISPOSAL_GAIN,
    }


@pytest.mark.parametrize(
    ("kind", "entry"), [("depreciation", None), ("in_service", "the first depreciation's")]
)
def test_an_event_is_posted_by_an_entry_only_when_it_books_something(site, kind, entry):
    asset = in_service(site)
    fixed_assets.depreciation_run(through=date(2025, 1, 31))
    posted = AssetEvent.objects.get(asset=asset, kind="depreciation").entry_id
    with pytest.raises(IntegrityError, match="holdings_asset_event_posted_by_kind"):
        execute(
            "INSERT INTO holdings_assetevent (asset_id, kind, effective_date, month, amount, "
            "accumulated, carrying_value, proceeds, evidence, entry_id, created_at) VALUES "
            f"({asset.pk}, '{kind}', '2025-02-28', '2025-02-01', 1000.00, 0, 0, 0, '', "
            f"{'NULL' if entry is None else posted}, now())"
        )


def test_an_asset_not_in_service_is_not_depreciated(site):
    """Raw SQL only: the service depreciates assets in service alone."""
    asset = fixed_assets.asset_receive(
        code="M-2", asset_class="ASIC", cost=D("36000.00"), received_on=date(2025, 1, 1)
    )
    entry = ledger_services.entry_post(
        effective_date=date(2025, 1, 31),
        memo="Depreciation of M-2 for 2025-01",
        postings=[("5400", D("1000.00"), D("1000.00")), ("1690", D("-1000.00"), D("-1000.00"))],
        kind="depreciation",
    )
    with pytest.raises(
        IntegrityError,
        match=r"holdings_asset_event_at_a_site: the depreciation of asset M-2 of 2025-01-31 is "
        r"charged to its site, but asset M-2 is at no site \(place it in service first\)",
    ):
        execute(
            "INSERT INTO holdings_assetevent (asset_id, kind, effective_date, month, amount, "
            "accumulated, carrying_value, proceeds, evidence, entry_id, created_at) VALUES "
            f"({asset.pk}, 'depreciation', '2025-01-31', '2025-01-01', 1000.00, 0, 0, 0, '', "
            f"{entry.pk}, now())"
        )
