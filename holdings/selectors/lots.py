"""Reads of lots: open lots as of a date, and lots that differ from their accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)

from holdings import chart
from holdings.errors import HoldingsError
from holdings.models import (
    Lot,
    LotMovement,
    LotOpenSpan,
    Payout,
)
from ledger import selectors as ledger_selectors
from ledger.models import (
    Account,
)


def lots(
    *,
    as_of: date | None = None,
    account: str | None = None,
    commodity: str | None = None,
    open_only: bool = True,
) -> QuerySet[Lot]:
    """Lots with their state (quantity, cost, adjustment) at the end of `as_of`, or now.

    The state as of a date is the sum of the lot's movements up to that date, so it is
    exact whatever was posted later.
    """
    # The production record names the lot's pool account and day; its raw row (the pool's
    # own, as imported) is not read back for a page of lots.
    queryset = Lot.objects.select_related(
        "account",
        "price",
        "production_record",
        "production_record__pool_account",
    ).defer("production_record__raw")
    # Which lots are asked for: their movements alone are summed below.
    wanted = Q()
    if account:
        root = Account.objects.filter(code=account).first()
        if root is None:
            raise HoldingsError(f"unknown account {account!r}", field="account")
        ids = ledger_selectors.subtree_ids(root)
        queryset = queryset.filter(account_id__in=ids)
        wanted &= Q(lot__account_id__in=ids)
    if commodity:
        queryset = queryset.filter(commodity_id=commodity)
        wanted &= Q(lot__commodity_id=commodity)
    if as_of is None:
        queryset = queryset.annotate(
            held_quantity=F("quantity"),
            held_cost=F("cost"),
            held_adjustment=F("fair_value_adjustment"),
        )
        if open_only:
            queryset = queryset.filter(quantity__gt=0)
        return queryset.order_by("acquired_at", "id")
    # Which lots held units at the date: those with a span of days open across it (a row
    # per lot, kept by the database from the movements); every lot asked for with a movement
    # by then, when closed ones are wanted too...
    movements = LotMovement.objects.filter(effective_date__lte=as_of)
    held: QuerySet[Any, Any]
    if open_only:
        spans = LotOpenSpan.objects.filter(
            Q(closed_on__isnull=True) | Q(closed_on__gt=as_of), opened_on__lte=as_of
        )
        if account:
            spans = spans.filter(account_id__in=ids)
        if commodity:
            spans = spans.filter(commodity_id=commodity)
        held = spans.values("lot_id")
    else:
        held = movements.filter(wanted).values("lot_id")

    # ...and their state summed per lot only for the rows a page returns.
    def held_sum(field: str) -> Subquery:
        return Subquery(
            movements.filter(lot=OuterRef("pk"))
            .values("lot_id")
            .annotate(total=Sum(field))
            .values("total")
        )

    return (
        queryset.filter(pk__in=held.values("lot_id"))
        .annotate(
            held_quantity=held_sum("quantity"),
            held_cost=held_sum("cost"),
            held_adjustment=held_sum("fair_value_adjustment"),
        )
        .order_by("acquired_at", "id")
    )


@dataclass(frozen=True)
class LotDifference:
    account: str
    commodity: str
    ledger_quantity: Decimal
    lots_quantity: Decimal
    ledger_value: Decimal
    lots_cost: Decimal
    # A fair value adjustment account (1290, 1490...): its balance against the adjustments of
    # the lots it measures, in lots_cost (lots_quantity says the same in its USD).
    adjustment: bool = False


def lot_differences(*, as_of: date) -> list[LotDifference]:
    """Accounts whose quantity (or cost) in the ledger differs from the sum of their lots
    as of a date, and fair value adjustment accounts whose balance differs from the
    adjustments of the lots they measure (holdings migration 0041). Empty when invariant 9
    holds. Every asset account in a commodity other than USD holds lots."""
    sql = """
        WITH by_account AS MATERIALIZED (
            SELECT l.account_id, sum(m.quantity) q, sum(m.cost) c,
                   sum(m.fair_value_adjustment) adjustment
              FROM holdings_lotmovement m JOIN holdings_lot l ON l.id = m.lot_id
             WHERE m.effective_date <= %(as_of)s
             GROUP BY l.account_id
        ), measured AS MATERIALIZED (
            SELECT holdings_lots_adjustment_account(account_id) AS account_id,
                   sum(adjustment) AS adjustment
              FROM by_account WHERE adjustment <> 0 GROUP BY 1
        ), lot_sums AS (
            SELECT account_id, q, c, false AS adjustment FROM by_account
            UNION ALL
            SELECT a.id, coalesce(m.adjustment, 0), coalesce(m.adjustment, 0), true
              FROM ledger_account a
              LEFT JOIN measured m ON m.account_id = a.id
             WHERE a.code = ANY(%(adjustment_codes)s)
        ), ledger_sums AS MATERIALIZED (
            SELECT account_id, sum(quantity) q, sum(value) v FROM (
                SELECT account_id, quantity, value FROM ledger_monthlybalance
                 WHERE month < date_trunc('month', %(as_of)s::date)
                UNION ALL
                SELECT account_id, quantity, value FROM ledger_dailybalance
                 WHERE day >= date_trunc('month', %(as_of)s::date) AND day <= %(as_of)s
            ) b GROUP BY account_id
        )
        SELECT a.code, a.commodity_id, coalesce(s.q, 0), coalesce(ls.q, 0),
               coalesce(s.v, 0), coalesce(ls.c, 0), coalesce(ls.adjustment, false)
          FROM ledger_account a
          LEFT JOIN ledger_sums s ON s.account_id = a.id
          LEFT JOIN lot_sums ls ON ls.account_id = a.id
         WHERE (a.type = 'asset' AND a.commodity_id <> 'USD') OR ls.account_id IS NOT NULL
         ORDER BY a.code
    """
    codes = [*chart.FAIR_VALUE_ADJUSTMENT.values(), *chart.COLLATERAL_ADJUSTMENTS.values()]
    with connection.cursor() as cursor:
        cursor.execute(sql, {"as_of": as_of, "adjustment_codes": codes})
        rows = cursor.fetchall()
    return [
        LotDifference(code, commodity, lq, lotq, lv, lotc, adjustment)
        for code, commodity, lq, lotq, lv, lotc, adjustment in rows
        if lq != lotq or lv != lotc
    ]


def lot_payouts(found: list[Lot]) -> dict[int, Payout]:
    """The payout that brought each lot into the company's wallets, by lot id: the first
    lot up its line of parents (transfers, pledges and releases open children) opened by a
    payout's entry. A lot brought in otherwise (an opening balance, a purchase, proceeds)
    has none."""
    line: dict[int, tuple[int | None, int]] = {
        lot.pk: (lot.parent_id, lot.opened_by_entry_id) for lot in found
    }
    missing = {parent for parent, _entry in line.values() if parent and parent not in line}
    while missing:  # one query per generation of parents
        rows = Lot.objects.filter(pk__in=missing).values_list(
            "pk", "parent_id", "opened_by_entry_id"
        )
        line.update((pk, (parent, entry)) for pk, parent, entry in rows)
        missing = {parent for parent, _entry in line.values() if parent and parent not in line}
    payouts = Payout.objects.filter(entry_id__in={entry for _parent, entry in line.values()})
    by_entry = {payout.entry_id: payout for payout in payouts}
    result = {}
    for lot in found:
        step: int | None = lot.pk
        while step is not None and line[step][1] not in by_entry:
            step = line[step][0]
        if step is not None:
            result[lot.pk] = by_entry[line[step][1]]
    return result
