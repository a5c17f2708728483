"""The books the database's own rules are tried on."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.models import JournalEntry
from tests.holdings.conftest import f2pool_file, run_import


@pytest.fixture
def imported(world):
    batch = run_import("f2pool", f2pool_file([(date(2026, 1, 1), "0.5")]))
    assert batch.status == "succeeded"


@pytest.fixture
def earning(imported):
    """The imported earning's entry, its receivable (which holds its lot) and its income."""
    entry = JournalEntry.objects.get(kind="pool_earning")
    postings = {p.account.commodity_id: p for p in entry.postings.select_related("account")}
    return entry, postings["BTC"].account, postings["USD"].account
