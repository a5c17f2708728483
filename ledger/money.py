"""Money in commodities with their own scale, on top of py-moneyed.

py-moneyed knows ISO currencies only; the crypto commodities are registered once here. Its
default str() shows two decimals, so quantities are formatted with the commodity's scale.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)

import moneyed
from moneyed import Money

FUNCTIONAL_CURRENCY = "USD"
VALUE_PLACES = 2

# Scale of every commodity the ledger ships with; the Commodity table is the record.
CRYPTO_COMMODITIES = {
    "BTC": ("Bitcoin", 8),
    "USDT": ("Tether USD", 6),
    "KAS": ("Kaspa", 8),
    "ETC": ("Ethereum Classic", 18),
}


def register_commodities() -> None:
    for code, (name, _places) in CRYPTO_COMMODITIES.items():
        ensure_currency(code, name)


def ensure_currency(code: str, name: str | None = None) -> moneyed.Currency:
    try:
        return moneyed.get_currency(code)
    except moneyed.CurrencyDoesNotExist:
        return moneyed.add_currency(code=code, numeric=None, name=name or code)


def money(amount: Decimal, commodity: str) -> Money:
    return Money(amount, ensure_currency(commodity))


# Ledger arithmetic: 60 significant digits (an 18-decimal quantity with 40 whole digits) and
# an error, never a silent rounding, if a result would not fit.
EXACT = Context(prec=60, traps=[InvalidOperation, DivisionByZero, Overflow, Inexact])


def decimal_places(amount: Decimal) -> int:
    """Decimals an amount really carries (trailing zeros do not count). Never rounds."""
    _sign, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int):
        return 0
    if exponent >= 0:
        return 0
    # Trailing zeros after the first digit: a zero ("0.000", one digit) keeps its places.
    trailing_zeros = 0
    for digit in reversed(digits[1:]):
        if digit:
            break
        trailing_zeros += 1
    return max(0, -(exponent + trailing_zeros))


# Rounding to a scale, only to compare: no trap, room for any amount the ledger holds.
_UNTRAPPED = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[])
_QUANTA = tuple(Decimal(1).scaleb(-places) for places in range(41))


def exceeds_scale(amount: Decimal, places: int) -> bool:
    """More decimals than `places` (trailing zeros do not count)."""
    if amount and amount.is_finite() and amount.adjusted() <= 60 and 0 <= places <= 40:
        # A non-zero amount of sane size: rounding it to `places` changes it exactly when it
        # has a digit beyond them (without taking its digits apart: the posting path's
        # every amount comes here).
        return amount.quantize(_QUANTA[places], context=_UNTRAPPED) != amount
    # A zero keeps the places it is written with; infinities and NaN have none.
    exponent = amount.as_tuple().exponent
    return isinstance(exponent, int) and -exponent > places and decimal_places(amount) > places


def fits_scale(amount: Decimal, places: int) -> bool:
    return amount.is_finite() and not exceeds_scale(amount, places)


def format_amount(amount: Decimal, places: int) -> str:
    """The amount with exactly `places` decimals; refuses to round."""
    # Already written with exactly that many (PostgreSQL's numeric of that scale): as is.
    if amount.as_tuple().exponent == -places and places > 0:
        return f"{amount:f}"
    if not fits_scale(amount, places):
        raise ValueError(f"{amount} has more than {places} decimal places")
    with localcontext(EXACT):
        return f"{amount.quantize(Decimal(1).scaleb(-places)):f}"


def to_scale(amount: Decimal, places: int) -> Decimal:
    """The same amount written with exactly `places` decimals; refuses to round."""
    # Already so (a sum of a column of that scale, most of the time): nothing to do.
    if amount.as_tuple().exponent == -places and places > 0:
        return amount
    if decimal_places(amount) > places:
        raise ValueError(f"{amount} has more than {places} decimal places")
    with localcontext(EXACT):
        return amount.quantize(Decimal(1).scaleb(-places))


def exact_sum(amounts: Iterable[Decimal]) -> Decimal:
    """A sum that raises rather than rounds."""
    with localcontext(EXACT):
        return sum(amounts, Decimal(0))
