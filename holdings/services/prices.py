"""Daily prices: imported from a file or fetched from the price source, each quote kept once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.conf import settings
from django.db import connection, transaction

from holdings.errors import InvalidSetup, PriceConflict
from holdings.importers.prices import CoinMetricsClient
from holdings.importers.records import PriceQuote
from holdings.models import (
    Price,
)
from holdings.selectors.prices import commodities_held, earning_day_for
from ledger.models import Commodity


def prices_import(
    *, quotes: Sequence[PriceQuote], file_name: str = "prices", skip_identical: bool = False
) -> tuple[int, int]:
    """Store prices, all or nothing: (created, already there). A price already recorded is
    refused, unless `skip_identical` and it has the same value (so overlapping files load);
    one with a different value is refused either way: evidence already used is never
    overwritten."""
    if not quotes:
        raise InvalidSetup(f"{file_name}: no prices in the file", field="file")
    known = set(Commodity.objects.values_list("code", flat=True))
    for quote in quotes:
        for code, column in ((quote.base, "base"), (quote.quote, "quote")):
            if code not in known:
                raise InvalidSetup(
                    f"{file_name}, row {quote.row}, field {column}: unknown commodity {code}",
                    field=column,
                )
    with transaction.atomic():
        # One price import at a time, so two files cannot both claim a timestamp.
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE holdings_price IN SHARE ROW EXCLUSIVE MODE")
        existing = {
            (p.base_id, p.quote_id, p.timestamp): p
            for p in Price.objects.filter(
                base_id__in={q.base for q in quotes},
                quote_id__in={q.quote for q in quotes},
                timestamp__in={q.timestamp for q in quotes},
            )
        }
        new = []
        for quote in quotes:
            old = existing.get((quote.base, quote.quote, quote.timestamp))
            if old is None:
                new.append(
                    Price(
                        base_id=quote.base,
                        quote_id=quote.quote,
                        timestamp=quote.timestamp,
                        price=quote.price,
                        source=quote.source,
                    )
                )
            elif not skip_identical and old.price == quote.price:
                raise PriceConflict(
                    f"{file_name}, row {quote.row}: {quote.base}/{quote.quote} at "
                    f"{quote.timestamp:%Y-%m-%dT%H:%M:%SZ} is already recorded "
                    f"({old.price}, {old.source}); skip identical prices to load a file "
                    "that overlaps",
                    field="price",
                )
            elif old.price != quote.price:
                raise PriceConflict(
                    f"{file_name}, row {quote.row}: {quote.base}/{quote.quote} at "
                    f"{quote.timestamp:%Y-%m-%dT%H:%M:%SZ} is already {old.price} "
                    f"({old.source}); this file says {quote.price}",
                    field="price",
                )
        Price.objects.bulk_create(new)
        if new:
            # A new price moves every loan's LTV: checked at the latest day it prices.
            latest = max(earning_day_for(price.timestamp) for price in new)
            transaction.on_commit(lambda: _check_loans(latest))
    return len(new), len(quotes) - len(new)


def _check_loans(on: date) -> None:
    from holdings.services.loan_ltv import loans_check_ltv

    loans_check_ltv(as_of=on)


def prices_fetch(*, start: date, end: date) -> tuple[int, int]:
    """Prices from the configured provider (Coin Metrics API v4 shape) for a date range, of
    PRICE_PROVIDER_ASSETS, or where that is empty (the default) of every commodity held."""
    if not settings.PRICE_PROVIDER_URL:
        raise InvalidSetup(
            "PRICE_PROVIDER_URL is not set: prices come from files only", field="PRICE_PROVIDER_URL"
        )
    client = CoinMetricsClient(
        base_url=settings.PRICE_PROVIDER_URL,
        api_key=settings.PRICE_PROVIDER_API_KEY or None,
        timeout=settings.POOL_API_TIMEOUT_SECONDS,
    )
    bases = list(settings.PRICE_PROVIDER_ASSETS) or commodities_held()
    quotes = client.fetch(bases=bases, start=start, end=end)
    if not quotes:
        return 0, 0
    return prices_import(
        quotes=quotes,
        file_name=f"{settings.PRICE_PROVIDER_URL} {start}..{end}",
        skip_identical=True,
    )
