"""Reads of production: the monthly production report, and which pool accounts and imports
the nightly jobs pick up. No side effects.
"""

from __future__ import annotations

import calendar
import os
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    DateField,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone

from holdings import chart
from holdings.errors import InvalidSetup
from holdings.importers.clients import Credentials
from holdings.models import (
    BatchStatus,
    ImportBatch,
    PoolAccount,
    ProductionMonthTotal,
    ProductionRecord,
    Sale,
    Site,
)
from ledger import selectors as ledger_selectors
from ledger.models import (
    Account,
    AccountType,
    CancellationStatus,
)

ZERO = Decimal(0)


EXA = Decimal(10) ** 18
# The unit a coin's hashrate is shown in, by its network's size: (name, power of ten of H/s).
HASHRATE_UNITS = {"BTC": ("EH/s", 18), "KAS": ("TH/s", 12), "ETC": ("GH/s", 9)}
DEFAULT_HASHRATE_UNIT = ("TH/s", 12)
# An average price is shown to six significant digits, never fewer than the cent.
PRICE_DIGITS = 6


def hashrate_unit(commodity: str) -> tuple[str, int]:
    return HASHRATE_UNITS.get(commodity, DEFAULT_HASHRATE_UNIT)


def in_unit(hashes_per_second: Decimal, commodity: str) -> Decimal:
    """H/s in the coin's unit (hashrate_unit), to 0.01, half-even."""
    _name, power = hashrate_unit(commodity)
    return (Decimal(hashes_per_second).scaleb(-power)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_EVEN
    )


def price_to_its_precision(value: Decimal) -> Decimal:
    """A price or average price to six significant digits and at least the cent, half-even,
    without trailing zeros past the cent: 90,123.456 -> 90123.46, 0.09978 stays 0.09978."""
    places = max(2, PRICE_DIGITS - 1 - value.adjusted()) if value else 2
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    if places > 2:
        text = f"{rounded:f}".rstrip("0")
        whole, _, decimals = text.partition(".")
        rounded = Decimal(f"{whole}.{decimals.ljust(2, '0')}")
    return rounded


@dataclass(frozen=True)
class ProductionMonth:
    """One month in the form miners publish. Averages are rounded half-even: per-day
    production to the commodity's scale, hashrates to 0.01 of the coin's unit (`hashrate_unit`:
    EH/s for BTC, TH/s for KAS, GH/s for ETC; the `_ehs` figures stay in EH/s), the average
    price to six significant digits and at least the cent. Deployed hashrate is that of the
    sites active now that mine the commodity (a site with a pool account in it; a site with
    none counts for BTC): sites keep no history."""

    month: date
    commodity: str
    days: int
    mined: Decimal
    average_per_day: Decimal
    held_at_month_end: Decimal
    restricted_at_month_end: Decimal
    unrestricted_at_month_end: Decimal
    average_operating_hashrate_ehs: Decimal | None
    deployed_hashrate_ehs: Decimal
    mined_change_percent: Decimal | None
    held_change: Decimal | None
    sold: Decimal = ZERO
    net_proceeds_usd: Decimal = ZERO  # USD value of the proceeds, after the venues' fees
    average_price_usd: Decimal | None = None  # gross proceeds per unit sold
    hashrate_unit: str = "EH/s"
    average_operating_hashrate: Decimal | None = None  # in hashrate_unit
    deployed_hashrate: Decimal = ZERO  # in hashrate_unit


@dataclass(frozen=True)
class ProducedMonth:
    """A month's standing pool records, added up: the units mined (net of the pools' fees),
    their value at recognition (USD), and the sum of the days' hashrates (H/s), None when no
    record gave one."""

    mined: Decimal
    value: Decimal
    hashrate_hs: Decimal | None


def production_report(*, start: date, end: date, commodity: str = "BTC") -> list[ProductionMonth]:
    """One row per month from `start`'s month to `end`'s month."""
    months = _months(start, end)
    scale = 8
    commodity_accounts = Account.objects.filter(commodity_id=commodity).select_related("commodity")
    first = commodity_accounts.first()
    if first is not None:
        scale = first.commodity.decimal_places
    per_month = production_by_month(
        commodity=commodity, start=_previous_month(months[0]), end=_month_end(months[-1])
    )
    sales = {
        row["month"]: row
        for row in Sale.objects.filter(
            commodity_id=commodity,
            sold_at__date__gte=months[0],
            sold_at__date__lte=_month_end(months[-1]),
        )
        .annotate(month=TruncMonth("sold_at", output_field=DateField(), tzinfo=UTC))
        .values("month")
        .annotate(units=Sum("units"), gross=Sum("proceeds_value"), fees=Sum("fee_value"))
        .order_by("month")
    }
    restricted_ids = _restricted_account_ids()
    deployed_hs = deployed_hashrate_hs(commodity)
    deployed_ehs = _ehs(deployed_hs)
    unit = hashrate_unit(commodity)[0]
    rows = []
    before = per_month.get(_previous_month(months[0]))
    previous_mined = before.mined if before else None
    previous_held, *helds = _held(commodity, [_previous_month(months[0]), *months])
    restricteds = _held(commodity, months, restricted_ids)
    for month, held, restricted in zip(months, helds, restricteds, strict=True):
        days = calendar.monthrange(month.year, month.month)[1]
        data = per_month.get(month)
        mined = data.mined if data else ZERO
        hashrate = data.hashrate_hs if data else None
        sold = sales.get(month) or {}
        units, gross = sold.get("units") or ZERO, sold.get("gross") or ZERO
        rows.append(
            ProductionMonth(
                month=month,
                commodity=commodity,
                days=days,
                mined=mined,
                average_per_day=(mined / days).quantize(
                    Decimal(1).scaleb(-scale), rounding=ROUND_HALF_EVEN
                ),
                held_at_month_end=held,
                restricted_at_month_end=restricted,
                unrestricted_at_month_end=held - restricted,
                average_operating_hashrate_ehs=_ehs(hashrate / days) if hashrate else None,
                deployed_hashrate_ehs=deployed_ehs,
                mined_change_percent=(
                    ((mined - previous_mined) * 100 / previous_mined).quantize(
                        Decimal("0.1"), rounding=ROUND_HALF_EVEN
                    )
                    if previous_mined
                    else None
                ),
                held_change=held - previous_held,
                sold=units,
                net_proceeds_usd=gross - (sold.get("fees") or ZERO),
                average_price_usd=(price_to_its_precision(gross / units) if units else None),
                hashrate_unit=unit,
                average_operating_hashrate=(
                    in_unit(hashrate / days, commodity) if hashrate else None
                ),
                deployed_hashrate=in_unit(deployed_hs, commodity),
            )
        )
        previous_mined, previous_held = mined, held
    return rows


def standing_records(
    *, commodity: str, start: date, end: date, site: Site | None = None
) -> QuerySet[ProductionRecord]:
    """The records of `commodity`'s pool accounts (those of `site`) from `start` through
    `end` that stand: not cancelled (their entry's cancellation approved)."""
    records = ProductionRecord.objects.filter(
        pool_account__commodity_id=commodity, day__gte=start, day__lte=end
    ).exclude(entry__cancellations__status=CancellationStatus.APPROVED)
    if site is not None:
        records = records.filter(pool_account__site=site)
    return records


def production_by_month(
    *, commodity: str, start: date, end: date, site: Site | None = None
) -> dict[date, ProducedMonth]:
    """What the pool accounts of `commodity` (those of `site`) mined from `start` through
    `end`, month by month (by the month's first day); months without a standing record are
    left out. A cancelled pool record (its entry's cancellation approved) was not mined.
    Whole months are read from their totals (a row per pool account and month,
    ProductionMonthTotal); a month the range cuts, from its records."""
    accounts: dict[str, Any] = {"pool_account__commodity_id": commodity}
    if site is not None:
        accounts["pool_account__site"] = site
    first_whole = start if start.day == 1 else _next_month(start.replace(day=1))
    last_whole = end.replace(day=1) if end == _month_end(end) else _previous_month(end)
    months: dict[date, ProducedMonth] = {}
    for row in (
        ProductionMonthTotal.objects.filter(
            **accounts, month__gte=first_whole, month__lte=last_whole
        )
        .values("month")
        .annotate(
            mined=Sum("net"),
            value=Sum("value"),
            hashrate=Sum("hashrate_hs"),
            hashrates=Sum("hashrate_records"),
            records=Sum("records"),
        )
        .filter(records__gt=0)
        .order_by()
    ):
        hashrate = row["hashrate"] if row["hashrates"] else None
        months[row["month"]] = ProducedMonth(row["mined"], row["value"], hashrate)
    cut = {(start, min(end, _month_end(start))), (max(start, end.replace(day=1)), end)}
    for first, last in cut:
        if first > last or (first.day == 1 and last == _month_end(first)):
            continue  # empty, or a whole month
        part = standing_records(commodity=commodity, start=first, end=last, site=site).aggregate(
            mined=Sum("net"), value=Sum("value"), hashrate=Sum("hashrate_hs")
        )
        if part["mined"] is not None:
            months[first.replace(day=1)] = ProducedMonth(
                part["mined"], part["value"], part["hashrate"]
            )
    return months


@dataclass(frozen=True)
class MonthTotalDifference:
    """A pool account's month whose totals differ from its standing records: what the
    records add up to, and what the totals hold."""

    pool_account: str
    commodity: str
    month: date
    records: tuple[int, int]
    net: tuple[Decimal, Decimal]
    value: tuple[Decimal, Decimal]
    hashrate_hs: tuple[Decimal, Decimal]


def production_month_differences() -> list[MonthTotalDifference]:
    """Pool accounts' months whose totals (ProductionMonthTotal) are not their standing
    records added up, in any figure: PostgreSQL keeps them, so any would be a break."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH r AS (
                SELECT r.pool_account_id, date_trunc('month', r.day)::date AS month,
                       count(*) AS records, sum(r.net) AS net, sum(r.value) AS value,
                       coalesce(sum(r.hashrate_hs), 0) AS hashrate_hs,
                       count(r.hashrate_hs) AS hashrate_records
                  FROM holdings_productionrecord r
                 WHERE NOT EXISTS (SELECT 1 FROM ledger_cancellation c
                                    WHERE c.entry_id = r.entry_id AND c.status = 'approved')
                 GROUP BY 1, 2
            )
            SELECT p.code, p.commodity_id, coalesce(r.month, t.month),
                   coalesce(r.records, 0), coalesce(t.records, 0),
                   coalesce(r.net, 0), coalesce(t.net, 0),
                   coalesce(r.value, 0), coalesce(t.value, 0),
                   coalesce(r.hashrate_hs, 0), coalesce(t.hashrate_hs, 0)
              FROM r
              FULL JOIN holdings_productionmonthtotal t
                ON t.pool_account_id = r.pool_account_id AND t.month = r.month
              JOIN holdings_poolaccount p ON p.id = coalesce(r.pool_account_id, t.pool_account_id)
             WHERE coalesce(r.records, 0) <> coalesce(t.records, 0)
                OR coalesce(r.net, 0) <> coalesce(t.net, 0)
                OR coalesce(r.value, 0) <> coalesce(t.value, 0)
                OR coalesce(r.hashrate_hs, 0) <> coalesce(t.hashrate_hs, 0)
                OR coalesce(r.hashrate_records, 0) <> coalesce(t.hashrate_records, 0)
             ORDER BY 1, 3
            """
        )
        return [
            MonthTotalDifference(code, commodity, month, *zip(row[::2], row[1::2], strict=True))
            for code, commodity, month, *row in cursor.fetchall()
        ]


@dataclass(frozen=True)
class ProductionBreak:
    """A production record or payout that its entry does not post. `subject_type` is
    production_record (subject: its day) or payout (subject: its external id)."""

    subject_type: str
    subject: str
    pool_account: str
    entry_sequence: int | None
    detail: str

    @property
    def key(self) -> str:
        return f"{self.pool_account} {self.subject}"

    @property
    def label(self) -> str:
        kind = self.subject_type.replace("_", " ")
        return f"{kind} {self.subject} of pool account {self.pool_account}"


def production_breaks() -> list[ProductionBreak]:
    """Production records and payouts against their entries, as PostgreSQL holds them at each
    write since holdings migrations 0046 and 0047: a record's entry posts its net at its value
    into the receivable and its value out of mining revenue (a record without one earned
    nothing), a payout's moves its amount from the receivable into its wallet. Found here:
    what a ledger of an earlier release holds, or what was written with the triggers off. In
    the journal's order."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT 'production_record', r.day::text, a.code, j.sequence,
                   CASE WHEN r.entry_id IS NULL
                        THEN format('earned %%s worth %%s with no entry', r.net, r.value)
                        ELSE format('earned %%s worth %%s; its entry posts %%s at %%s into the '
                                    'receivable and %%s out of mining revenue', r.net, r.value,
                                    coalesce(p.quantity, 0), coalesce(p.value, 0),
                                    -coalesce(p.revenue, 0)) END
              FROM holdings_productionrecord r
              JOIN holdings_poolaccount a ON a.id = r.pool_account_id
              LEFT JOIN ledger_account revenue ON revenue.code = %(revenue)s
              LEFT JOIN ledger_journalentry j ON j.id = r.entry_id
              LEFT JOIN LATERAL (
                  SELECT sum(x.quantity) FILTER (WHERE x.account_id = a.receivable_account_id)
                             AS quantity,
                         sum(x.value) FILTER (WHERE x.account_id = a.receivable_account_id)
                             AS value,
                         sum(x.value) FILTER (WHERE x.account_id = revenue.id) AS revenue
                    FROM ledger_posting x
                   WHERE x.entry_id = r.entry_id
              ) p ON r.entry_id IS NOT NULL
             WHERE CASE WHEN r.entry_id IS NULL THEN r.net <> 0 OR r.value <> 0
                        ELSE (coalesce(p.quantity, 0), coalesce(p.value, 0),
                              coalesce(p.revenue, 0)) <> (r.net, r.value, -r.value) END
            UNION ALL
            SELECT 'payout', o.external_id, a.code, j.sequence,
                   format('pays %%s to wallet %%s; its entry posts %%s into the wallet and %%s '
                          'out of the receivable', o.amount, w.code, coalesce(p.received, 0),
                          -coalesce(p.paid, 0))
              FROM holdings_payout o
              JOIN holdings_poolaccount a ON a.id = o.pool_account_id
              JOIN holdings_wallet w ON w.id = o.wallet_id
              JOIN ledger_journalentry j ON j.id = o.entry_id
              LEFT JOIN LATERAL (
                  SELECT sum(quantity) FILTER (WHERE account_id = w.account_id) AS received,
                         sum(quantity) FILTER (WHERE account_id = a.receivable_account_id)
                             AS paid
                    FROM ledger_posting WHERE entry_id = o.entry_id
              ) p ON true
             WHERE (coalesce(p.received, 0), coalesce(p.paid, 0)) <> (o.amount, -o.amount)
             ORDER BY 4 NULLS FIRST, 1, 2
            """,
            {"revenue": chart.MINING_REVENUE},
        )
        return [ProductionBreak(*row) for row in cursor.fetchall()]


def deployed_hashrate_hs(commodity: str) -> Decimal:
    """The deployed hashrate (H/s) of the active sites that mine `commodity` (the site's
    own commodity)."""
    total = Site.objects.filter(commodity_id=commodity, is_active=True).aggregate(
        total=Sum("deployed_hashrate_hs")
    )
    return total["total"] or ZERO


def _held(commodity: str, months: list[date], among: set[int] | None = None) -> list[Decimal]:
    """The units the asset accounts of `commodity` (those `among` these ids) held at the end
    of each month."""
    accounts = Account.objects.filter(type=AccountType.ASSET, commodity_id=commodity)
    if among is not None:
        accounts = accounts.filter(pk__in=among)
    ids = list(accounts.values_list("pk", flat=True))
    return ledger_selectors.month_end_quantities(account_ids=ids, months=months)


def _restricted_account_ids() -> set[int]:
    ids: set[int] = set()
    for account in Account.objects.filter(code__in=chart.RESTRICTED_ROOTS):
        ids.update(ledger_selectors.subtree_ids(account))
    return ids


def _ehs(hashes_per_second: Decimal) -> Decimal:
    return (Decimal(hashes_per_second) / EXA).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def _months(start: date, end: date) -> list[date]:
    if end < start:
        raise ValueError("end is before start")
    months = []
    month = start.replace(day=1)
    while month <= end:
        months.append(month)
        month = _next_month(month)
    return months


def _next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def _previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def _month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def pool_accounts_to_fetch() -> list[PoolAccount]:
    return list(
        PoolAccount.objects.filter(is_active=True, fetch_daily=True)
        .select_related("pool")
        .order_by("code")
    )


def pool_account_credentials(account: PoolAccount) -> Credentials:
    """The account's API credentials, read from the environment variables it names."""
    values = {}
    for field_name, variable in (
        ("api_key", account.api_key_env),
        ("api_secret", account.api_secret_env),
    ):
        if variable:
            value = os.environ.get(variable, "")
            if not value:
                raise InvalidSetup(
                    f"pool account {account.code}: environment variable {variable} is not set",
                    field=f"{field_name}_env",
                )
            values[field_name] = value
    return Credentials(api_user=account.api_user, **values)


def stalled_batch_ids() -> list[int]:
    """Batches pending or running for a while that no live import holds: a worker died, or
    the message was lost. A batch being imported is locked, so SKIP LOCKED passes it by."""
    cutoff = timezone.now() - timedelta(minutes=settings.IMPORT_STALE_AFTER_MINUTES)
    with transaction.atomic():
        return list(
            ImportBatch.objects.select_for_update(skip_locked=True)
            .filter(status__in=[BatchStatus.PENDING, BatchStatus.RUNNING], created_at__lt=cutoff)
            .filter(Q(started_at__isnull=True) | Q(started_at__lt=cutoff))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
