"""Fair value remeasurement (ASC 350-60): lots measured at the month-end price, the change
posted through ledger.services with its lot adjustments.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from holdings import chart
from holdings.errors import RemeasurementError
from holdings.models import (
    Lot,
    LotMovement,
    LotMovementKind,
    Price,
    Remeasurement,
)
from holdings.selectors.prices import price_for
from holdings.services.lots import LotPlan
from holdings.valuation import allocate, cents
from ledger import selectors as ledger_selectors
from ledger import services as ledger_services
from ledger.models import Account, Commodity, MeasurementPolicy
from ledger.services import PostingInput


def remeasure(*, commodity: Commodity | str, as_of: date, created_by: Any = None) -> Remeasurement:
    """Remeasure a commodity's open lots to fair value at the end of `as_of` (ASC 350-60).

    The difference between carrying value and units * price goes to the fair value
    adjustment against 4100, spread over the open lots pro rata by units. Idempotent per
    commodity and date: a second call returns the first remeasurement.
    """
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
        with connection.cursor() as cursor:
            # One remeasurement of a commodity at a time; ledger rows are left unlocked.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"remeasure:{code}"])
        done = Remeasurement.objects.filter(commodity_id=code, as_of=as_of).first()
        if done is not None:
            return done
        later = Remeasurement.objects.filter(commodity_id=code, as_of__gt=as_of).order_by("as_of")
        if later.exists():
            raise RemeasurementError(
                f"{code} was already remeasured at {later.first().as_of}; remeasure "  # type: ignore[union-attr]
                f"{as_of} or earlier dates is no longer possible",
                field="as_of",
            )
        moved = (
            LotMovement.objects.filter(lot__commodity_id=code, effective_date__gt=as_of)
            .exclude(kind=LotMovementKind.REMEASUREMENT)
            .order_by("-effective_date")
            .values_list("effective_date", flat=True)
            .first()
        )
        if moved is not None:
            raise RemeasurementError(
                f"{code} lots already moved on {moved}, after {as_of}: a remeasurement uses "
                f"the lots as they stand, so it must be dated on or after the latest movement",
                field="as_of",
            )
        price = price_for(base=code, on=as_of)
        return _remeasure(commodity_obj, as_of, price, created_by)


def _remeasure(commodity: Commodity, as_of: date, price: Price, created_by: Any) -> Remeasurement:
    code = commodity.code
    lots = list(
        Lot.objects.select_for_update().filter(commodity_id=code, quantity__gt=0).order_by("pk")
    )
    collateral = Account.objects.filter(code=chart.COLLATERAL_RECEIVABLE).first()
    collateral_ids = set(ledger_selectors.subtree_ids(collateral)) if collateral else set()
    groups: dict[str, list[Lot]] = {}
    for lot in lots:
        target = (
            chart.COLLATERAL_ADJUSTMENT
            if lot.account_id in collateral_ids
            else chart.FAIR_VALUE_ADJUSTMENT.get(code)
        )
        if target is None:
            raise RemeasurementError(f"no fair value adjustment account for {code} in the chart")
        groups.setdefault(target, []).append(lot)

    plan = LotPlan()
    postings: list[PostingInput] = []
    units = carrying = fair = Decimal(0)
    for target, members in groups.items():
        group_units = sum((lot.quantity for lot in members), Decimal(0))
        group_carrying = sum((lot.carrying_value for lot in members), Decimal(0))
        group_fair = cents(group_units * price.price)
        delta = group_fair - group_carrying
        units += group_units
        carrying += group_carrying
        fair += group_fair
        if delta == 0:
            continue
        postings.append(PostingInput(target, delta, delta))
        for lot, part in zip(
            members, allocate(delta, [lot.quantity for lot in members]), strict=True
        ):
            if part:
                plan.adjust(lot, part, entry_index=0, on=as_of)
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
            idempotency_key=f"remeasure:{code}:{as_of.isoformat()}",
            kind="fair_value_remeasurement",
            created_by=created_by,
        )
        plan.write([entry])
    return Remeasurement.objects.create(
        commodity=commodity,
        as_of=as_of,
        price=price,
        units=units,
        carrying_value_before=carrying,
        fair_value=fair,
        adjustment=adjustment,
        lots=len(lots),
        entry=entry,
        created_by=created_by,
    )


def remeasure_all(*, as_of: date, created_by: Any = None) -> list[Remeasurement]:
    """Remeasure every fair-value commodity that has lots, at one date."""
    codes = (
        Commodity.objects.filter(measurement_policy=MeasurementPolicy.FAIR_VALUE)
        .filter(code__in=Lot.objects.values("commodity_id"))
        .order_by("code")
        .values_list("code", flat=True)
    )
    return [remeasure(commodity=code, as_of=as_of, created_by=created_by) for code in codes]
