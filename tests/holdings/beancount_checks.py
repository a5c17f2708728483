"""Checks of a beancount export with beancount itself: its loader finds no error, and its
balances are the trial balance's, per account, in units and in USD at cost."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from beancount import loader
from beancount.core import convert, realization
from beancount.core.data import Balance, Open
from beancount.core.inventory import Inventory
from beancount.parser import printer

from holdings.selectors.exports import beancount_account_names, beancount_export
from ledger.models import Account
from ledger.selectors import balances, trial_balance

ZERO = Decimal(0)
CENT = Decimal("0.01")


def export_text(as_of: date) -> str:
    return "".join(beancount_export(as_of=as_of))


def load_checked(text: str) -> list:
    """The directives of a beancount file that the loader (what bean-check runs) accepts
    with no error at all."""
    entries, errors, _options = loader.load_string(text)
    assert not errors, printer.format_errors(errors[:5])
    return entries


def assert_ties_to_the_trial_balance(entries: list, as_of: date) -> int:
    """Every account's own balance in beancount (units in its commodity, USD at cost) is the
    trial balance's; every account is opened, and asserted with its subtree's quantity and
    value. Returns the number of accounts compared."""
    names = beancount_account_names(Account.objects.all())
    accounts = {a.pk: a for a in Account.objects.all()}
    opened = {e.account for e in entries if isinstance(e, Open)}
    assert opened == set(names.values())

    real = realization.realize(entries)
    rows = {row.account_id: row for row in trial_balance(as_of=as_of).rows}
    for account_id, name in names.items():
        commodity = accounts[account_id].commodity_id
        row = rows.get(account_id)
        quantity, value = (row.quantity, row.value) if row else (ZERO, ZERO)
        real_account = realization.get(real, name)
        inventory = real_account.balance if real_account is not None else Inventory()
        units = inventory.get_currency_units(commodity).number
        at_cost = sum((p.units.number for p in inventory.reduce(convert.get_cost)), ZERO)
        assert {p.units.currency for p in inventory} <= {commodity}, name
        assert units == quantity, f"{name}: {units} {commodity} in beancount, {quantity} posted"
        # Unit costs are quotients: their products differ from the cents only far below them.
        assert abs(at_cost - value) < Decimal("1e-12"), f"{name}: {at_cost} USD, {value} posted"
        assert at_cost.quantize(CENT) == value

    # The assertions (checked by the loader) cover every account, with its subtree.
    subtree = {row.account_id: row for row in balances(as_of=as_of)}
    by_name = {name: account_id for account_id, name in names.items()}
    asserted = [e for e in entries if isinstance(e, Balance)]
    assert sorted(e.account for e in asserted) == sorted(names.values())
    for entry in asserted:
        row = subtree[by_name[entry.account]]
        assert entry.date == date.fromordinal(as_of.toordinal() + 1)
        assert (entry.amount.number, entry.amount.currency) == (row.quantity, row.commodity)
        assert entry.tolerance == 0
        if row.commodity != "USD":
            assert entry.meta["value"].number == row.value
    return len(names)
