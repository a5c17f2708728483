"""A back-dated remeasurement's adjustment, carried after its date with the units that
left the lots: into the lots a transfer opened, or out of the books with a disposal.

A remeasurement dated `as_of` gives each lot open at the end of `as_of` a part of the
adjustment. Every later outflow of u units from a lot holding q units just before it takes
share(part left, u, q) with it, in the journal's order (date, then entry, then movement):
the same pro-rata rounding the lots use for cost. What a disposal takes was carrying value
disposed of, so the gain on carrying value posted then was off by it: a correcting entry on
the disposal's date moves it out of the adjustment account against 4100. What a transfer
takes goes into the child lot the same entry opened, and a correcting entry moves it
between adjustment accounts when parent and child sit under different ones.

The correcting entries belong to the remeasurement: its document is its entry and them, and
they are cancelled only with it (holdings/services/cancellations.py). Each is found from its
idempotency key, the remeasurement entry's followed by the entry it corrects
(`correction_key`): unique in the journal, and written by this service alone, as no other
poster uses the remeasurement's entry kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from holdings import chart
from holdings.errors import RemeasurementError
from holdings.models import Lot, LotMovement, LotMovementKind
from holdings.valuation import share
from ledger import selectors as ledger_selectors
from ledger.models import Account

ZERO = Decimal(0)


REMEASUREMENT_KIND = "fair_value_remeasurement"
_CORRECTS = ":after:"


def remeasurement_key(code: str, as_of: date, attempt: int = 1) -> str:
    """The idempotency key of the remeasurement's entry (a day remeasured again after its
    remeasurement was cancelled: the attempt's number)."""
    key = f"remeasure:{code}:{as_of.isoformat()}"
    return key if attempt == 1 else f"{key}:attempt-{attempt}"


def correction_key(remeasurement: str, source_id: int) -> str:
    """The key of the entry correcting entry `source_id`, from the remeasurement entry's."""
    return f"{remeasurement}{_CORRECTS}{source_id}"


def corrected_key_suffix(source_id: int) -> str:
    """How the key of every correction of entry `source_id` ends."""
    return f"{_CORRECTS}{source_id}"


def correcting_remeasurement_key(key: str | None) -> str | None:
    """The remeasurement entry's key, for a correction's key; None for any other key."""
    if not key or not key.startswith("remeasure:") or _CORRECTS not in key:
        return None
    return key.rsplit(_CORRECTS, 1)[0]


@dataclass(frozen=True)
class Move:
    """One lot movement dated after the remeasurement, with its entry."""

    lot_id: int
    entry_id: int
    entry_sequence: int | None
    reverses: int | None
    on: date
    kind: str
    quantity: Decimal
    parent_id: int | None


@dataclass
class Correction:
    """What one later entry's units carried: lot adjustments, and postings when balances
    change."""

    source_id: int
    source_sequence: int | None
    on: date
    reason: str
    lots: list[tuple[int, Decimal]] = field(default_factory=list)
    amounts: dict[str, Decimal] = field(default_factory=dict)

    @property
    def postings(self) -> list[tuple[str, Decimal]]:
        return [(account, amount) for account, amount in self.amounts.items() if amount]

    def post(self, account: str, amount: Decimal) -> None:
        self.amounts[account] = self.amounts.get(account, ZERO) + amount


def later_movements(code: str, as_of: date) -> list[Move]:
    """The commodity's lot movements that move units after `as_of`, in the journal's order.
    A cancellation's mirror is refused: what it undoes cannot be told apart by units."""
    rows = (
        LotMovement.objects.filter(lot__commodity_id=code, effective_date__gt=as_of)
        .exclude(quantity=0)
        .order_by("effective_date", "entry_id", "id")
        .values_list(
            "lot_id",
            "entry_id",
            "entry__sequence",
            "entry__reversal_of_id",
            "effective_date",
            "kind",
            "quantity",
            "lot__parent_id",
        )
    )
    moves = [Move(*row) for row in rows]
    for move in moves:
        if move.reverses is not None:
            raise RemeasurementError(
                f"{code} lots moved on {move.on} by entry #{move.entry_sequence or move.entry_id},"
                f" a cancellation reversing entry #{move.reverses}, after {as_of}: a "
                f"remeasurement at {as_of} cannot tell which units that cancellation gave "
                f"back; remeasure on or after {move.on}",
                field="as_of",
            )
    return moves


def adjustment_targets(code: str, lots: Iterable[Lot]) -> dict[int, str]:
    """The fair value adjustment account of each lot: the collateral's under its commodity's
    collateral receivable (1400 for BTC), the commodity's otherwise."""
    collateral = Account.objects.filter(
        code=chart.COLLATERAL_RECEIVABLES.get(code, ""), commodity_id=code
    ).first()
    collateral_ids = set(ledger_selectors.subtree_ids(collateral)) if collateral else set()
    own = chart.FAIR_VALUE_ADJUSTMENT.get(code)
    lent = chart.COLLATERAL_ADJUSTMENTS.get(code)
    targets = {}
    for lot in lots:
        target = lent if lot.account_id in collateral_ids else own
        if target is None:
            raise RemeasurementError(f"no fair value adjustment account for {code} in the chart")
        targets[lot.pk] = target
    return targets


def carry_forward(
    parts: Mapping[int, Decimal],
    moves: list[Move],
    units_at: Mapping[int, Decimal],
    targets: Mapping[int, str],
) -> list[Correction]:
    """Follow each lot's part of the adjustment through the later movements; one
    Correction per later entry that carried some of it, in the journal's order."""
    left = dict(parts)
    units = dict(units_at)
    # The lots each entry opened by transfer, by parent: (child, units), in order.
    children: dict[tuple[int, int | None], list[tuple[int, Decimal]]] = {}
    for move in moves:
        if move.kind == LotMovementKind.TRANSFER_IN:
            children.setdefault((move.entry_id, move.parent_id), []).append(
                (move.lot_id, move.quantity)
            )
    corrections: dict[int, Correction] = {}
    for move in moves:
        before = units.get(move.lot_id, ZERO)
        units[move.lot_id] = before + move.quantity
        carried = left.get(move.lot_id, ZERO)
        if move.quantity > 0 or not carried:
            continue
        taken = -move.quantity
        part = share(carried, taken, before)
        left[move.lot_id] = carried - part
        if not part:
            continue
        correction = corrections.get(move.entry_id)
        if correction is None:
            correction = corrections[move.entry_id] = Correction(
                source_id=move.entry_id,
                source_sequence=move.entry_sequence or move.entry_id,
                on=move.on,
                reason="",
            )
        correction.lots.append((move.lot_id, -part))
        source = targets[move.lot_id]
        if move.kind == LotMovementKind.DISPOSAL:
            correction.reason = "left the books"
            correction.post(source, -part)
            correction.post(chart.FAIR_VALUE_GAIN, part)
        elif move.kind == LotMovementKind.TRANSFER_OUT:
            child = _child_for(children, move, taken)
            correction.reason = correction.reason or "moved to other lots"
            correction.lots.append((child, part))
            left[child] = left.get(child, ZERO) + part
            destination = targets[child]
            if destination != source:
                correction.post(source, -part)
                correction.post(destination, part)
        else:
            raise RemeasurementError(
                f"lot {move.lot_id} gave {taken} units by a {move.kind} movement of entry "
                f"#{correction.source_sequence} on {move.on}: a remeasurement carries its "
                f"adjustment only with transfers and disposals",
                field="as_of",
            )
    return sorted(corrections.values(), key=lambda c: (c.on, c.source_id))


def _child_for(
    children: dict[tuple[int, int | None], list[tuple[int, Decimal]]], move: Move, taken: Decimal
) -> int:
    """The lot the same entry opened from this one with the units taken."""
    candidates = children.get((move.entry_id, move.lot_id), [])
    for index, (child, quantity) in enumerate(candidates):
        if quantity == taken:
            del candidates[index]
            return child
    raise RemeasurementError(
        f"entry #{move.entry_sequence or move.entry_id} on {move.on} took {taken} units from "
        f"lot {move.lot_id} but opened no lot with them",
        field="as_of",
    )
