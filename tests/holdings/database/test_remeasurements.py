"""What PostgreSQL refuses of a remeasurement that is not what its entry posts. A writer gone
wrong is played by the service with the remeasurement or its postings altered on their way to
the database."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError, connection

from holdings import chart, migrations
from holdings.models import Remeasurement
from holdings.selectors import fair_value as fair_value_selectors
from holdings.selectors.fair_value import RemeasurementBreak
from holdings.services import fair_value, setup
from holdings.services.reconciliation import reconcile
from ledger import services as ledger_services
from ledger.services import PostingInput
from tests.earlier_ledgers import documents_unchecked
from tests.holdings.database.test_disposal_records import at_commit, behind_the_triggers
from tests.holdings.services.test_treasury import OPENING

D = Decimal


def remeasured_as(monkeypatch, **changes) -> None:
    create = Remeasurement.objects.create
    monkeypatch.setattr(
        Remeasurement.objects, "create", lambda **fields: create(**{**fields, **changes})
    )


def remeasure() -> Remeasurement:
    """3 BTC at a cost of 290,000.00 remeasured at 99,000.00: +7,000.00."""
    setup.opening_lots_load(as_of=date(2025, 12, 30), rows=OPENING)
    return fair_value.remeasure(commodity="BTC", as_of=date(2025, 12, 31))


@pytest.mark.django_db
def test_a_remeasurements_adjustment_is_its_fair_value_less_its_carrying_value(world, monkeypatch):
    remeasured_as(monkeypatch, adjustment=D("7001.00"))
    with pytest.raises(IntegrityError, match="holdings_remeasurement_adjustment_is_the_difference"):
        remeasure()


@pytest.mark.django_db
def test_a_remeasurements_entry_takes_its_adjustment_to_4100(world, monkeypatch):
    remeasured_as(monkeypatch, adjustment=D("8000.00"), fair_value=D("298000.00"))
    remeasure()
    with pytest.raises(
        IntegrityError,
        match=r"holdings_remeasurement_matches_its_entry: the remeasurement of BTC at 2025-12-31 "
        r"adjusts its lots by 8000\.00 USD, but its entry #\d+ of 2025-12-31 takes 7000\.00 to "
        r"4100\n",
    ):
        at_commit()


@pytest.mark.django_db
def test_a_remeasurement_that_adjusts_its_lots_has_its_entry(world, monkeypatch):
    remeasured_as(monkeypatch, entry=None)
    remeasure()
    # Its entry, which no remeasurement names now, is refused by holdings 0056 too.
    documents_unchecked()
    with pytest.raises(
        IntegrityError,
        match=r"holdings_remeasurement_matches_its_entry: the remeasurement of BTC at 2025-12-31 "
        r"adjusts its lots by 7000\.00 USD but has no entry",
    ):
        at_commit()


@pytest.mark.django_db
def test_a_remeasurements_entry_posts_to_the_adjustment_accounts_and_4100_alone(world, monkeypatch):
    """A dollar of mining revenue booked as an expense within the remeasurement's entry."""
    post = ledger_services.entry_post

    def padded(*, postings, **fields):
        extra = [PostingInput("5300", D("1.00"), D("1.00")), PostingInput("4000", -1, -1)]
        return post(postings=[*postings, *extra], **fields)

    monkeypatch.setattr(ledger_services, "entry_post", padded)
    remeasure()
    with pytest.raises(
        IntegrityError,
        match=r"holdings_remeasurement_matches_its_entry: .* takes 7000\.00 to 4100 and posts to "
        r"4000, 5300 too",
    ):
        at_commit()


@pytest.mark.django_db
def test_remeasurements_as_the_service_writes_them_pass(world):
    remeasurement = remeasure()
    at_commit()
    assert remeasurement.adjustment == D("7000.00")


def test_the_rule_reads_the_charts_own_codes():
    sql = (
        Path(migrations.__file__).with_name("0048_remeasurements_match_their_entries.sql")
    ).read_text()
    listed = re.search(r"NOT IN \(([^)]*)\)", sql).group(1)
    assert set(re.findall(r"'(\d+)'", listed)) == {
        chart.FAIR_VALUE_GAIN,
        *chart.FAIR_VALUE_ADJUSTMENT.values(),
        *chart.COLLATERAL_ADJUSTMENTS.values(),
    }
    assert set(re.findall(r"a\.code = '(\d+)'", sql)) == {chart.FAIR_VALUE_GAIN}


@pytest.mark.django_db
def test_the_nightly_check_names_a_remeasurement_off_its_figures_or_its_entry(world):
    """As a ledger of an earlier release may hold them: 0048 was not there to refuse."""
    remeasurement = remeasure()
    assert fair_value_selectors.remeasurement_breaks() == []
    at_commit()
    with connection.cursor() as cursor:  # rows from before the CHECK are not re-read
        cursor.execute(
            "ALTER TABLE holdings_remeasurement "
            "DROP CONSTRAINT holdings_remeasurement_adjustment_is_the_difference"
        )
    behind_the_triggers(
        f"UPDATE holdings_remeasurement SET adjustment = 7500.00 WHERE id = {remeasurement.pk}"
    )
    sequence = remeasurement.entry.sequence
    assert fair_value_selectors.remeasurement_breaks() == [
        RemeasurementBreak(
            "BTC 2025-12-31 #1",
            sequence,
            "adjusts its lots by 7500.00 USD, but its fair value 297000.00 less its carrying "
            "value 290000.00 is 7000.00; adjusts its lots by 7500.00 USD, but its entry takes "
            "7000.00 to 4100",
        )
    ]
    behind_the_triggers(
        "UPDATE holdings_remeasurement SET adjustment = 7000.00, entry_id = NULL "
        f"WHERE id = {remeasurement.pk}"
    )
    [found] = fair_value_selectors.remeasurement_breaks()
    assert (found.entry_sequence, found.detail) == (
        None,
        "adjusts its lots by 7000.00 USD but has no entry",
    )

    [run] = reconcile(as_of=date(2026, 1, 10), kinds=["internal"])
    [item] = run.items.filter(checked="remeasurements")
    assert (item.subject_type, item.subject, item.status) == (
        "remeasurement",
        "BTC 2025-12-31 #1",
        "unmatched",
    )
    assert item.message == (
        "remeasurement BTC 2025-12-31 #1 (entry #None) adjusts its lots by 7000.00 USD but has "
        "no entry"
    )


@pytest.mark.django_db
def test_the_nightly_check_names_an_entry_that_posts_elsewhere_too(world, monkeypatch):
    post = ledger_services.entry_post

    def padded(*, postings, **fields):
        extra = [PostingInput("5300", D("1.00"), D("1.00")), PostingInput("4000", -1, -1)]
        return post(postings=[*postings, *extra], **fields)

    monkeypatch.setattr(ledger_services, "entry_post", padded)
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE holdings_remeasurement "
            "DISABLE TRIGGER holdings_remeasurement_matches_its_entry"
        )
    remeasure()
    [found] = fair_value_selectors.remeasurement_breaks()
    assert found.detail == "its entry posts to 4000, 5300 too"
