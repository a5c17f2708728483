"""Fair value remeasurement (ASC 350-60): lots measured at the month-end price, the change
posted through ledger.services with its lot adjustments.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction

from holdings import chart
from holdings.errors import RemeasurementError
from holdings.models import Lot, Price, Remeasurement
from holdings.selectors import fair_value as fair_value_selectors
from holdings.selectors.prices import price_for
from holdings.services.fair_value_later import (
    Correction,
    adjustment_targets,
    carry_forward,
    correction_key,
    later_movements,
    remeasurement_key,
)
from holdings.services.lots import LotPlan, measure_lots
from holdings.valuation import allocate, cents
from ledger import services as ledger_services
from ledger.dates import check_posting_date
from ledger.models import CancellationStatus, Commodity, JournalEntry, MeasurementPolicy
from ledger.services import PostingInput


def remeasure(*, commodity: Commodity | str, as_of: date, created_by: Any = None) -> Remeasurement:
    """Remeasure a commodity's lots to fair value at the end of `as_of` (ASC 350-60).

    The lots are taken as they stood at the end of `as_of` (summed from their movements), so
    a month end can be remeasured after the next month's movements. The difference between
    carrying value and units * price goes to the fair value adjustment against 4100, spread
    over the lots open at `as_of` pro rata by units; each lot's part then follows its units
    that left it later (see holdings.services.fair_value_later). Idempotent per commodity and
    date: a second call returns the standing remeasurement. Once that is cancelled (dated on
    its day), the day is measured again as its next attempt; so is a day whose remeasurement
    posted nothing when the lots held then have changed since.
    """
    check_posting_date(as_of, field="as_of")
    code = commodity.code if isinstance(commodity, Commodity) else commodity
    commodity_obj = Commodity.objects.filter(code=code).first()
    if commodity_obj is None:
        raise RemeasurementError(f"unknown commodity {code!r}", field="commodity")
    if commodity_obj.measurement_policy != MeasurementPolicy.FAIR_VALUE:
        raise RemeasurementError(
            f"{code} is measured at {commodity_obj.get_measurement_policy_display()}; it is "
            f"not remeasured to fair value",
            field="commodity",
        )
    with transaction.atomic():
        # One remeasurement at a time, while nothing moves lots (writers in progress are
        # waited for; ledger rows are left unlocked).
        measure_lots()
        done = fair_value_selectors.latest_attempt(code, as_of)
        attempt = 1
        if done is not None:
            if not fair_value_selectors.is_cancelled(done):
                if done.entry_id is not None or fair_value_selectors.measures_the_same(done):
                    return done
            else:
                _refuse_cancelled_after(done)
            # Cancelled, or it posted nothing and the lots at its day have changed since
            # (a back-dated record): the day is measured again.
            attempt = done.attempt + 1
        later = (
            fair_value_selectors.standing(
                Remeasurement.objects.filter(commodity_id=code, as_of__gt=as_of)
            )
            .order_by("as_of")
            .first()
        )
        if later is not None:
            raise RemeasurementError(
                f"{code} was already remeasured at {later.as_of}; remeasure {as_of} or earlier "
                f"dates is no longer possible (unless that remeasurement is cancelled)",
                field="as_of",
            )
        price = price_for(base=code, on=as_of)
        return _remeasure(commodity_obj, as_of, price, created_by, attempt)


def _refuse_cancelled_after(done: Remeasurement) -> None:
    """A remeasurement cancelled on a later day left its adjustment in the lots at its own
    day: measured again there, the day would carry both."""
    cancellation = done.entry.cancellations.get(status=CancellationStatus.APPROVED)  # type: ignore[union-attr]
    if cancellation.effective_date > done.as_of:
        raise RemeasurementError(
            f"{done.commodity_id} was remeasured at {done.as_of} by entry "
            f"#{done.entry.sequence}, cancelled on {cancellation.effective_date}: its "  # type: ignore[union-attr]
            f"adjustment stood at the end of {done.as_of}, so that day cannot be measured "
            f"again (a cancellation dated {done.as_of} would have undone it there)",
            field="as_of",
        )


def _remeasure(
    commodity: Commodity, as_of: date, price: Price, created_by: Any, attempt: int
) -> Remeasurement:
    code = commodity.code
    key = remeasurement_key(code, as_of, attempt)
    # The lots that hold units first, in id order: every operation that takes units locks
    # the lots it takes from, so none moves (nor opens a child) while they are measured.
    by_id = {
        lot.pk: lot
        for lot in Lot.objects.select_for_update()
        .filter(commodity_id=code, quantity__gt=0)
        .order_by("pk")
    }
    moves = later_movements(code, as_of)
    held = fair_value_selectors.held_at(code, as_of)
    wanted = (set(held) | {move.lot_id for move in moves}) - set(by_id)
    by_id.update(
        (lot.pk, lot)
        for lot in Lot.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
    )
    targets = adjustment_targets(code, by_id.values())
    groups: dict[str, list[int]] = {}
    for lot_id in sorted(held):
        groups.setdefault(targets[lot_id], []).append(lot_id)

    postings: list[PostingInput] = []
    parts: dict[int, Decimal] = {}
    units = carrying = fair = Decimal(0)
    for target, members in groups.items():
        group_units = sum((held[lot_id][0] for lot_id in members), Decimal(0))
        group_carrying = sum((held[lot_id][1] for lot_id in members), Decimal(0))
        group_fair = cents(group_units * price.price)
        delta = group_fair - group_carrying
        units += group_units
        carrying += group_carrying
        fair += group_fair
        if delta == 0:
            continue
        postings.append(PostingInput(target, delta, delta))
        weights = [held[lot_id][0] for lot_id in members]
        for lot_id, part in zip(members, allocate(delta, weights), strict=True):
            if part:
                parts[lot_id] = part
    adjustment = fair - carrying
    entry = None
    if postings:
        if adjustment:
            postings.append(PostingInput(chart.FAIR_VALUE_GAIN, -adjustment, -adjustment))
        entry = ledger_services.entry_post(
            effective_date=as_of,
            memo=f"{code} remeasured to fair value at {as_of}: {units} units at {price.price} "
            f"{price.quote_id} ({price.source}, {price.timestamp:%Y-%m-%dT%H:%M:%SZ})",
            postings=postings,
            idempotency_key=key,
            kind="fair_value_remeasurement",
            created_by=created_by,
        )
        plan = LotPlan()
        for lot_id, part in parts.items():
            plan.adjust(by_id[lot_id], part, entry_index=0, on=as_of)
        units_at = {lot_id: state[0] for lot_id, state in held.items()}
        carried = carry_forward(parts, moves, units_at, targets)
        entries = [entry]
        for correction in carried:
            index = 0
            if correction.postings:
                entries.append(_post_correction(code, as_of, key, correction, created_by))
                index = len(entries) - 1
            # A move between lots of one adjustment account changes no balance: it goes
            # with the remeasurement's entry.
            for lot_id, amount in correction.lots:
                plan.adjust(by_id[lot_id], amount, entry_index=index, on=correction.on)
        plan.write(entries)
    return Remeasurement.objects.create(
        commodity=commodity,
        as_of=as_of,
        price=price,
        units=units,
        carrying_value_before=carrying,
        fair_value=fair,
        adjustment=adjustment,
        lots=len(held),
        attempt=attempt,
        entry=entry,
        created_by=created_by,
    )


def _post_correction(
    code: str, as_of: date, key: str, correction: Correction, created_by: Any
) -> JournalEntry:
    """The entry that moves the adjustment carried by a later entry's units out of its
    account: to 4100 for a disposal, to another adjustment account for a transfer."""
    return ledger_services.entry_post(
        effective_date=correction.on,
        memo=f"{code} remeasurement at {as_of}: its adjustment on the units entry "
        f"#{correction.source_sequence} of {correction.on} {correction.reason}",
        postings=[PostingInput(account, amount, amount) for account, amount in correction.postings],
        idempotency_key=correction_key(key, correction.source_id),
        kind="fair_value_remeasurement",
        created_by=created_by,
    )


def remeasure_all(*, as_of: date, created_by: Any = None) -> list[Remeasurement]:
    """Remeasure every fair-value commodity that has lots by the end of `as_of`, at that
    date: one whose lots all came later has nothing to remeasure then (and may already be
    remeasured at a later date, as when a year's data is loaded again)."""
    check_posting_date(as_of, field="as_of")
    day_after = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=UTC)
    codes = (
        Commodity.objects.filter(measurement_policy=MeasurementPolicy.FAIR_VALUE)
        .filter(code__in=Lot.objects.filter(acquired_at__lt=day_after).values("commodity_id"))
        .order_by("code")
        .values_list("code", flat=True)
    )
    return [remeasure(commodity=code, as_of=as_of, created_by=created_by) for code in codes]
