"""Reports over the books: realized gains and the ASC 350-60 roll-forward, of one commodity
or of every commodity with their total in USD. No side effects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Exists,
    OuterRef,
    QuerySet,
    Sum,
    Value,
    When,
)

from holdings import chart
from holdings.errors import HoldingsError
from holdings.models import (
    Disposal,
    DisposalTotal,
    LoanEventKind,
    Lot,
    LotMovementDaily,
    LotMovementKind,
    LotOrigin,
)
from ledger import selectors as ledger_selectors
from ledger.models import (
    Account,
    AccountType,
    Commodity,
    JournalEntry,
    Posting,
)
from ledger.money import FUNCTIONAL_CURRENCY, exact_sum, to_scale

ZERO = Decimal(0)


@dataclass(frozen=True)
class RealizedGains:
    """The disposals of a commodity in a period (sales and on-chain fees), each with the lot
    it relieved, and their totals. `disposals` is a query, read when iterated (a page of it
    in the API); the totals cover every disposal of the period."""

    commodity: str
    start: date
    end: date
    disposals: QuerySet[Disposal]
    count: int
    units: Decimal
    cost: Decimal
    carrying_value: Decimal
    proceeds: Decimal
    realized_gain: Decimal


def realized_gains(*, start: date, end: date, commodity: str = "BTC") -> RealizedGains:
    """Each disposal of `commodity` from `start` to `end` (UTC dates, both included), oldest
    first, with its lot (acquired, account, wallet), sale or transfer, and the totals (one
    aggregate query, whatever the period's size)."""
    if start > end:
        raise HoldingsError(f"end must not be before start ({start.isoformat()})", field="end")
    disposals = Disposal.objects.filter(
        disposed_on__gte=start, disposed_on__lte=end, lot__commodity_id=commodity
    )
    # The totals from the disposals added up per entry (a row per sale, not per lot).
    totals = (
        _disposal_totals(start, end)
        .filter(commodity_id=commodity)
        .aggregate(
            count=Sum("disposals"),
            **{
                name: Sum(name)
                for name in ("units", "cost", "carrying_value", "proceeds", "realized_gain")
            },
        )
    )
    cents = Decimal("0.00")
    return RealizedGains(
        commodity=commodity,
        start=start,
        end=end,
        # The entry is named by its id alone: not joined.
        disposals=disposals.select_related(
            "lot__account__wallet", "lot__commodity", "sale", "transfer"
        ).order_by("disposed_on", "id"),
        count=totals["count"] or 0,
        units=totals["units"] if totals["units"] is not None else ZERO,
        cost=totals["cost"] if totals["cost"] is not None else cents,
        carrying_value=totals["carrying_value"] if totals["carrying_value"] is not None else cents,
        proceeds=totals["proceeds"] if totals["proceeds"] is not None else cents,
        realized_gain=totals["realized_gain"] if totals["realized_gain"] is not None else cents,
    )


def _disposal_totals(start: date, end: date) -> QuerySet[DisposalTotal]:
    """What each entry relieved from `start` to `end`, a row per entry, commodity and day."""
    return DisposalTotal.objects.filter(day__gte=start, day__lte=end)


ADDITIONS = (
    ("mining", LotOrigin.MINED, "Mining: lots opened by the pools' production"),
    ("purchases", LotOrigin.PURCHASE, "Purchases"),
    ("sale_proceeds", LotOrigin.PROCEEDS, "Received as the proceeds of sales"),
    ("loan_draws", LotOrigin.BORROWED, "Received as loan principal"),
    ("opening_balances", LotOrigin.OPENING, "Opening balances brought in"),
)


DISPOSITIONS = (
    ("sales", "Sales"),
    ("network_fees", "Network fees (on-chain transfers)"),
    ("liquidations", "Liquidations of collateral by lenders"),
    ("loan_repayments", "Paid to lenders (loan repayments)"),
    ("other", "Other dispositions"),
)


@dataclass(frozen=True)
class RollforwardLine:
    """One line of the roll-forward. Movement lines are signed as they change the holding
    (a disposition is negative), so the opening line plus every movement line is the
    closing line. `proceeds` and `realized_gain` (proceeds less cost) are set on
    dispositions only."""

    key: str
    section: str
    label: str
    units: Decimal
    cost: Decimal
    fair_value_adjustment: Decimal
    proceeds: Decimal | None = None
    realized_gain: Decimal | None = None

    @property
    def carrying_value(self) -> Decimal:
        return self.cost + self.fair_value_adjustment


@dataclass(frozen=True)
class Rollforward:
    """A commodity's roll-forward over a period, tied to the ledger at both ends.

    Opening and closing are the ledger's balances at the end of the day before `start` and
    at the end of `end`: units and cost of every asset account in the commodity (wallets,
    pool receivables, pledged collateral, collateral receivable), and the fair value
    adjustment accounts (1290, and 1490 for the collateral receivable), so they are the trial
    balance's own figures. The movements come from the lots: each lot movement of the period
    classified by what it was (a lot opened by production, a disposal by the sale, transfer
    or loan event that posted it, a remeasurement). `unexplained` is whatever of the
    ledger's change no lot movement accounts for: zero when the lots equal the ledger.
    The memo lines show apart, at both ends, the units pledged with control retained
    (1230, restricted, still held) and the collateral receivable (1400 and 1490)."""

    commodity: str
    scale: int
    start: date
    end: date
    lines: list[RollforwardLine]
    memo: list[RollforwardLine]
    adjustment_accounts: list[str]
    ties_to_trial_balance: bool

    def line(self, key: str) -> RollforwardLine:
        return next(line for line in [*self.lines, *self.memo] if line.key == key)


@dataclass(frozen=True)
class _Position:
    units: Decimal
    cost: Decimal
    adjustment: Decimal


def _subtree(code: str, commodity: str | None = None) -> set[int]:
    root = Account.objects.filter(code=code).first()
    if root is None or (commodity is not None and root.commodity_id != commodity):
        return set()
    return set(ledger_selectors.subtree_ids(root))


def rollforward(*, commodity: str, start: date, end: date) -> Rollforward:
    """The roll-forward of `commodity` from `start` to `end` (UTC dates, both included)."""
    if start > end:
        raise HoldingsError(f"end must not be before start ({start.isoformat()})", field="end")
    found = Commodity.objects.filter(code=commodity).first()
    if found is None:
        raise HoldingsError(f"unknown commodity {commodity!r}", field="commodity")
    if found.code == FUNCTIONAL_CURRENCY:
        raise HoldingsError(
            f"{FUNCTIONAL_CURRENCY} is the functional currency: it has no roll-forward",
            field="commodity",
        )
    code, scale = found.code, found.decimal_places
    receivable_ids = _subtree(chart.COLLATERAL_RECEIVABLES.get(code, ""), code)
    receivable_adjustment = chart.COLLATERAL_ADJUSTMENTS.get(code, "")
    adjustment_codes = [c for c in [chart.FAIR_VALUE_ADJUSTMENT.get(code)] if c]
    if receivable_ids:
        adjustment_codes.append(receivable_adjustment)
    adjustment_ids: set[int] = set()
    for adjustment_code in adjustment_codes:
        adjustment_ids |= _subtree(adjustment_code)
    receivable_adjustment_ids = _subtree(receivable_adjustment) if receivable_ids else set()
    restricted_ids = _subtree(chart.PLEDGED_ACCOUNTS.get(code, ""), code)

    # Each date's trial balance read once: the positions and the tie both come from it.
    trial_balances = {
        day: ledger_selectors.trial_balance(as_of=day).rows for day in (start - timedelta(1), end)
    }

    def position(as_of: date) -> tuple[_Position, _Position, _Position]:
        own = trial_balances[as_of]
        held = [r for r in own if r.type == AccountType.ASSET and r.commodity == code]
        restricted = [r for r in held if r.account_id in restricted_ids]
        receivable = [r for r in held if r.account_id in receivable_ids]
        restricted_adjustment = LotMovementDaily.objects.filter(
            account__in=restricted_ids, day__lte=as_of
        ).aggregate(total=Sum("fair_value_adjustment"))["total"]
        return (
            _Position(
                _sum(r.quantity for r in held),
                _sum(r.value for r in held),
                _sum(r.value for r in own if r.account_id in adjustment_ids),
            ),
            _Position(
                _sum(r.quantity for r in restricted),
                _sum(r.value for r in restricted),
                restricted_adjustment or ZERO,
            ),
            _Position(
                _sum(r.quantity for r in receivable),
                _sum(r.value for r in receivable),
                _sum(r.value for r in own if r.account_id in receivable_adjustment_ids),
            ),
        )

    before = start - timedelta(days=1)
    opening, restricted_opening, receivable_opening = position(before)
    closing, restricted_closing, receivable_closing = position(end)
    movements = _classified_movements(code, start, end)

    def line(key: str, section: str, label: str, found: _Position, **more: Any) -> RollforwardLine:
        return RollforwardLine(
            key=key,
            section=section,
            label=label,
            units=to_scale(found.units, scale),
            cost=to_scale(found.cost, 2),
            fair_value_adjustment=to_scale(found.adjustment, 2),
            **more,
        )

    lines = [line("opening", "opening", f"Opening balance at the end of {before}", opening)]
    for key, _origin, label in ADDITIONS:
        lines.append(line(f"additions.{key}", "additions", label, movements.additions[key]))
    for key, label in DISPOSITIONS:
        relieved = movements.dispositions[key]
        proceeds = movements.proceeds[key]
        lines.append(
            line(
                f"dispositions.{key}",
                "dispositions",
                label,
                relieved,
                proceeds=to_scale(proceeds, 2),
                realized_gain=to_scale(proceeds + relieved.cost, 2),
            )
        )
    lines.append(
        line(
            "fair_value_changes",
            "fair_value_changes",
            "Fair value changes: remeasurements of the period",
            movements.remeasured,
        )
    )
    explained = [*movements.additions.values(), *movements.dispositions.values()]
    explained.append(movements.remeasured)
    unexplained = _Position(
        closing.units - opening.units - _sum(p.units for p in explained),
        closing.cost - opening.cost - _sum(p.cost for p in explained),
        closing.adjustment - opening.adjustment - _sum(p.adjustment for p in explained),
    )
    lines.append(
        line(
            "unexplained",
            "unexplained",
            "Ledger movements no lot movement explains (zero when the lots equal the ledger)",
            unexplained,
        )
    )
    lines.append(line("closing", "closing", f"Closing balance at the end of {end}", closing))
    # Each memo line names the commodity's own accounts, or says it has none.
    pledged_code = chart.PLEDGED_ACCOUNTS.get(code)
    pledged = "Restricted: pledged as collateral, control retained " + (
        f"({pledged_code})" if pledged_code else f"(no {code} account for it)"
    )
    receivable_code = chart.COLLATERAL_RECEIVABLES.get(code)
    receivable = "Collateral receivable, control transferred " + (
        f"({receivable_code}, {chart.COLLATERAL_ADJUSTMENTS[code]})"
        if receivable_code
        else f"(no {code} account for it)"
    )
    memo = [
        line("restricted.opening", "memo", f"{pledged} at the end of {before}", restricted_opening),
        line("restricted.closing", "memo", f"{pledged} at the end of {end}", restricted_closing),
        line(
            "collateral_receivable.opening",
            "memo",
            f"{receivable} at the end of {before}",
            receivable_opening,
        ),
        line(
            "collateral_receivable.closing",
            "memo",
            f"{receivable} at the end of {end}",
            receivable_closing,
        ),
    ]
    return Rollforward(
        commodity=code,
        scale=scale,
        start=start,
        end=end,
        lines=lines,
        memo=memo,
        adjustment_accounts=sorted(adjustment_codes),
        ties_to_trial_balance=(
            _trial_balance_position(code, trial_balances[before], adjustment_ids) == opening
            and _trial_balance_position(code, trial_balances[end], adjustment_ids) == closing
        ),
    )


def _sum(values: Any) -> Decimal:
    return exact_sum(values)


def _trial_balance_position(
    code: str, rows: list[ledger_selectors.Balance], adjustment_ids: set[int]
) -> _Position:
    held = [r for r in rows if r.type == AccountType.ASSET and r.commodity == code]
    return _Position(
        _sum(r.quantity for r in held),
        _sum(r.value for r in held),
        _sum(r.value for r in rows if r.account_id in adjustment_ids),
    )


@dataclass
class _Movements:
    additions: dict[str, _Position]
    dispositions: dict[str, _Position]
    proceeds: dict[str, Decimal]
    remeasured: _Position


def _disposed_by() -> Case:
    """What an entry's disposals were, by the document behind the entry. A cancelled
    document's mirror movements (under its reversal) count where the document's own did, so
    the two net to nothing."""
    return Case(
        *(
            When(**{f"{path}sale__isnull": False}, then=Value("sales"))
            for path in ("", "reversal_of__")
        ),
        *(
            When(**{f"{path}transfer__isnull": False}, then=Value("network_fees"))
            for path in ("", "reversal_of__")
        ),
        *(
            When(**{f"{path}loan_event__kind": kind}, then=Value(label))
            for kind, label in (
                (LoanEventKind.LIQUIDATION, "liquidations"),
                (LoanEventKind.REPAYMENT, "loan_repayments"),
            )
            for path in ("", "reversal_of__")
        ),
        default=Value("other"),
        output_field=CharField(),
    )


def _classified_movements(code: str, start: date, end: date) -> _Movements:
    """The period's lot movements of a commodity, added up by what they were."""
    # The movements other than disposals by kind and lot origin, from their daily totals (a
    # row per account and day, not every movement); the disposals added up per entry, and
    # each entry named by the document behind it (the joins are made once an entry, not once
    # a disposal: a sale relieves hundreds of lots).
    totals = {"q": Sum("quantity"), "c": Sum("cost"), "a": Sum("fair_value_adjustment")}
    rows = list(
        LotMovementDaily.objects.filter(commodity_id=code, day__gte=start, day__lte=end)
        .exclude(kind=LotMovementKind.DISPOSAL)
        .values("kind", "origin")
        .annotate(**totals)
        .order_by()
    )
    relieved = _disposal_totals(start, end).filter(commodity_id=code).order_by()
    disposed = list(
        relieved.filter(movements__gt=0)
        .values("entry_id")
        .annotate(q=Sum("moved_quantity"), c=Sum("moved_cost"), a=Sum("moved_adjustment"))
    )
    sold = list(relieved.filter(disposals__gt=0).values("entry_id").annotate(total=Sum("proceeds")))
    entries = {row["entry_id"] for row in disposed} | {row["entry_id"] for row in sold}
    disposed_by = dict(
        JournalEntry.objects.filter(pk__in=entries)
        .annotate(disposed_by=_disposed_by())
        .values_list("pk", "disposed_by")
    )
    nothing = _Position(ZERO, ZERO, ZERO)
    origins = {origin: key for key, origin, _label in ADDITIONS}
    additions = {key: nothing for key, _origin, _label in ADDITIONS}
    dispositions = {key: nothing for key, _label in DISPOSITIONS}
    remeasured = nothing

    def plus(total: _Position, row: dict[str, Any]) -> _Position:
        return _Position(total.units + row["q"], total.cost + row["c"], total.adjustment + row["a"])

    for row in rows:
        if row["kind"] == LotMovementKind.OPEN and row["origin"] in origins:
            key = origins[row["origin"]]
            additions[key] = plus(additions[key], row)
        elif row["kind"] == LotMovementKind.REMEASUREMENT:
            remeasured = plus(remeasured, row)
        # Transfers in and out cancel out within the commodity's accounts; anything else
        # shows in the unexplained line.
    for row in disposed:
        key = disposed_by[row["entry_id"]]
        dispositions[key] = plus(dispositions[key], row)
    repayments = [
        row["entry_id"] for row in disposed if disposed_by[row["entry_id"]] == "loan_repayments"
    ]
    proceeds = _proceeds(sold, disposed_by, repayments)
    return _Movements(additions, dispositions, proceeds, remeasured)


def _proceeds(
    sold: list[dict[str, Any]], disposed_by: dict[int, str], repayments: list[int]
) -> dict[str, Decimal]:
    """Proceeds (USD) of the period's dispositions by kind: the disposal records' (sales,
    network fees, liquidations), `sold` per entry; for units paid to a lender, the debt they
    settled (the postings of the `repayments` entries to the loan's liability accounts)."""
    proceeds = {key: Decimal("0.00") for key, _label in DISPOSITIONS}
    for row in sold:
        proceeds[disposed_by[row["entry_id"]]] += row["total"]
    if repayments:
        settled = Posting.objects.filter(
            entry_id__in=repayments, account__type=AccountType.LIABILITY
        ).aggregate(total=Sum("value"))["total"]
        proceeds["loan_repayments"] += settled or ZERO
    return proceeds


@dataclass(frozen=True)
class CommodityLine:
    """A roll-forward line of one commodity, or (`commodity` None) the total of every
    commodity's: then USD only, units of different coins never being added up."""

    commodity: str | None
    key: str
    section: str
    label: str
    units: Decimal | None
    cost: Decimal
    fair_value_adjustment: Decimal
    proceeds: Decimal | None = None
    realized_gain: Decimal | None = None

    @property
    def carrying_value(self) -> Decimal:
        return self.cost + self.fair_value_adjustment


@dataclass(frozen=True)
class RollforwardsByCommodity:
    """Every commodity's roll-forward over a period (each with lots, the functional currency
    aside), its lines one after the other, then the same lines totalled in USD."""

    start: date
    end: date
    rollforwards: list[Rollforward]
    lines: list[CommodityLine]
    total: list[CommodityLine]

    @property
    def ties_to_trial_balance(self) -> bool:
        return all(report.ties_to_trial_balance for report in self.rollforwards)


def rollforwards_by_commodity(*, start: date, end: date) -> RollforwardsByCommodity:
    """The roll-forward of each commodity with lots from `start` to `end` and their total
    in USD, line by line (cost, fair value adjustment, carrying value, proceeds, gains)."""
    if start > end:
        raise HoldingsError(f"end must not be before start ({start.isoformat()})", field="end")
    codes = (
        Commodity.objects.exclude(code=FUNCTIONAL_CURRENCY)
        .filter(Exists(Lot.objects.filter(commodity_id=OuterRef("code"))))
        .order_by("code")
        .values_list("code", flat=True)
    )
    parts = [rollforward(commodity=code, start=start, end=end) for code in codes]
    lines = [
        CommodityLine(
            commodity=part.commodity,
            key=line.key,
            section=line.section,
            label=line.label,
            units=line.units,
            cost=line.cost,
            fair_value_adjustment=line.fair_value_adjustment,
            proceeds=line.proceeds,
            realized_gain=line.realized_gain,
        )
        for part in parts
        for line in part.lines
    ]
    total = []
    # Every commodity's roll-forward has the same lines in the same order.
    for index, line in enumerate(parts[0].lines if parts else []):
        same = [part.lines[index] for part in parts]
        total.append(
            CommodityLine(
                commodity=None,
                key=line.key,
                section=line.section,
                label=f"Every commodity, in USD: {line.label}",
                units=None,
                cost=_sum(s.cost for s in same),
                fair_value_adjustment=_sum(s.fair_value_adjustment for s in same),
                proceeds=None if line.proceeds is None else _sum(s.proceeds for s in same),
                realized_gain=(
                    None if line.realized_gain is None else _sum(s.realized_gain for s in same)
                ),
            )
        )
    return RollforwardsByCommodity(start, end, parts, lines, total)


@dataclass(frozen=True)
class CommodityGains:
    """The disposals of one commodity in a period, added up; or (`commodity` None) of every
    commodity, in USD only: no units, as units of different coins do not add up."""

    commodity: str | None
    disposals: int
    units: Decimal | None
    cost: Decimal
    carrying_value: Decimal
    proceeds: Decimal
    realized_gain: Decimal


@dataclass(frozen=True)
class GainsByCommodity:
    start: date
    end: date
    rows: list[CommodityGains]
    total: CommodityGains


GAINS_FIGURES = ("cost", "carrying_value", "proceeds", "realized_gain")


def realized_gains_by_commodity(*, start: date, end: date) -> GainsByCommodity:
    """The realized gains of every commodity disposed of from `start` to `end` (UTC dates,
    both included), one row per commodity (units at its scale), and their total in USD."""
    if start > end:
        raise HoldingsError(f"end must not be before start ({start.isoformat()})", field="end")
    scales = dict(Commodity.objects.values_list("code", "decimal_places"))
    grouped = (
        _disposal_totals(start, end)
        .filter(disposals__gt=0)
        .values("commodity_id")
        .annotate(count=Sum("disposals"), units=Sum("units"), **{f: Sum(f) for f in GAINS_FIGURES})
        .order_by("commodity_id")
    )
    rows = [
        CommodityGains(
            commodity=row["commodity_id"],
            disposals=row["count"],
            units=to_scale(row["units"], scales[row["commodity_id"]]),
            **{f: to_scale(row[f], 2) for f in GAINS_FIGURES},
        )
        for row in grouped
    ]
    total = CommodityGains(
        commodity=None,
        disposals=sum(row.disposals for row in rows),
        units=None,
        **{f: to_scale(_sum(getattr(row, f) for row in rows), 2) for f in GAINS_FIGURES},
    )
    return GainsByCommodity(start, end, rows, total)
