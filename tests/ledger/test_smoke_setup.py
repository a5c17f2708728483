from datetime import date
from decimal import Decimal

import pytest

from ledger import selectors, services


@pytest.mark.django_db(transaction=True)
def test_transactional_flush_passes_the_journal_guards(chart):
    services.entry_post(
        effective_date=date(2025, 10, 1),
        memo="cash in",
        postings=[
            ("1000", Decimal("10.00"), Decimal("10.00")),
            ("3000", Decimal("-10"), Decimal("-10")),
        ],
    )
    assert selectors.account_balance(account="1000", as_of=date(2025, 10, 1)).value == Decimal(
        "10.00"
    )
