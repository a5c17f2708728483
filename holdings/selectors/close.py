"""The checks a controller runs before closing a month, each computed from the books with
its status and, when it fails, the reason in words. No side effects."""

from __future__ import annotations

import calendar
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Max

from holdings.models import (
    BREAK_STATUSES,
    UNCHECKED_STATUSES,
    CostStatus,
    Lot,
    PoolAccount,
    Price,
    ReconciliationItem,
    ReconciliationRun,
    ReconciliationStatus,
    Remeasurement,
    SiteCost,
)
from holdings.selectors.fair_value import measures_the_same, standing
from holdings.selectors.prices import price_timestamp
from holdings.selectors.reconciliation import KINDS
from ledger.models import (
    Cancellation,
    CancellationStatus,
    Commodity,
    JournalEntry,
    JournalSeal,
    ManualJournal,
    ManualJournalStatus,
    MeasurementPolicy,
    PeriodClose,
)

# The checks, in the order a controller works through them.
IMPORTS = "imports"
PRICES = "prices"
FAIR_VALUE = "fair_value"
RECONCILIATIONS = "reconciliations"
SEALS = "seals"
WAITING = "waiting"

# How many named problems a reason lists before it counts the rest.
NAMED = 5


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    ok: bool
    reason: str
    problems: list[str] = field(default_factory=list)

    def as_record(self) -> dict[str, object]:
        return asdict(self)


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def close_checks(*, month: date) -> list[Check]:
    """Every check of the month starting `month` (its first day), as the books stand now."""
    start = month.replace(day=1)
    end = month_end(start)
    return [
        _imports(end),
        _prices(start, end),
        _fair_value(end),
        _reconciliations(end),
        _seals(end),
        _waiting(_open_since(start), end),
    ]


def _open_since(start: date) -> date | None:
    """The first day open before `start`: the day after the last close before it (None:
    never closed). Closing a month closes every day through its end, these included."""
    last = PeriodClose.objects.filter(reopened_at__isnull=True, through__lt=start).aggregate(
        last=Max("through")
    )["last"]
    return None if last is None else last + timedelta(days=1)


def _named(problems: list[str]) -> str:
    shown = "; ".join(problems[:NAMED])
    more = len(problems) - NAMED
    return f"{shown}; and {more} more" if more > 0 else shown


def _check(key: str, title: str, problems: list[str], ok_text: str, lead: str) -> Check:
    if not problems:
        return Check(key, title, True, ok_text)
    return Check(key, title, False, f"{lead}: {_named(problems)}.", problems)


def _imports(end: date) -> Check:
    latest = dict(
        PoolAccount.objects.filter(is_active=True)
        .annotate(through=Max("production__day"))
        .values_list("code", "through")
    )
    problems = [
        f"{code} has no production imported"
        if through is None
        else f"{code} is imported only through {through}"
        for code, through in sorted(latest.items())
        if through is None or through < end
    ]
    return _check(
        IMPORTS,
        f"Every active pool account imported through {end}",
        problems,
        f"All {len(latest)} active pool accounts have production through {end}.",
        "Not every pool account is imported",
    )


def _commodities_held(start: date, end: date) -> list[str]:
    """The commodities whose lots held units at some time in the month."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT l.commodity_id
              FROM holdings_lot l JOIN holdings_lotmovement m ON m.lot_id = l.id
             WHERE m.effective_date <= %(end)s
             GROUP BY l.id, l.commodity_id
            HAVING sum(m.quantity) FILTER (WHERE m.effective_date < %(start)s) > 0
                OR bool_or(m.effective_date >= %(start)s)
             ORDER BY 1
            """,
            {"start": start, "end": end},
        )
        return [row[0] for row in cursor.fetchall()]


def _prices(start: date, end: date) -> Check:
    held = _commodities_held(start, end)
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    stamps = {price_timestamp(day): day for day in days}
    problems = []
    for code in held:
        present = set(
            Price.objects.filter(
                base_id=code, quote_id=settings.PRICE_QUOTE, timestamp__in=list(stamps)
            ).values_list("timestamp", flat=True)
        )
        missing = [day for stamp, day in stamps.items() if stamp not in present]
        if missing:
            listed = ", ".join(day.isoformat() for day in missing[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            problems.append(
                f"{code}/{settings.PRICE_QUOTE} has no price for {len(missing)} day(s): "
                f"{listed}{more}"
            )
    held_text = ", ".join(held) if held else "no commodity"
    return _check(
        PRICES,
        f"A price for every day of the month ({settings.PRICE_POLICY} policy)",
        problems,
        f"Every day has a price for {held_text}.",
        "Prices are missing",
    )


def _fair_value(end: date) -> Check:
    codes = list(
        Commodity.objects.filter(measurement_policy=MeasurementPolicy.FAIR_VALUE)
        .filter(code__in=Lot.objects.values("commodity_id"))
        .order_by("code")
        .values_list("code", flat=True)
    )
    # One that posted nothing stands only while the lots at its day are what it found: a
    # record dated back since would be measured by another attempt.
    done = {
        remeasurement.commodity_id
        for remeasurement in standing(
            Remeasurement.objects.filter(as_of=end, commodity_id__in=codes)
        )
        if remeasurement.entry_id is not None or measures_the_same(remeasurement)
    }
    problems = [f"{code} is not remeasured at {end}" for code in codes if code not in done]
    return _check(
        FAIR_VALUE,
        f"Fair value remeasured at {end}",
        problems,
        f"Remeasured at {end}: {', '.join(codes)}." if codes else "No fair-value lots.",
        "Fair value remeasurement missing",
    )


def _reconciliations(end: date) -> Check:
    runs = ReconciliationRun.objects.filter(as_of=end).order_by("kind", "-id")
    latest: dict[str, ReconciliationRun] = {}
    for run in runs:
        latest.setdefault(run.kind, run)
    problems = [
        f"no {kind} reconciliation was run for {end}" for kind in KINDS if kind not in latest
    ]
    for _kind, run in sorted(latest.items()):
        if run.status == ReconciliationStatus.MATCHED:
            continue
        items = ReconciliationItem.objects.filter(
            run=run, status__in=[*BREAK_STATUSES, *UNCHECKED_STATUSES]
        ).order_by("id")
        named = [f"{item.subject}: {item.message}" for item in items[:NAMED]]
        problems.append(
            f"{run.get_kind_display()} (run {run.pk}) {run.get_status_display().lower()}"
            + (f" — {'; '.join(named)}" if named else "")
        )
    return _check(
        RECONCILIATIONS,
        f"The reconciliations of {end} all matched",
        problems,
        f"All {len(KINDS)} reconciliations of {end} matched.",
        "Reconciliations not matched",
    )


def _seals(end: date) -> Check:
    unsealed = (
        JournalEntry.objects.filter(effective_date__lte=end)
        .exclude(pk__in=JournalSeal.objects.values("entry_id"))
        .order_by("sequence")
    )
    count = unsealed.count()
    problems = [f"entry #{entry.sequence} of {entry.effective_date}" for entry in unsealed[:NAMED]]
    if count > NAMED:
        problems.append(f"{count - NAMED} more")
    return _check(
        SEALS,
        f"The journal sealed through {end}",
        problems,
        f"Every entry dated through {end} is sealed.",
        f"{count} entr{'y is' if count == 1 else 'ies are'} not sealed",
    )


def _waiting(since: date | None, end: date) -> Check:
    """What waits for a second person's decision and would post on a day the close closes
    (once closed, its approval could only be refused): manual journals submitted,
    cancellations requested (their reversal's date), typed invoices (their period's end)."""
    dated = {"effective_date__lte": end}
    if since is not None:
        dated["effective_date__gte"] = since
    journals = ManualJournal.objects.filter(status=ManualJournalStatus.SUBMITTED, **dated)
    cancellations = Cancellation.objects.filter(status=CancellationStatus.REQUESTED, **dated)
    invoices = SiteCost.objects.filter(status=CostStatus.SUBMITTED, period_end__lte=end)
    if since is not None:
        invoices = invoices.filter(period_end__gte=since)
    problems = [
        f"manual journal {journal.pk} of {journal.effective_date}"
        for journal in journals.order_by("effective_date", "id")
    ]
    problems += [
        f"the cancellation of {cancellation.document}, dated {cancellation.effective_date}"
        for cancellation in cancellations.order_by("effective_date", "id")
    ]
    problems += [
        f"invoice {cost.reference} of {cost.site.code} for {cost.period_end}"
        for cost in invoices.select_related("site").order_by("period_end", "id")
    ]
    days = f"from {since} through {end}" if since is not None else f"through {end}"
    return _check(
        WAITING,
        f"Nothing dated {days} waits for a decision",
        problems,
        f"No manual journal, cancellation or typed invoice dated {days} waits for approval.",
        "Waiting for approval",
    )
