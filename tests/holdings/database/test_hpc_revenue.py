"""What PostgreSQL refuses of a month's HPC revenue whose entry does not post it. A writer gone
wrong is played by the service with the entry's postings altered on their way to the
journal."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError, connection

from holdings import chart, migrations
from holdings.models import HpcRevenue
from holdings.selectors import cost_integrity
from holdings.services import hpc
from ledger import services as ledger_services
from tests.holdings.database.test_disposal_records import at_commit, behind_the_triggers
from tests.holdings.services.test_hpc import shared as shared  # the fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shared")]
D = Decimal
JANUARY = date(2025, 1, 1)


def postings_written_as(monkeypatch, change) -> None:
    post = ledger_services.entry_post
    monkeypatch.setattr(
        ledger_services,
        "entry_post",
        lambda *, postings, **fields: post(postings=change(postings), **fields),
    )


def test_hpc_revenue_is_what_its_entry_recognises(monkeypatch):
    postings_written_as(monkeypatch, lambda lines: [(c, q / 10, v / 10) for c, q, v in lines])
    with pytest.raises(
        IntegrityError,
        match=r"holdings_hpc_revenue_matches_its_entry: the HPC revenue of contract HPC-1 for "
        r"2025-01 \(220000\.00 USD\) makes 220000\.00 USD of account 1350, but its entry #\d+ of "
        r"2025-01-31 posts 22000\.00 at 22000\.00\n",
    ):
        hpc.hpc_revenue_recognize(month=JANUARY)
    assert not HpcRevenue.objects.exists()


def test_hpc_revenue_is_booked_to_its_own_site(monkeypatch):
    def elsewhere(lines):
        return [("4200" if c.startswith("4200-") else c, q, v) for c, q, v in lines]

    postings_written_as(monkeypatch, elsewhere)
    with pytest.raises(
        IntegrityError,
        match=r"the HPC revenue of contract HPC-1 for 2025-01 \(220000\.00 USD\) makes 0 USD of "
        r"account 4200, but its entry #\d+ of 2025-01-31 posts -220000\.00 at -220000\.00\n",
    ):
        hpc.hpc_revenue_recognize(month=JANUARY)


def test_hpc_revenue_as_the_service_writes_it_passes():
    hpc.hpc_revenue_recognize(month=JANUARY)
    hpc.hpc_revenue_recognize(month=date(2025, 2, 1))
    assert HpcRevenue.objects.count() == 2


def test_the_nightly_check_names_hpc_revenue_off_its_entry():
    (january,) = hpc.hpc_revenue_recognize(month=JANUARY)
    assert [f.status for f in cost_integrity.cost_document_entries()] == ["matched"]
    at_commit()
    with connection.cursor() as cursor:  # a row the CHECK of its fees did not see
        cursor.execute("ALTER TABLE holdings_hpcrevenue DROP CONSTRAINT holdings_hpc_revenue_total")
    behind_the_triggers(f"UPDATE holdings_hpcrevenue SET amount = 1000.00 WHERE id = {january.pk}")
    sequence = january.entry.sequence
    assert [(f.subject, f.message) for f in cost_integrity.cost_document_entries()] == [
        (
            "HPC-1 2025-01",
            f"the HPC revenue of contract HPC-1 for 2025-01 makes 1000.00 USD of account 1350, "
            f"but its entry #{sequence} posts 220000.00 at 220000.00",
        ),
        (
            "HPC-1 2025-01",
            f"the HPC revenue of contract HPC-1 for 2025-01 makes -1000.00 USD of account "
            f"4200-SITE-H, but its entry #{sequence} posts -220000.00 at -220000.00",
        ),
    ]


def test_the_rule_reads_the_charts_own_codes():
    name = "0053_hpc_revenue_matches_its_entry.sql"
    sql = Path(migrations.__file__).with_name(name).read_text()
    body = sql[sql.index("CREATE FUNCTION") :]
    assert set(re.findall(r"'(\d{4})-?'", body)) == {chart.HPC_RECEIVABLES, chart.HPC_REVENUE}
