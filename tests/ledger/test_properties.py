"""Random sequences of valid entries, back-dated ones included, against a naive model."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import selectors, services
from ledger.errors import InsufficientBalance
from ledger.models import Posting

START = date(2024, 1, 1)
DAYS = 900  # crosses month and year ends and a leap day

# Accounts free to go either way (code -> commodity, scale, type).
ACCOUNTS = {
    "P-CASH": ("USD", 2),
    "P-BTC-A": ("BTC", 8),
    "P-BTC-B": ("BTC", 8),
    "P-BTC-C": ("BTC", 8),
    "P-USDT": ("USDT", 6),
    "P-EQUITY": ("USD", 2),
    "P-INCOME": ("USD", 2),
}
PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def amounts(draw, scale: int) -> Decimal:
    units = draw(st.integers(min_value=1, max_value=10**12))
    return Decimal(units).scaleb(-scale)


@st.composite
def entries(draw):
    day = START + timedelta(days=draw(st.integers(0, DAYS)))
    debit, credit = draw(
        st.lists(st.sampled_from(sorted(ACCOUNTS)), min_size=2, max_size=2, unique=True)
    )
    debit_commodity, debit_scale = ACCOUNTS[debit]
    credit_commodity, credit_scale = ACCOUNTS[credit]
    value = draw(amounts(2))
    debit_qty = value if debit_commodity == "USD" else draw(amounts(debit_scale))
    if credit_commodity == "USD":
        credit_qty = value
    elif credit_commodity == debit_commodity:
        credit_qty = debit_qty  # a transfer conserves quantity
    else:
        credit_qty = draw(amounts(credit_scale))
    return day, [(debit, debit_qty, value), (credit, -credit_qty, -value)]


@pytest.fixture
def free_accounts(reference_data):
    for code, (commodity, _) in ACCOUNTS.items():
        services.account_create(code=code, name=code, type="asset", commodity=commodity)


def naive_balance(posted: list, code: str, as_of: date) -> tuple[Decimal, Decimal]:
    quantity = value = Decimal(0)
    for day, postings in posted:
        if day <= as_of:
            for account, q, v in postings:
                if account == code:
                    quantity += q
                    value += v
    return quantity, value


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(
    batch=st.lists(entries(), min_size=1, max_size=25),
    probes=st.lists(st.integers(-5, DAYS + 5), min_size=1, max_size=6),
)
def test_balances_equal_a_naive_sum_and_the_trial_balance_is_zero(free_accounts, batch, probes):
    with transaction.atomic():
        for day, postings in batch:  # in random date order: back-dating is the norm here
            services.entry_post(effective_date=day, memo="p", postings=postings)
        for offset in probes:
            as_of = START + timedelta(days=offset)
            trial = selectors.trial_balance(as_of=as_of)
            assert trial.total_value == 0
            assert trial.total_debit == trial.total_credit
            for code in ACCOUNTS:
                balance = selectors.account_balance(account=code, as_of=as_of)
                assert (balance.quantity, balance.value) == naive_balance(batch, code, as_of)
                in_db = Posting.objects.filter(
                    account__code=code, effective_date__lte=as_of
                ).aggregate(q=Sum("quantity"), v=Sum("value"))
                assert balance.quantity == (in_db["q"] or 0)
        assert selectors.rollup_differences() == []
        transaction.set_rollback(True)


@st.composite
def wallet_moves(draw):
    day = START + timedelta(days=draw(st.integers(0, 120)))
    units = draw(st.integers(1, 300))
    return day, Decimal(units).scaleb(-2), draw(st.booleans())


@pytest.mark.django_db
@PROPERTY_SETTINGS
@given(moves=st.lists(wallet_moves(), min_size=1, max_size=30))
def test_a_must_not_go_negative_wallet_never_does_whatever_the_order(chart, moves):
    """Receipts and spends in random date order: a spend is accepted exactly when the wallet
    stays at or above zero on every day from its date on."""
    with transaction.atomic():
        accepted: list = []
        for day, units, is_receipt in moves:
            sign = 1 if is_receipt else -1
            postings = [
                ("1210", sign * units, sign * units * 1000),
                ("3000", -sign * units * 1000, -sign * units * 1000),
            ]
            candidate = [*accepted, (day, postings)]
            horizon = sorted({d for d, _ in candidate})
            stays_positive = all(naive_balance(candidate, "1210", d)[0] >= 0 for d in horizon)
            if stays_positive:
                services.entry_post(effective_date=day, memo="m", postings=postings)
                accepted.append((day, postings))
            else:
                with pytest.raises(InsufficientBalance):
                    services.entry_post(effective_date=day, memo="m", postings=postings)
        assert selectors.accounts_below_zero() == []
        by_day = defaultdict(Decimal)
        for day, postings in accepted:
            by_day[day] += postings[0][1]
        final = selectors.account_balance(account="1210", as_of=START + timedelta(days=200))
        assert final.quantity == sum(by_day.values(), Decimal(0))
        transaction.set_rollback(True)
