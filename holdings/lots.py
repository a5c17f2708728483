"""Lot mechanics: planning which lots a movement takes, and writing the plan in bulk.

A plan is built in memory while a service decides what to post, then written after the
journal entries exist: new lots, the changed state of existing ones, and one immutable
movement per change. PostgreSQL checks at commit that every lot equals the sum of its
movements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal

from holdings.models import Lot, LotMovement, LotMovementKind, LotOrigin
from ledger.models import Account, JournalEntry

CENT = Decimal("0.01")
ZERO = Decimal(0)
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


@dataclass
class Take:
    """Units taken out of one lot, with the cost and adjustment that go with them."""

    lot: Lot
    quantity: Decimal
    cost: Decimal
    adjustment: Decimal


def take_fifo(
    open_lots: Iterable[Lot], quantity: Decimal, *, acquired_by: datetime | None = None
) -> tuple[list[Take], Decimal]:
    """Take `quantity` from `open_lots` oldest first (they must come sorted by acquisition),
    only from lots acquired by `acquired_by`. Returns the takes and what could not be found
    (zero when the lots sufficed)."""
    takes: list[Take] = []
    wanted = quantity
    for lot in open_lots:
        if wanted == 0:
            break
        if lot.quantity <= 0:
            continue
        if acquired_by is not None and lot.acquired_at > acquired_by:
            break
        taken = min(wanted, lot.quantity)
        takes.append(
            Take(
                lot=lot,
                quantity=taken,
                cost=share(lot.cost, taken, lot.quantity),
                adjustment=share(lot.fair_value_adjustment, taken, lot.quantity),
            )
        )
        wanted -= taken
    return takes, wanted


class LotPlan:
    """Lot changes decided in memory, each tied to the index of the entry that posts it."""

    def __init__(self) -> None:
        self.new_lots: list[Lot] = []
        self._new_ids: set[int] = set()
        self.changed: dict[int, Lot] = {}
        self.movements: list[tuple[Lot, int, date, str, Decimal, Decimal, Decimal]] = []

    def open(
        self,
        *,
        entry_index: int,
        account: Account,
        acquired_at: datetime,
        effective_date: date,
        quantity: Decimal,
        cost: Decimal,
        origin: str,
        adjustment: Decimal = ZERO,
        **evidence: object,
    ) -> Lot:
        lot = Lot(
            commodity_id=account.commodity_id,
            account=account,
            acquired_at=acquired_at,
            origin=origin,
            original_quantity=quantity,
            original_cost=cost,
            quantity=quantity,
            cost=cost,
            fair_value_adjustment=adjustment,
            **evidence,
        )
        lot._plan_entry_index = entry_index  # type: ignore[attr-defined]
        self.new_lots.append(lot)
        self._new_ids.add(id(lot))
        self.movements.append(
            (lot, entry_index, effective_date, LotMovementKind.OPEN, quantity, cost, adjustment)
        )
        return lot

    def transfer(
        self, takes: Sequence[Take], *, to: Account, entry_index: int, effective_date: date
    ) -> list[Lot]:
        """Move what `takes` took into new lots in `to`, keeping acquisition and cost."""
        moved = []
        for take in takes:
            self._reduce(take, entry_index, effective_date, LotMovementKind.TRANSFER_OUT)
            child = Lot(
                commodity_id=take.lot.commodity_id,
                account=to,
                acquired_at=take.lot.acquired_at,
                origin=LotOrigin.TRANSFER,
                parent=take.lot,
                production_record_id=take.lot.production_record_id,
                price_id=take.lot.price_id,
                original_quantity=take.quantity,
                original_cost=take.cost,
                quantity=take.quantity,
                cost=take.cost,
                fair_value_adjustment=take.adjustment,
            )
            child._plan_entry_index = entry_index  # type: ignore[attr-defined]
            self.new_lots.append(child)
            self._new_ids.add(id(child))
            self.movements.append(
                (
                    child,
                    entry_index,
                    effective_date,
                    LotMovementKind.TRANSFER_IN,
                    take.quantity,
                    take.cost,
                    take.adjustment,
                )
            )
            moved.append(child)
        return moved

    def adjust(self, lot: Lot, adjustment: Decimal, *, entry_index: int, on: date) -> None:
        """Add a fair value adjustment to a lot (a remeasurement)."""
        lot.fair_value_adjustment += adjustment
        self._touch(lot)
        self.movements.append(
            (lot, entry_index, on, LotMovementKind.REMEASUREMENT, ZERO, ZERO, adjustment)
        )

    def _reduce(self, take: Take, entry_index: int, on: date, kind: str) -> None:
        lot = take.lot
        lot.quantity -= take.quantity
        lot.cost -= take.cost
        lot.fair_value_adjustment -= take.adjustment
        self._touch(lot)
        self.movements.append(
            (lot, entry_index, on, kind, -take.quantity, -take.cost, -take.adjustment)
        )

    def _touch(self, lot: Lot) -> None:
        if id(lot) not in self._new_ids:
            self.changed[lot.pk] = lot

    def write(self, entries: Sequence[JournalEntry]) -> None:
        """Write the plan once `entries` (by the indexes used above) are posted."""
        pending = list(self.new_lots)
        for lot in pending:
            lot.opened_by_entry = entries[lot._plan_entry_index]  # type: ignore[attr-defined]
        # A lot split from a lot opened in this same plan needs its parent's id first.
        while pending:
            ready = [lot for lot in pending if lot.parent is None or lot.parent.pk is not None]
            for lot in ready:
                if lot.parent is not None:
                    lot.parent_id = lot.parent.pk
            Lot.objects.bulk_create(ready)
            pending = [lot for lot in pending if lot.pk is None]
        if self.changed:
            Lot.objects.bulk_update(
                list(self.changed.values()), ["quantity", "cost", "fair_value_adjustment"]
            )
        LotMovement.objects.bulk_create(
            LotMovement(
                lot_id=lot.pk,
                entry=entries[index],
                effective_date=on,
                kind=kind,
                quantity=quantity,
                cost=cost,
                fair_value_adjustment=adjustment,
            )
            for lot, index, on, kind, quantity, cost, adjustment in self.movements
        )
