"""The scale helpers count the decimals an amount really carries, whatever its writing."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ledger.money import decimal_places, exceeds_scale, fits_scale


def places_by_text(amount: Decimal) -> int:
    """The definition: the digits written after the point, trailing zeros stripped (a zero
    keeps what is written)."""
    _sign, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0:
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0") or "0")
    return max(0, -(exponent + trailing))


amounts = st.builds(
    lambda digits, shift, zeros: (
        Decimal(f"{Decimal(digits).scaleb(-shift)}{'0' * zeros}") if shift else Decimal(digits)
    ),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.integers(min_value=0, max_value=20),
    st.integers(min_value=0, max_value=4),
)


@given(amounts, st.integers(min_value=0, max_value=18))
def test_places_fit_and_excess_agree_with_the_definition(amount, places):
    assert decimal_places(amount) == places_by_text(amount)
    assert fits_scale(amount, places) == (places_by_text(amount) <= places)
    assert exceeds_scale(amount, places) == (places_by_text(amount) > places)


def test_zeros_and_exponents():
    assert decimal_places(Decimal("0.000")) == 3
    assert decimal_places(Decimal("1.2300")) == 2
    assert decimal_places(Decimal("1E+3")) == 0
    assert decimal_places(Decimal("1E-3")) == 3
    assert not fits_scale(Decimal("NaN"), 8) and not fits_scale(Decimal("Infinity"), 8)
    assert fits_scale(Decimal("0.10000000000"), 1) and not fits_scale(Decimal("0.11"), 1)


@given(st.decimals(allow_nan=False, allow_infinity=False), st.integers(min_value=0, max_value=40))
def test_any_writing_of_an_amount_agrees_with_the_definition(amount, places):
    assert exceeds_scale(amount, places) == (places_by_text(amount) > places)
    assert fits_scale(amount, places) == (places_by_text(amount) <= places)


def test_amounts_far_from_any_scale_are_judged_without_writing_them_out():
    assert not exceeds_scale(Decimal("1E+100000000"), 8)
    assert exceeds_scale(Decimal("1E-100000000"), 8)
    assert exceeds_scale(Decimal("-0.000000001"), 8) and not exceeds_scale(Decimal("-1.5E-7"), 8)
    assert exceeds_scale(Decimal("0E-9"), 8) and not exceeds_scale(Decimal("0E+3"), 0)
