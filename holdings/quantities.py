"""Quantities typed at the doors: a positive, finite Decimal within its commodity's scale,
never rounded to fit."""

from __future__ import annotations

from decimal import Decimal

from holdings.errors import InvalidSetup
from ledger.models import Commodity
from ledger.money import fits_scale


def check_positive_amount(amount: Decimal, commodity: Commodity, field: str) -> None:
    """Refuse, naming `field`, an amount that is not a positive Decimal or has more decimals
    than the commodity's scale."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise InvalidSetup(f"{field} must be a positive amount", field=field)
    if not fits_scale(amount, commodity.decimal_places):
        raise InvalidSetup(
            f"{field} {amount} has more than {commodity.decimal_places} decimals, the scale of "
            f"{commodity.code}",
            field=field,
        )
