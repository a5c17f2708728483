"""Lot mechanics: planning which lots a movement takes, and writing the plan in bulk.

A plan is built in memory while a service decides what to post, then written after the
journal entries exist: new lots, the changed state of existing ones, and one immutable
movement per change. PostgreSQL checks at commit that every lot equals the sum of its
movements.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from holdings.errors import RemeasuredDay
from holdings.models import Disposal, Lot, LotMovementKind, LotOrigin, Sale, Transfer
from holdings.selectors.fair_value import measured_its_lots, measured_through
from holdings.services import bulk
from holdings.services.fair_value_later import REMEASUREMENT_KIND
from holdings.valuation import share
from ledger.models import Account, JournalEntry

ZERO = Decimal(0)


@dataclass(eq=False)
class NewLot:
    """A lot a plan opens: the fields of Lot that are written, without a model instance
    (thousands per import, and a model's constructor is the slow part)."""

    commodity_id: str
    account_id: int
    acquired_at: datetime
    origin: str
    original_quantity: Decimal
    original_cost: Decimal
    quantity: Decimal
    cost: Decimal
    fair_value_adjustment: Decimal
    parent: Lot | NewLot | None = None
    production_record_id: int | None = None
    price_id: int | None = None
    pk: int | None = None
    opened_by_entry_id: int | None = None


AnyLot = Lot | NewLot


@dataclass
class Take:
    """Units taken out of one lot, with the cost and adjustment that go with them."""

    lot: AnyLot
    quantity: Decimal
    cost: Decimal
    adjustment: Decimal


def saved_id(take: Take) -> int:
    """The id of the lot a take comes from; sales, fees and liquidations take only from
    lots already in the books."""
    assert take.lot.pk is not None
    return take.lot.pk


def take_fifo(
    open_lots: Iterable[AnyLot],
    quantity: Decimal,
    *,
    acquired_by: datetime | None = None,
    available: Mapping[int, Decimal] | None = None,
) -> tuple[list[Take], Decimal]:
    """Take `quantity` from `open_lots` oldest first (they must come sorted by acquisition),
    only from lots acquired by `acquired_by`, and from each at most what `available` says it
    can give (by lot id; all it holds otherwise). Returns the takes and what could not be
    found (zero when the lots sufficed)."""
    takes: list[Take] = []
    wanted = quantity
    for lot in open_lots:
        if wanted == 0:
            break
        held = lot.quantity
        if available is not None and lot.pk is not None:
            held = min(held, available.get(lot.pk, ZERO))
        if held <= 0:
            continue
        if acquired_by is not None and lot.acquired_at > acquired_by:
            break
        taken = min(wanted, held)
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


@dataclass(frozen=True)
class LotRelief:
    """What a sale takes from one lot."""

    lot_id: int
    acquired_at: datetime
    units: Decimal
    cost: Decimal
    adjustment: Decimal
    proceeds: Decimal
    days_held: int

    @property
    def carrying_value(self) -> Decimal:
        return self.cost + self.adjustment

    @property
    def realized_gain(self) -> Decimal:
        return self.proceeds - self.cost


def lot_reliefs(takes: Sequence[Take], proceeds: Sequence[Decimal], *, on: date) -> list[LotRelief]:
    """What each take relieves from its lot on `on`, with its part of the proceeds."""
    return [
        LotRelief(
            lot_id=saved_id(take),
            acquired_at=take.lot.acquired_at,
            units=take.quantity,
            cost=take.cost,
            adjustment=take.adjustment,
            proceeds=part,
            days_held=(on - take.lot.acquired_at.date()).days,
        )
        for take, part in zip(takes, proceeds, strict=True)
    ]


def disposals_record(
    reliefs: Iterable[LotRelief],
    *,
    entry: JournalEntry,
    on: date,
    method: str,
    sale: Sale | None = None,
    transfer: Transfer | None = None,
) -> None:
    """One Disposal row per lot relieved by `entry`: a sale's, a transfer fee's or a
    liquidation's."""
    Disposal.objects.bulk_create(
        Disposal(
            lot_id=relief.lot_id,
            sale=sale,
            transfer=transfer,
            entry=entry,
            disposed_on=on,
            units=relief.units,
            cost=relief.cost,
            carrying_value=relief.carrying_value,
            proceeds=relief.proceeds,
            realized_gain=relief.realized_gain,
            days_held=relief.days_held,
            method=method,
        )
        for relief in reliefs
    )


@dataclass
class Candidates:
    """The lots an operation may take units from, oldest first, with what each can give."""

    lots: list[Lot]
    available: dict[int, Decimal]

    def total(self) -> Decimal:
        return sum(self.available.values(), ZERO)


# Lots are moved under a shared lock, measured under an exclusive one (PostgreSQL takes the
# shared one too, before any lot movement is inserted: holdings_lot_movement_shares_lots).
LOTS_MEASURED = "holdings:lots-measured"


def share_lots() -> None:
    """Wait for a remeasurement in progress, and keep the next from starting until this
    transaction ends: what it moves is then either measured or refused by its date. Taken
    before any lot is locked, so that it and the remeasurement's lot locks never cross."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(hashtext(%s))", [LOTS_MEASURED])


def measure_lots() -> None:
    """The exclusive side of share_lots, for a remeasurement."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [LOTS_MEASURED])


def lots_to_take(
    *, account: Account | int, on: date, acquired_by: datetime | None = None, lock: bool = True
) -> Candidates:
    """The one way lots are chosen to give units: the account's lots acquired by
    `acquired_by` (by the end of `on` when not given), locked in id order, oldest first, each
    able to give what it holds in the account at the end of `on` and still holds after every
    later entry (in the journal's order: date, then sequence). An operation dated before
    later movements of a lot (a back-dated pledge, say) takes only units that nothing after
    it took: time runs one way for lots."""
    if acquired_by is None:
        by_end_of_day = datetime.combine(on + timedelta(days=1), time(0), tzinfo=UTC)
        acquired = Q(acquired_at__lt=by_end_of_day)
    else:
        acquired = Q(acquired_at__lte=acquired_by)
    queryset = Lot.objects.filter(acquired, account=account, quantity__gt=0).order_by("pk")
    if lock:
        share_lots()
        queryset = queryset.select_for_update()
    lots = sorted(queryset, key=lambda lot: (lot.acquired_at, lot.pk))
    available = {lot.pk: lot.quantity for lot in lots}
    later = later_moves(list(available), on) if lots else {}
    for lot in lots:
        moves = later.get(lot.pk)
        if moves:
            # The least it holds at the end of `on` and after any later entry.
            available[lot.pk] = max(min(held_after(lot.quantity, moves)), ZERO)
    return Candidates(lots=lots, available=available)


@dataclass(frozen=True)
class LaterMove:
    """What one entry dated after a day moved a lot by."""

    effective_date: date
    sequence: int
    kind: str
    quantity: Decimal


def later_moves(lot_ids: Sequence[int], on: date) -> dict[int, list[LaterMove]]:
    """Per lot, what each entry dated after `on` moved it by, in the journal's order (date,
    then sequence): what every report, and PostgreSQL's check of the lots, replays."""
    later: dict[int, list[LaterMove]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.lot_id, m.effective_date, e.sequence, e.kind, sum(m.quantity) "
            "FROM holdings_lotmovement m "
            "JOIN ledger_journalentry e ON e.id = m.entry_id "
            "WHERE m.lot_id = ANY(%s) AND m.effective_date > %s "
            "GROUP BY m.lot_id, m.effective_date, e.sequence, e.kind "
            "ORDER BY m.lot_id, m.effective_date, e.sequence",
            [list(lot_ids), on],
        )
        for lot_id, effective_date, sequence, kind, moved in cursor.fetchall():
            later.setdefault(lot_id, []).append(LaterMove(effective_date, sequence, kind, moved))
    return later


def held_after(quantity: Decimal, moves: Sequence[LaterMove]) -> list[Decimal]:
    """The units a lot holding `quantity` now held at the end of the day `moves` follow
    (`later_moves`), then after each of them."""
    units = quantity - sum((move.quantity for move in moves), ZERO)
    held = [units]
    for move in moves:
        units += move.quantity
        held.append(units)
    return held


class LotPlan:
    """Lot changes decided in memory, each tied to the index of the entry that posts it."""

    def __init__(self, *, dated_by: str = "effective_date") -> None:
        # The caller's name for the date its movements take, for the error that refuses one.
        self.dated_by = dated_by
        self.new_lots: list[NewLot] = []
        # Per new lot: its entry, the date and kind of the movement that opens it, and the
        # adjustment it opens with (its state may change again within the plan).
        self._opening: dict[int, tuple[int, date, str, Decimal]] = {}
        self.changed: dict[int, Lot] = {}
        # Every other movement: (lot, entry index, date, kind, quantity, cost, adjustment).
        self.movements: list[tuple[AnyLot, int, date, str, Decimal, Decimal, Decimal]] = []

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
        price_id: int | None = None,
    ) -> NewLot:
        lot = NewLot(
            commodity_id=account.commodity_id,
            account_id=account.pk,
            acquired_at=acquired_at,
            origin=origin,
            original_quantity=quantity,
            original_cost=cost,
            quantity=quantity,
            cost=cost,
            fair_value_adjustment=adjustment,
            price_id=price_id,
        )
        self.new_lots.append(lot)
        self._opening[id(lot)] = (entry_index, effective_date, LotMovementKind.OPEN, adjustment)
        return lot

    def transfer(
        self, takes: Sequence[Take], *, to: Account, entry_index: int, effective_date: date
    ) -> list[NewLot]:
        """Move what `takes` took into new lots in `to`, keeping acquisition and cost."""
        moved = []
        for take in takes:
            self._reduce(take, entry_index, effective_date, LotMovementKind.TRANSFER_OUT)
            child = NewLot(
                commodity_id=take.lot.commodity_id,
                account_id=to.pk,
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
            self.new_lots.append(child)
            self._opening[id(child)] = (
                entry_index,
                effective_date,
                LotMovementKind.TRANSFER_IN,
                take.adjustment,
            )
            moved.append(child)
        return moved

    def dispose(self, takes: Sequence[Take], *, entry_index: int, on: date) -> None:
        """Units that leave the books (sold, or spent as a fee)."""
        for take in takes:
            self._reduce(take, entry_index, on, LotMovementKind.DISPOSAL)

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

    def _touch(self, lot: AnyLot) -> None:
        if isinstance(lot, Lot):
            self.changed[lot.pk] = lot

    def write(self, entries: Sequence[JournalEntry]) -> None:
        """Write the plan once `entries` (by the indexes used above) are posted."""
        share_lots()
        self._refuse_remeasured_days(entries)
        now = timezone.now()
        ids = bulk.next_ids("holdings_lot", len(self.new_lots))
        for lot, lot_id in zip(self.new_lots, ids, strict=True):
            lot.pk = lot_id
        lots, openings = [], []
        for lot in self.new_lots:
            if isinstance(lot.parent, NewLot):
                # The parent was opened by this plan: its record is known only now.
                lot.production_record_id = lot.parent.production_record_id
            entry_index, on, kind, adjustment = self._opening[id(lot)]
            lot.opened_by_entry_id = entries[entry_index].pk
            lots.append(
                (
                    lot.pk,
                    lot.commodity_id,
                    lot.account_id,
                    lot.acquired_at,
                    lot.origin,
                    lot.parent.pk if lot.parent is not None else None,
                    lot.production_record_id,
                    lot.price_id,
                    lot.opened_by_entry_id,
                    lot.original_quantity,
                    lot.original_cost,
                    lot.quantity,
                    lot.cost,
                    lot.fair_value_adjustment,
                    now,
                )
            )
            # A lot opens with its original units and cost and the adjustment it was given.
            openings.append(
                (
                    lot.pk,
                    lot.opened_by_entry_id,
                    on,
                    kind,
                    lot.original_quantity,
                    lot.original_cost,
                    adjustment,
                    now,
                )
            )
        bulk.insert("holdings_lot", LOT_COLUMNS, lots)
        bulk.insert("holdings_lotmovement", MOVEMENT_COLUMNS, openings)
        bulk.update_lots(list(self.changed.values()))
        bulk.insert(
            "holdings_lotmovement",
            MOVEMENT_COLUMNS,
            [
                (lot.pk, entries[index].pk, on, kind, quantity, cost, adjustment, now)
                for lot, index, on, kind, quantity, cost, adjustment in self.movements
            ],
        )

    def _refuse_remeasured_days(self, entries: Sequence[JournalEntry]) -> None:
        """No lot moves on or before the day of a standing remeasurement of its commodity
        but by that remeasurement's own entries (PostgreSQL keeps the same rule:
        holdings_lot_measured_days_kept)."""
        earliest: dict[str, date] = {}
        dated = [(lot.commodity_id, index, on) for lot, index, on, *_ in self.movements]
        dated += [
            (lot.commodity_id, self._opening[id(lot)][0], self._opening[id(lot)][1])
            for lot in self.new_lots
        ]
        for code, index, on in dated:
            if entries[index].kind != REMEASUREMENT_KIND and on < earliest.get(code, date.max):
                earliest[code] = on
        refuse_remeasured_days(earliest, field=self.dated_by)


def refuse_remeasured_days(earliest: Mapping[str, date], *, field: str) -> None:
    """Refuse moving the lots of a commodity of `earliest` on its date there, if a standing
    remeasurement of that commodity is dated on or after it (`field` names the caller's
    date). LotPlan asks before it writes; a preview asks before it plans."""
    if not earliest:
        return
    found = measured_through(earliest, min(earliest.values()))
    for code, on in sorted(earliest.items()):
        remeasurement = found.get(code)
        if remeasurement is not None and on <= remeasurement.as_of:
            raise RemeasuredDay(
                f"{measured_its_lots(remeasurement)}: nothing moves them on {on} any "
                f"more; date it after {remeasurement.as_of}, or cancel that remeasurement "
                "first",
                field=field,
            )


LOT_COLUMNS = (
    "id",
    "commodity_id",
    "account_id",
    "acquired_at",
    "origin",
    "parent_id",
    "production_record_id",
    "price_id",
    "opened_by_entry_id",
    "original_quantity",
    "original_cost",
    "quantity",
    "cost",
    "fair_value_adjustment",
    "created_at",
)


MOVEMENT_COLUMNS = (
    "lot_id",
    "entry_id",
    "effective_date",
    "kind",
    "quantity",
    "cost",
    "fair_value_adjustment",
    "created_at",
)
