"""Prices and the price policy: which quote values a day (`price_for`), the day an earning
belongs to, and the evidence of every price the books used. No side effects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import (
    Q,
    QuerySet,
)

from holdings.errors import (
    HoldingsError,
    MissingPrice,
)
from holdings.models import (
    Loan,
    LoanEvent,
    LoanEventKind,
    Lot,
    LotOrigin,
    PoolAccount,
    Price,
    ProductionRecord,
    Remeasurement,
    Sale,
    Wallet,
)
from holdings.valuation import cents
from ledger.money import FUNCTIONAL_CURRENCY


def commodities_held() -> list[str]:
    """Every commodity the books hold or will take in, other than the price quote's: those of
    the active wallets and pool accounts, of open lots and of loans' collateral, sorted."""
    codes = set(Wallet.objects.filter(is_active=True).values_list("commodity_id", flat=True))
    codes |= set(PoolAccount.objects.filter(is_active=True).values_list("commodity_id", flat=True))
    codes |= set(Lot.objects.filter(quantity__gt=0).values_list("commodity_id", flat=True))
    codes |= set(Loan.objects.values_list("collateral_commodity_id", flat=True))
    return sorted(codes - {FUNCTIONAL_CURRENCY, settings.PRICE_QUOTE})


def price_for(*, base: str, on: date) -> Price:
    """The price the policy uses for a day, or a MissingPrice naming the day."""
    at = price_timestamp(on)
    price = Price.objects.filter(base_id=base, quote_id=settings.PRICE_QUOTE, timestamp=at).first()
    if price is None:
        raise MissingPrice(
            f"no {base}/{settings.PRICE_QUOTE} price at {at:%Y-%m-%dT%H:%M:%SZ}, which the "
            f"{settings.PRICE_POLICY} price policy uses for {on}",
            field="price",
        )
    return price


def prices(
    *,
    base: str | None = None,
    quote: str | None = None,
    start: date | None = None,
    end: date | None = None,
    source: str | None = None,
) -> QuerySet[Price]:
    queryset = Price.objects.all()
    if base:
        queryset = queryset.filter(base_id=base)
    if quote:
        queryset = queryset.filter(quote_id=quote)
    if start:
        queryset = queryset.filter(timestamp__date__gte=start)
    if end:
        queryset = queryset.filter(timestamp__date__lte=end)
    if source:
        queryset = queryset.filter(source=source)
    return queryset.order_by("base", "quote", "timestamp")


PRICE_USES = {
    "production_record": "A pool's daily earning valued at the day's price (recorded)",
    "lot": "A lot opened at that price: mined (recorded); transferred lots keep their "
    "parent's price and are not listed again",
    "remeasurement": "A fair value remeasurement (recorded)",
    "sale": "A sale's proceeds in a stablecoin valued at the day's price (the price the "
    "policy selects, listed when the value booked is units times that price)",
    "loan_draw": "Loan principal in a stablecoin valued at the day's price (policy, as above)",
    "loan_accrual": "A day's interest in a stablecoin valued at the day's price (policy, as above)",
    "ltv_tier": "An LTV tier crossing: the collateral price it was measured at (recorded "
    "on the event; no entry)",
}


@dataclass(frozen=True)
class PriceUse:
    """One use of one price: the record that used it and the entry that posted it.

    `link` is `recorded` when the record keeps the price (a foreign key, or on a tier
    crossing its text), `policy` when the record keeps only the value it booked and the
    price is the one the price policy selects for the day, listed only when units times
    that price, to the cent, is the value booked."""

    price: Price
    used_by: str
    link: str
    record: int
    reference: str
    effective_date: date
    entry_id: int | None
    entry_sequence: int | None
    commodity: str | None
    quantity: Decimal | None
    value: Decimal | None


def price_evidence(
    *, start: date, end: date, base: str | None = None, used_by: str | None = None
) -> list[PriceUse]:
    """Every price an entry (or a recorded LTV check) used from `start` to `end` (the UTC
    date of the use: the entry's effective date), oldest first, with what used it."""
    if start > end:
        raise HoldingsError(f"end must not be before start ({start.isoformat()})", field="end")
    if used_by is not None and used_by not in PRICE_USES:
        raise HoldingsError(f"used_by is one of {', '.join(PRICE_USES)}", field="used_by")
    uses: list[dict[str, Any]] = []
    wanted = used_by
    if wanted in (None, "production_record"):
        uses += _production_uses(start, end, base)
    if wanted in (None, "lot"):
        uses += _lot_uses(start, end, base)
    if wanted in (None, "remeasurement"):
        uses += _remeasurement_uses(start, end, base)
    if wanted in (None, "sale", "loan_draw", "loan_accrual", "ltv_tier"):
        uses += [
            use
            for use in _policy_uses(start, end, base)
            if wanted is None or use["used_by"] == wanted
        ]
    prices = Price.objects.in_bulk({use["price_id"] for use in uses})
    order = list(PRICE_USES)
    uses.sort(key=lambda use: (use["effective_date"], order.index(use["used_by"]), use["record"]))
    return [
        PriceUse(price=prices[use.pop("price_id")], **use)  # type: ignore[arg-type]
        for use in uses
    ]


def _production_uses(start: date, end: date, base: str | None) -> list[dict[str, Any]]:
    records = ProductionRecord.objects.filter(
        price__isnull=False, day__gte=start, day__lte=end
    ).order_by()
    if base:
        records = records.filter(price__base_id=base)
    return [
        {
            "price_id": row["price_id"],
            "used_by": "production_record",
            "link": "recorded",
            "record": row["id"],
            "reference": f"{row['pool_account__code']} {row['day']}",
            "effective_date": row["day"],
            "entry_id": row["entry_id"],
            "entry_sequence": row["entry__sequence"],
            "commodity": row["pool_account__commodity_id"],
            "quantity": row["net"],
            "value": row["value"],
        }
        for row in records.values(
            "id",
            "price_id",
            "pool_account__code",
            "pool_account__commodity_id",
            "day",
            "entry_id",
            "entry__sequence",
            "net",
            "value",
        )
    ]


def _lot_uses(start: date, end: date, base: str | None) -> list[dict[str, Any]]:
    lots = (
        Lot.objects.filter(
            price__isnull=False,
            opened_by_entry__effective_date__gte=start,
            opened_by_entry__effective_date__lte=end,
        )
        .exclude(origin=LotOrigin.TRANSFER)
        .order_by()
    )
    if base:
        lots = lots.filter(price__base_id=base)
    return [
        {
            "price_id": row["price_id"],
            "used_by": "lot",
            "link": "recorded",
            "record": row["id"],
            "reference": f"lot {row['id']} ({row['origin']}) in {row['account__code']}",
            "effective_date": row["opened_by_entry__effective_date"],
            "entry_id": row["opened_by_entry_id"],
            "entry_sequence": row["opened_by_entry__sequence"],
            "commodity": row["commodity_id"],
            "quantity": row["original_quantity"],
            "value": row["original_cost"],
        }
        for row in lots.values(
            "id",
            "price_id",
            "origin",
            "account__code",
            "commodity_id",
            "opened_by_entry_id",
            "opened_by_entry__sequence",
            "opened_by_entry__effective_date",
            "original_quantity",
            "original_cost",
        )
    ]


def _remeasurement_uses(start: date, end: date, base: str | None) -> list[dict[str, Any]]:
    remeasurements = Remeasurement.objects.filter(as_of__gte=start, as_of__lte=end).order_by()
    if base:
        remeasurements = remeasurements.filter(price__base_id=base)
    return [
        {
            "price_id": row["price_id"],
            "used_by": "remeasurement",
            "link": "recorded",
            "record": row["id"],
            "reference": f"{row['commodity_id']} remeasured at {row['as_of']}",
            "effective_date": row["as_of"],
            "entry_id": row["entry_id"],
            "entry_sequence": row["entry__sequence"],
            "commodity": row["commodity_id"],
            "quantity": row["units"],
            "value": row["fair_value"],
        }
        for row in remeasurements.values(
            "id",
            "price_id",
            "commodity_id",
            "as_of",
            "entry_id",
            "entry__sequence",
            "units",
            "fair_value",
        )
    ]


def _policy_uses(start: date, end: date, base: str | None) -> list[dict[str, Any]]:
    """Values booked at the day's price without keeping it: a stablecoin sale's proceeds, a
    stablecoin loan's draws and interest; and the prices LTV tier crossings recorded."""
    candidates: list[tuple[str, str, date, dict[str, Any], Decimal | None]] = []
    sales = Sale.objects.filter(sold_at__date__gte=start, sold_at__date__lte=end).exclude(
        proceeds_commodity_id=FUNCTIONAL_CURRENCY
    )
    for sale in sales.select_related("entry").order_by():
        use = {
            "used_by": "sale",
            "record": sale.pk,
            "reference": sale.reference,
            "entry_id": sale.entry_id,
            "entry_sequence": sale.entry.sequence,
            "commodity": sale.proceeds_commodity_id,
            "quantity": sale.gross_proceeds,
            "value": sale.proceeds_value,
        }
        day = sale.sold_at.astimezone(UTC).date()
        candidates.append((sale.proceeds_commodity_id, "policy", day, use, None))
    events = (
        LoanEvent.objects.filter(
            effective_date__gte=start,
            effective_date__lte=end,
            kind__in=[LoanEventKind.DRAW, LoanEventKind.ACCRUAL, LoanEventKind.TIER],
        )
        .exclude(~Q(kind=LoanEventKind.TIER), loan__principal_commodity_id=FUNCTIONAL_CURRENCY)
        .select_related("loan", "entry")
        .order_by()
    )
    for event in events:
        loan = event.loan
        use = {
            "record": event.pk,
            "entry_id": event.entry_id,
            "entry_sequence": event.entry.sequence if event.entry else None,
        }
        if event.kind == LoanEventKind.TIER:
            recorded = event.details.get("price")
            if not recorded:
                continue
            use |= {
                "used_by": "ltv_tier",
                "reference": f"{loan.code}: {event.details.get('previous')} to "
                f"{event.details.get('tier')}, LTV {event.details.get('ltv')}",
                "commodity": loan.collateral_commodity_id,
                "quantity": None,
                "value": None,
            }
            candidates.append(
                (
                    loan.collateral_commodity_id,
                    "recorded",
                    event.effective_date,
                    use,
                    Decimal(recorded),
                )
            )
            continue
        if event.entry is None:  # a day without interest: nothing was valued
            continue
        value = Decimal(event.details.get("value", "0"))
        use |= {
            "used_by": "loan_draw" if event.kind == LoanEventKind.DRAW else "loan_accrual",
            "reference": f"{loan.code} {event.kind} {event.effective_date}",
            "commodity": loan.principal_commodity_id,
            "quantity": event.amount,
            "value": value,
        }
        candidates.append((loan.principal_commodity_id, "policy", event.effective_date, use, None))
    wanted = [c for c in candidates if not base or c[0] == base]
    stamps = {(c[0], price_timestamp(c[2])) for c in wanted}
    prices = {
        (p.base_id, p.timestamp): p
        for p in Price.objects.filter(
            base_id__in={b for b, _ in stamps},
            quote_id=settings.PRICE_QUOTE,
            timestamp__in={t for _, t in stamps},
        )
    }
    uses = []
    for commodity, link, day, use, recorded in wanted:
        price = prices.get((commodity, price_timestamp(day)))
        if price is None:
            continue
        if link == "policy" and cents(use["quantity"] * price.price) != use["value"]:
            continue  # valued otherwise (a value given with the event): no price was used
        if recorded is not None and recorded != price.price:
            continue
        uses.append({"price_id": price.pk, "link": link, "effective_date": day, **use})
    return uses


def price_timestamp(day: date) -> datetime:
    """The timestamp whose price values a day's production (and a day's remeasurement)."""
    if settings.PRICE_POLICY == "day_start":
        return datetime.combine(day, time(0), tzinfo=UTC)
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def earning_day_for(timestamp: datetime) -> date:
    if settings.PRICE_POLICY == "day_start":
        return timestamp.date()
    return (timestamp - timedelta(days=1)).date()


def earned_at(day: date) -> datetime:
    """When a day's earning is acquired: credited at the end of the day it covers."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
