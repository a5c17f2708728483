"""Valuation arithmetic: USD amounts to the cent, half-even, and allocations whose parts add
up to the whole exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal

ZERO = Decimal(0)

CENT = Decimal("0.01")


# Allocating a USD amount over units is a valuation, rounded to the cent half-even; the
# last part always takes what is left, so parts add up to the whole exactly.
ALLOCATION = Context(prec=60, rounding=ROUND_HALF_EVEN)


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, context=ALLOCATION)


def share(amount: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """`amount` * `part` / `whole` to the cent; the whole gets the amount exactly."""
    if part == whole:
        return amount
    return cents(ALLOCATION.divide(ALLOCATION.multiply(amount, part), whole))


def allocate(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split `total` (cents) over `weights` pro rata; parts are cents and sum to `total`
    exactly (largest remainder, ties to the earlier weight)."""
    whole = sum(weights, ZERO)
    if not weights or whole == 0:
        raise ValueError("nothing to allocate over")
    in_cents = int((total / CENT).to_integral_exact())
    raw = [ALLOCATION.divide(ALLOCATION.multiply(Decimal(in_cents), w), whole) for w in weights]
    floors = [int(r.to_integral_value(rounding="ROUND_FLOOR")) for r in raw]
    left = in_cents - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(f) * CENT for f in floors]
