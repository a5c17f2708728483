"""Fixed assets read: each asset's depreciation schedule, the register and its roll-forward
tied to the trial balance. No side effects.

Depreciation is straight-line by month over the useful life, which runs from the day the
asset is placed in service for its number of months (placed in service on 16 July for 36
months: through 15 July three years later). Each month is charged the depreciable amount
left (cost basis less salvage value less accumulated depreciation) times the share of the
month in service over the life left, in months (a part month counts its days over the
month's days), rounded to the cent half-even; the last month of the life takes what is
left, so the life's charges add up to the depreciable amount exactly. The same rule makes
a change of useful life and an impairment prospective: what is left is spread over the life
left from then on.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from holdings.models import AssetClass, AssetEvent, AssetEventKind, FixedAsset, VendorDeposit
from holdings.valuation import ALLOCATION, cents
from ledger import selectors as ledger_selectors
from ledger.models import CancellationStatus

ZERO = Decimal("0.00")


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def month_end(month: date) -> date:
    return month.replace(day=monthrange(month.year, month.month)[1])


def next_month(month: date) -> date:
    return month_end(month) + timedelta(days=1)


def standing_events(asset: FixedAsset) -> QuerySet[AssetEvent]:
    """The asset's events whose entry stands (or that have none), in order."""
    return (
        AssetEvent.objects.filter(asset=asset)
        .exclude(entry__cancellations__status=CancellationStatus.APPROVED)
        .order_by("effective_date", "id")
    )


def standing_events_of(assets: Iterable[FixedAsset]) -> dict[int, list[AssetEvent]]:
    """The standing events of many assets in one query, by asset id, each in order (an
    asset with none maps to an empty list)."""
    ids = [asset.pk for asset in assets]
    found: dict[int, list[AssetEvent]] = {pk: [] for pk in ids}
    events = (
        AssetEvent.objects.filter(asset_id__in=ids)
        .exclude(entry__cancellations__status=CancellationStatus.APPROVED)
        .order_by("asset_id", "effective_date", "id")
    )
    for event in events:
        found[event.asset_id].append(event)
    return found


def standing_assets() -> QuerySet[FixedAsset]:
    """Assets whose receipt stands."""
    return FixedAsset.objects.exclude(
        receipt_entry__cancellations__status=CancellationStatus.APPROVED
    )


def deposit_unapplied(deposit: VendorDeposit) -> Decimal:
    """What is left of a deposit after the standing receipts that applied it (read with the
    deposit when it comes from with_unapplied)."""
    applied = getattr(deposit, "applied_by_receipts", None)
    if applied is None:
        applied = (
            standing_assets()
            .filter(deposit=deposit)
            .aggregate(total=Sum("deposit_applied"))["total"]
        )
    return deposit.amount - (applied or ZERO)


def with_unapplied(deposits: QuerySet[VendorDeposit]) -> QuerySet[VendorDeposit]:
    """The deposits with what standing receipts applied of each, in the same query."""
    applied = (
        standing_assets()
        .filter(deposit=OuterRef("pk"))
        .values("deposit")
        .annotate(total=Sum("deposit_applied"))
        .values("total")
    )
    return deposits.annotate(
        applied_by_receipts=Coalesce(Subquery(applied), Value(ZERO), output_field=DecimalField())
    )


@dataclass(frozen=True)
class AssetState:
    """An asset after its standing events: its cost basis (the cost, or the fair value of
    its latest impairment), the accumulated depreciation since, the first day after its
    useful life, the last month depreciated (its first day) and whether it is disposed of."""

    basis: Decimal
    accumulated: Decimal
    life_end: date | None
    depreciated_through: date | None
    disposed_on: date | None
    depreciation_total: Decimal  # every standing depreciation charge, impairments or not

    @property
    def net_book_value(self) -> Decimal:
        return self.basis - self.accumulated


def asset_state(
    asset: FixedAsset,
    *,
    through: date | None = None,
    events: Iterable[AssetEvent] | None = None,
) -> AssetState:
    """The asset's state after its standing events dated up to `through` (all by default);
    `events`, its standing events in order when already read (standing_events_of)."""
    basis = asset.cost
    accumulated = ZERO
    total = ZERO
    life = asset.useful_life_months
    last_month = None
    disposed = None
    for event in standing_events(asset) if events is None else events:
        if through is not None and event.effective_date > through:
            break
        if event.kind == AssetEventKind.DEPRECIATION:
            accumulated += event.amount
            total += event.amount
            last_month = event.month
        elif event.kind == AssetEventKind.LIFE_CHANGE:
            life = event.useful_life_months
        elif event.kind == AssetEventKind.IMPAIRMENT:
            basis = event.carrying_value
            accumulated = ZERO
        elif event.kind == AssetEventKind.DISPOSAL:
            disposed = event.effective_date
    life_end = (
        add_months(asset.in_service_on, life)
        if asset.in_service_on is not None and life is not None
        else None
    )
    return AssetState(basis, accumulated, life_end, last_month, disposed, total)


def _portion(month: date, start: date, end: date) -> Fraction:
    """The share of `month` from `start` up to (not including) `end`."""
    first = max(month, start)
    stop = min(next_month(month), end)
    days = (stop - first).days
    return Fraction(max(days, 0), monthrange(month.year, month.month)[1])


def life_left(month: date, in_service_on: date, life_end: date) -> Fraction:
    """The useful life left from the start of `month` (or the day in service), in months."""
    left = Fraction(0)
    current = month
    while current < life_end:
        left += _portion(current, in_service_on, life_end)
        current = next_month(current)
    return left


def depreciation_for(
    asset: FixedAsset, state: AssetState, month: date, *, until: date | None = None
) -> Decimal:
    """The charge for `month` (its first day), given the state before it; `until`, a
    disposal's day, ends the month's service that day (not included)."""
    if asset.in_service_on is None or state.life_end is None or state.disposed_on is not None:
        return ZERO
    left_to_charge = state.basis - asset.salvage_value - state.accumulated
    if left_to_charge <= 0 or month >= state.life_end or next_month(month) <= asset.in_service_on:
        return ZERO
    left = life_left(month, asset.in_service_on, state.life_end)
    end = state.life_end if until is None else min(until, state.life_end)
    portion = _portion(month, asset.in_service_on, end)
    if portion >= left:
        return left_to_charge
    share = Fraction(left_to_charge) * portion / left
    return cents(ALLOCATION.divide(Decimal(share.numerator), Decimal(share.denominator)))


# --- the register and its roll-forward ---------------------------------------------------


@dataclass(frozen=True)
class RegisterRow:
    asset: FixedAsset
    cost: Decimal  # the cost basis at the date (the fair value after an impairment)
    accumulated: Decimal
    net_book_value: Decimal
    life_end: date | None
    depreciated_through: date | None
    disposed_on: date | None


def asset_register(*, as_of: date) -> list[RegisterRow]:
    """Every asset received by `as_of` and not disposed of before it, with its cost basis,
    accumulated depreciation and net book value at the end of `as_of`."""
    rows = []
    assets = list(
        standing_assets()
        .filter(received_on__lte=as_of)
        .select_related("asset_class", "site")
        .order_by("code")
    )
    events = standing_events_of(assets)
    for asset in assets:
        state = asset_state(asset, through=as_of, events=events[asset.pk])
        if state.disposed_on is not None:
            continue
        rows.append(
            RegisterRow(
                asset=asset,
                cost=state.basis,
                accumulated=state.accumulated,
                net_book_value=state.net_book_value,
                life_end=state.life_end,
                depreciated_through=state.depreciated_through,
                disposed_on=state.disposed_on,
            )
        )
    return rows


@dataclass(frozen=True)
class AssetRollforward:
    """One asset class over a period: cost and accumulated depreciation from opening to
    closing, and whether the closing figures are the trial balance's."""

    asset_class: AssetClass
    start: date
    end: date
    opening_cost: Decimal
    additions: Decimal
    impairments: Decimal  # cost written down (the loss plus the depreciation closed out)
    disposals_cost: Decimal
    closing_cost: Decimal
    opening_accumulated: Decimal
    depreciation: Decimal
    impairment_closed: Decimal
    disposals_accumulated: Decimal
    closing_accumulated: Decimal
    ledger_cost: Decimal
    ledger_accumulated: Decimal

    @property
    def opening_net_book_value(self) -> Decimal:
        return self.opening_cost - self.opening_accumulated

    @property
    def closing_net_book_value(self) -> Decimal:
        return self.closing_cost - self.closing_accumulated

    @property
    def ties_to_trial_balance(self) -> bool:
        return (self.ledger_cost, self.ledger_accumulated) == (
            self.closing_cost,
            self.closing_accumulated,
        )


def _held_at(asset_class: AssetClass, day: date) -> tuple[Decimal, Decimal]:
    cost = accumulated = ZERO
    for asset in standing_assets().filter(asset_class=asset_class, received_on__lte=day):
        state = asset_state(asset, through=day)
        if state.disposed_on is None:
            cost += state.basis
            accumulated += state.accumulated
    return cost, accumulated


def asset_rollforward(*, start: date, end: date) -> list[AssetRollforward]:
    """Each asset class's roll-forward from the end of the day before `start` to the end of
    `end`; the closing figures are compared with the balances of its accounts."""
    result = []
    for asset_class in AssetClass.objects.order_by("code"):
        opening_cost, opening_accumulated = _held_at(asset_class, start - timedelta(days=1))
        closing_cost, closing_accumulated = _held_at(asset_class, end)
        in_period = Q(effective_date__gte=start, effective_date__lte=end)
        additions = sum(
            (
                a.cost
                for a in standing_assets().filter(
                    asset_class=asset_class, received_on__gte=start, received_on__lte=end
                )
            ),
            ZERO,
        )
        events = (
            AssetEvent.objects.filter(in_period, asset__asset_class=asset_class)
            .exclude(entry__cancellations__status=CancellationStatus.APPROVED)
            .exclude(asset__receipt_entry__cancellations__status=CancellationStatus.APPROVED)
        )
        depreciation = impairment_closed = impaired = ZERO
        disposed_cost = disposed_accumulated = ZERO
        for event in events.order_by("effective_date", "id"):
            if event.kind == AssetEventKind.DEPRECIATION:
                depreciation += event.amount
            elif event.kind == AssetEventKind.IMPAIRMENT:
                impairment_closed += event.accumulated
                impaired += event.amount + event.accumulated
            elif event.kind == AssetEventKind.DISPOSAL:
                disposed_accumulated += event.accumulated
                disposed_cost += event.carrying_value + event.accumulated
        ledger_cost = ledger_selectors.account_value(code=asset_class.cost_account, as_of=end)
        ledger_accumulated = -ledger_selectors.account_value(
            code=asset_class.accumulated_account, as_of=end
        )
        result.append(
            AssetRollforward(
                asset_class=asset_class,
                start=start,
                end=end,
                opening_cost=opening_cost,
                additions=additions,
                impairments=impaired,
                disposals_cost=disposed_cost,
                closing_cost=closing_cost,
                opening_accumulated=opening_accumulated,
                depreciation=depreciation,
                impairment_closed=impairment_closed,
                disposals_accumulated=disposed_accumulated,
                closing_accumulated=closing_accumulated,
                ledger_cost=ledger_cost,
                ledger_accumulated=ledger_accumulated,
            )
        )
    return result
