"""Remeasurements as they stand. A remeasurement whose entry was cancelled measures nothing
any more; one that posted nothing (its lots already at fair value, or none held) cannot be
cancelled and stands as measured."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet

from holdings.models import Lot, Remeasurement
from ledger.models import CancellationStatus


def standing(remeasurements: QuerySet[Remeasurement] | None = None) -> QuerySet[Remeasurement]:
    """The remeasurements whose entry, if any, is not cancelled."""
    if remeasurements is None:
        remeasurements = Remeasurement.objects.all()
    return remeasurements.exclude(entry__cancellations__status=CancellationStatus.APPROVED)


def latest_attempt(code: str, as_of: date) -> Remeasurement | None:
    """The last remeasurement of `code` at `as_of`, standing or not."""
    return (
        Remeasurement.objects.filter(commodity_id=code, as_of=as_of)
        .select_related("entry")
        .order_by("-attempt")
        .first()
    )


def is_cancelled(remeasurement: Remeasurement) -> bool:
    return remeasurement.entry_id is not None and (
        remeasurement.entry.cancellations.filter(status=CancellationStatus.APPROVED).exists()  # type: ignore[union-attr]
    )


def measured_through(codes: Iterable[str], since: date) -> dict[str, Remeasurement]:
    """For each commodity of `codes`, its latest standing remeasurement that posted, dated
    on or after `since`: its lots may not move on or before that day but by it."""
    found: dict[str, Remeasurement] = {}
    posted = Remeasurement.objects.filter(
        commodity_id__in=list(codes), as_of__gte=since, entry__isnull=False
    )
    # Every sale, transfer and pool file asks, and mostly none is dated after theirs: a
    # plain look first, a third of the cost of the standing ones' query.
    if not posted.exists():
        return found
    for remeasurement in (
        standing(posted).select_related("entry").order_by("commodity_id", "-as_of")
    ):
        found.setdefault(remeasurement.commodity_id, remeasurement)
    return found


def measured_its_lots(remeasurement: Remeasurement) -> str:
    """Why a lot of its commodity no longer moves on or before its day, for a refusal."""
    return (
        f"{remeasurement.commodity_id} was remeasured at {remeasurement.as_of} (entry "
        f"#{remeasurement.entry.sequence}), which measured its lots as they stood that day"  # type: ignore[union-attr]
    )


def held_at(code: str, as_of: date) -> dict[int, tuple[Decimal, Decimal]]:
    """The lots holding units at the end of `as_of`: units and carrying value, summed from
    their movements dated on or before it."""
    # The commodity's lots first, then their movements by id alone: after a bulk load in
    # one transaction the planner has no statistics, and any join of the movements to the
    # lots (by a join or a subquery) could run row by row for minutes.
    ids = list(Lot.objects.filter(commodity_id=code).values_list("id", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lot_id, SUM(quantity), SUM(cost) + SUM(fair_value_adjustment)"
            " FROM holdings_lotmovement WHERE lot_id = ANY(%s) AND effective_date <= %s"
            " GROUP BY lot_id HAVING SUM(quantity) > 0",
            [ids, as_of],
        )
        return {lot_id: (units, carrying) for lot_id, units, carrying in cursor.fetchall()}


def measures_the_same(remeasurement: Remeasurement) -> bool:
    """Whether the lots held at its day are still the units and carrying value it found (a
    remeasurement that posted nothing stands for its day only while they are)."""
    held = held_at(remeasurement.commodity_id, remeasurement.as_of)
    units = sum((state[0] for state in held.values()), Decimal(0))
    carrying = sum((state[1] for state in held.values()), Decimal(0))
    return units == remeasurement.units and carrying == remeasurement.carrying_value_before
