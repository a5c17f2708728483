"""Remeasurements as they stand. A remeasurement whose entry was cancelled measures nothing
any more; one that posted nothing (its lots already at fair value, or none held) cannot be
cancelled and stands as measured."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import QuerySet

from holdings import chart
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


@dataclass(frozen=True)
class RemeasurementBreak:
    """A remeasurement its own figures or its entry do not bear out."""

    subject: str  # the commodity, day and attempt: "BTC 2025-12-31 #1"
    entry_sequence: int | None
    detail: str
    subject_type: str = "remeasurement"

    @property
    def key(self) -> str:
        return self.subject

    @property
    def label(self) -> str:
        return f"remeasurement {self.subject}"


def remeasurement_breaks() -> list[RemeasurementBreak]:
    """Remeasurements against themselves and their entries, as PostgreSQL holds them at each
    write since holdings migration 0048: the adjustment is the fair value less the carrying
    value before, the entry takes it to mining's fair value gain and posts nowhere but there
    and the fair value adjustment accounts, and one without an entry adjusted nothing. Found
    here: what a ledger of an earlier release holds, or what was written with the triggers
    off. In the journal's order."""
    allowed = [
        chart.FAIR_VALUE_GAIN,
        *chart.FAIR_VALUE_ADJUSTMENT.values(),
        *chart.COLLATERAL_ADJUSTMENTS.values(),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT format('%%s %%s #%%s', r.commodity_id, r.as_of, r.attempt), j.sequence,
                   concat_ws('; ',
                       CASE WHEN r.adjustment <> r.fair_value - r.carrying_value_before
                            THEN format('adjusts its lots by %%s USD, but its fair value %%s '
                                        'less its carrying value %%s is %%s', r.adjustment,
                                        r.fair_value, r.carrying_value_before,
                                        r.fair_value - r.carrying_value_before) END,
                       CASE WHEN r.entry_id IS NULL AND r.adjustment <> 0
                            THEN format('adjusts its lots by %%s USD but has no entry',
                                        r.adjustment)
                            WHEN r.entry_id IS NOT NULL AND coalesce(p.gain, 0) <> -r.adjustment
                            THEN format('adjusts its lots by %%s USD, but its entry takes %%s '
                                        'to %%s', r.adjustment, -coalesce(p.gain, 0), %(gain)s)
                            END,
                       CASE WHEN p.others IS NOT NULL
                            THEN format('its entry posts to %%s too', p.others) END)
              FROM holdings_remeasurement r
              LEFT JOIN ledger_journalentry j ON j.id = r.entry_id
              LEFT JOIN LATERAL (
                  SELECT sum(x.value) FILTER (WHERE a.code = %(gain)s) AS gain,
                         string_agg(DISTINCT a.code, ', ' ORDER BY a.code)
                             FILTER (WHERE a.code <> ALL(%(allowed)s)) AS others
                    FROM ledger_posting x JOIN ledger_account a ON a.id = x.account_id
                   WHERE x.entry_id = r.entry_id
              ) p ON r.entry_id IS NOT NULL
             WHERE r.adjustment <> r.fair_value - r.carrying_value_before
                OR CASE WHEN r.entry_id IS NULL THEN r.adjustment <> 0
                        ELSE coalesce(p.gain, 0) <> -r.adjustment OR p.others IS NOT NULL END
             ORDER BY 2 NULLS FIRST, r.commodity_id, r.as_of, r.attempt
            """,
            {"gain": chart.FAIR_VALUE_GAIN, "allowed": allowed},
        )
        return [RemeasurementBreak(*row) for row in cursor.fetchall()]
