"""Writes of the miner's world. Each function is atomic and posts through ledger.services.

Imports of pool files live in holdings.production; this module keeps the set-up (sites,
pools, pool accounts, wallets), prices, opening balances and fair value remeasurement.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils.dateparse import parse_datetime

from holdings import chart
from holdings.addresses import AddressError, check_address
from holdings.errors import InvalidSetup, MissingPrice, PriceConflict, RemeasurementError
from holdings.importers.prices import CoinMetricsClient
from holdings.importers.records import PriceQuote
from holdings.lots import LotPlan, allocate, cents
from holdings.models import (
    ImportSource,
    Lot,
    LotMovement,
    LotMovementKind,
    LotOrigin,
    Pool,
    PoolAccount,
    PoolKind,
    Price,
    Remeasurement,
    Site,
    Wallet,
    WalletAddress,
)
from holdings.production import earning_day_for, price_timestamp
from ledger import selectors as ledger_selectors
from ledger import services as ledger_services
from ledger.models import Account, AccountType, Commodity, MeasurementPolicy
from ledger.money import fits_scale
from ledger.posting import PostingInput
from ledger.text import unprintable_field

# --- set-up ------------------------------------------------------------------------------


def _clean_and_save(instance: Any, what: str) -> Any:
    # What people type (names, regions, labels, custodians) is printable text only.
    unprintable = unprintable_field(instance)
    if unprintable is not None:
        name, problem = unprintable
        raise InvalidSetup(f"{what}: {name} {problem}", field=name)
    try:
        instance.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidSetup(f"{what}: {field}: {' '.join(messages)}", field=field) from exc
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise InvalidSetup(f"{what} already exists", field="code") from exc
    return instance


def site_create(
    *, code: str, name: str, region: str, deployed_hashrate_hs: Decimal | int | str
) -> Site:
    try:
        hashrate = Decimal(str(deployed_hashrate_hs))
    except InvalidOperation:
        raise InvalidSetup(
            f"deployed hashrate {deployed_hashrate_hs!r} is not a number",
            field="deployed_hashrate_hs",
        ) from None
    return _clean_and_save(
        Site(code=code, name=name, region=region, deployed_hashrate_hs=hashrate), f"site {code}"
    )


def pool_create(*, code: str, name: str, kind: str, api_base_url: str = "") -> Pool:
    if kind not in PoolKind.values:
        raise InvalidSetup(
            f"pool kind must be one of {', '.join(PoolKind.values)}, not {kind!r}", field="kind"
        )
    return _clean_and_save(
        Pool(code=code, name=name, kind=kind, api_base_url=api_base_url), f"pool {code}"
    )


def pool_account_create(
    *,
    code: str,
    pool: Pool | str,
    name: str,
    commodity: str = "BTC",
    source: str | None = None,
    site: Site | str | None = None,
    api_user: str = "",
    api_key_env: str = "",
    api_secret_env: str = "",
    fetch_daily: bool = False,
) -> PoolAccount:
    """A pool sub-account, with its own receivable account under the pool receivables."""
    pool_obj = _get(Pool, pool, "pool")
    site_obj = _get(Site, site, "site") if site else None
    source = source or (pool_obj.kind if pool_obj.kind in ImportSource.values else "csv")
    if source not in ImportSource.values:
        raise InvalidSetup(f"unknown source {source!r}", field="source")
    parent = chart.POOL_RECEIVABLES.get(commodity)
    if parent is None:
        raise InvalidSetup(
            f"no pool receivables account for {commodity} in the chart "
            f"(known: {', '.join(chart.POOL_RECEIVABLES)})",
            field="commodity",
        )
    with transaction.atomic():
        if PoolAccount.objects.filter(code=code).exists():
            raise InvalidSetup(f"pool account {code} already exists", field="code")
        receivable = ledger_services.account_create(
            code=f"{parent}-{code}",
            name=f"Receivable from {pool_obj.name} ({name})",
            type=AccountType.ASSET,
            commodity=commodity,
            parent=parent,
            must_not_go_negative=True,
        )
        return _clean_and_save(
            PoolAccount(
                code=code,
                pool=pool_obj,
                name=name,
                site=site_obj,
                commodity_id=commodity,
                receivable_account=receivable,
                source=source,
                api_user=api_user,
                api_key_env=api_key_env,
                api_secret_env=api_secret_env,
                fetch_daily=fetch_daily,
            ),
            f"pool account {code}",
        )


def wallet_create(
    *,
    code: str,
    name: str,
    commodity: str = "BTC",
    parent_account: str | None = None,
    custodian: str = "",
    addresses: Iterable[str] = (),
) -> Wallet:
    """A wallet (or custodian account) with its own ledger account under `parent_account`."""
    parents = chart.WALLET_PARENTS.get(commodity)
    if not parents:
        raise InvalidSetup(f"no wallet accounts for {commodity} in the chart", field="commodity")
    parent = parent_account or parents[0]
    if parent not in parents:
        raise InvalidSetup(
            f"a {commodity} wallet sits under one of {', '.join(parents)}, not {parent}",
            field="parent_account",
        )
    with transaction.atomic():
        if Wallet.objects.filter(code=code).exists():
            raise InvalidSetup(f"wallet {code} already exists", field="code")
        account = ledger_services.account_create(
            code=f"{parent}-{code}",
            name=name,
            type=AccountType.ASSET,
            commodity=commodity,
            parent=parent,
            must_not_go_negative=True,
        )
        wallet = _clean_and_save(
            Wallet(
                code=code, name=name, custodian=custodian, commodity_id=commodity, account=account
            ),
            f"wallet {code}",
        )
        for address in addresses:
            wallet_address_add(wallet=wallet, address=address)
    return wallet


def wallet_address_add(*, wallet: Wallet | str, address: str, label: str = "") -> WalletAddress:
    wallet_obj = _get(Wallet, wallet, "wallet")
    address = address.strip()
    if not address:
        raise InvalidSetup("an address cannot be empty", field="address")
    try:
        address = check_address(wallet_obj.commodity_id, address)
    except AddressError as exc:
        raise InvalidSetup(str(exc), field="address") from exc
    owner = WalletAddress.objects.filter(address=address).select_related("wallet").first()
    if owner is not None:
        raise InvalidSetup(
            f"address {address} already belongs to wallet {owner.wallet.code}", field="address"
        )
    return _clean_and_save(
        WalletAddress(wallet=wallet_obj, address=address, label=label), f"address {address}"
    )


def setup_load(*, data: Mapping[str, Any]) -> dict[str, int]:
    """Create the sites, pools, wallets and pool accounts a set-up document lists, skipping
    those that exist (by code). All or nothing."""
    created = {"sites": 0, "pools": 0, "wallets": 0, "pool_accounts": 0}
    with transaction.atomic():
        for row in data.get("sites", []):
            if not Site.objects.filter(code=row["code"]).exists():
                site_create(
                    **{k: row[k] for k in ("code", "name", "region", "deployed_hashrate_hs")}
                )
                created["sites"] += 1
        for row in data.get("pools", []):
            if not Pool.objects.filter(code=row["code"]).exists():
                pool_create(
                    **{k: row[k] for k in ("code", "name", "kind")},
                    api_base_url=row.get("api_base_url", ""),
                )
                created["pools"] += 1
        for row in data.get("wallets", []):
            if not Wallet.objects.filter(code=row["code"]).exists():
                wallet_create(
                    code=row["code"],
                    name=row["name"],
                    commodity=row.get("commodity", "BTC"),
                    parent_account=row.get("parent_account"),
                    custodian=row.get("custodian", ""),
                    addresses=row.get("addresses", []),
                )
                created["wallets"] += 1
        for row in data.get("pool_accounts", []):
            if not PoolAccount.objects.filter(code=row["code"]).exists():
                pool_account_create(
                    code=row["code"],
                    pool=row["pool"],
                    name=row["name"],
                    commodity=row.get("commodity", "BTC"),
                    source=row.get("source"),
                    site=row.get("site"),
                    api_user=row.get("api_user", ""),
                    api_key_env=row.get("api_key_env", ""),
                    api_secret_env=row.get("api_secret_env", ""),
                    fetch_daily=bool(row.get("fetch_daily", False)),
                )
                created["pool_accounts"] += 1
    return created


def _get(model: Any, ref: Any, what: str) -> Any:
    if isinstance(ref, model):
        return ref
    found = model.objects.filter(code=ref).first()
    if found is None:
        raise InvalidSetup(f"unknown {what} {ref!r}", field=what)
    return found


# --- prices ------------------------------------------------------------------------------


def prices_import(*, quotes: Sequence[PriceQuote], file_name: str = "prices") -> tuple[int, int]:
    """Store prices, all or nothing: (created, already there). A price that exists with a
    different value is refused: evidence already used is never overwritten."""
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
    from holdings.loans import loans_check_ltv  # loans values collateral with price_for

    loans_check_ltv(as_of=on)


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


# --- opening balances --------------------------------------------------------------------

OPENING_COLUMNS = ("wallet", "acquired_at", "quantity", "cost_usd")


def opening_lots_load(
    *,
    as_of: date,
    rows: Sequence[Mapping[str, str]],
    source: str = "opening lots",
    created_by: Any = None,
) -> tuple[int, bool]:
    """Bring holdings in with their lots (acquisition date and cost) against opening
    balance equity, in one entry dated `as_of`. Loading the same rows again does nothing:
    returns (lots, whether they were created now)."""
    if not rows:
        raise InvalidSetup(f"{source}: no lots", field="rows")
    wallets = {w.code: w for w in Wallet.objects.select_related("account", "commodity")}
    end_of_day = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=UTC)
    parsed = []
    for line, row in enumerate(rows, start=2):
        missing = [c for c in OPENING_COLUMNS if not (row.get(c) or "").strip()]
        if missing:
            raise InvalidSetup(
                f"{source}, row {line}: missing {', '.join(missing)}", field=missing[0]
            )
        wallet = wallets.get(row["wallet"].strip())
        if wallet is None:
            raise InvalidSetup(
                f"{source}, row {line}, field wallet: unknown wallet {row['wallet']!r}",
                field="wallet",
            )
        acquired_at = parse_datetime(row["acquired_at"].strip())
        if acquired_at is None or acquired_at.utcoffset() != timedelta(0):
            raise InvalidSetup(
                f"{source}, row {line}, field acquired_at: "
                f"{row['acquired_at']!r} is not a UTC timestamp (…Z)",
                field="acquired_at",
            )
        if acquired_at >= end_of_day:
            raise InvalidSetup(
                f"{source}, row {line}, field acquired_at: after {as_of}", field="acquired_at"
            )
        quantity = _decimal(row["quantity"], f"{source}, row {line}, field quantity")
        cost = _decimal(row["cost_usd"], f"{source}, row {line}, field cost_usd")
        scale = wallet.commodity.decimal_places
        if quantity <= 0 or not fits_scale(quantity, scale):
            raise InvalidSetup(
                f"{source}, row {line}, field quantity: {quantity} must be "
                f"positive with at most {scale} decimals",
                field="quantity",
            )
        if cost < 0 or not fits_scale(cost, 2):
            raise InvalidSetup(
                f"{source}, row {line}, field cost_usd: {cost} must be zero or "
                f"positive with at most 2 decimals",
                field="cost_usd",
            )
        parsed.append((wallet, acquired_at.astimezone(UTC), quantity, cost))

    canonical = json.dumps(
        [[w.code, a.isoformat(), str(q), str(c)] for w, a, q, c in parsed], sort_keys=True
    )
    key = f"opening-lots:{as_of.isoformat()}:{hashlib.sha256(canonical.encode()).hexdigest()}"
    per_account: dict[int, tuple[Account, Decimal, Decimal]] = {}
    for wallet, _at, quantity, cost in parsed:
        account, q, c = per_account.get(wallet.account_id, (wallet.account, Decimal(0), Decimal(0)))
        per_account[wallet.account_id] = (account, q + quantity, c + cost)
    total = sum((c for _, _, c in per_account.values()), Decimal("0.00"))
    postings = [PostingInput(a, q, c) for a, q, c in per_account.values()]
    if total:
        postings.append(PostingInput(chart.OPENING_EQUITY, -total, -total))
    with transaction.atomic():
        entry, created = ledger_services.entry_post_or_replay(
            effective_date=as_of,
            memo=f"Opening balances at {as_of} ({len(parsed)} lots, {source})",
            postings=postings,
            idempotency_key=key,
            kind="opening_balance",
            created_by=created_by,
        )
        if not created:
            return len(parsed), False
        plan = LotPlan()
        for wallet, acquired_at, quantity, cost in parsed:
            plan.open(
                entry_index=0,
                account=wallet.account,
                acquired_at=acquired_at,
                effective_date=as_of,
                quantity=quantity,
                cost=cost,
                origin=LotOrigin.OPENING,
            )
        plan.write([entry])
    return len(parsed), True


def _decimal(text: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidSetup(f"{where}: {text!r} is not a number") from None
    if not value.is_finite():
        raise InvalidSetup(f"{where}: {text!r} is not a number")
    return value


# --- fair value --------------------------------------------------------------------------


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


def prices_fetch(*, start: date, end: date) -> tuple[int, int]:
    """Prices from the configured provider (Coin Metrics API v4 shape) for a date range."""
    if not settings.PRICE_PROVIDER_URL:
        raise InvalidSetup(
            "PRICE_PROVIDER_URL is not set: prices come from files only", field="PRICE_PROVIDER_URL"
        )
    client = CoinMetricsClient(
        base_url=settings.PRICE_PROVIDER_URL,
        api_key=settings.PRICE_PROVIDER_API_KEY or None,
        timeout=settings.POOL_API_TIMEOUT_SECONDS,
    )
    quotes = client.fetch(bases=list(settings.PRICE_PROVIDER_ASSETS), start=start, end=end)
    if not quotes:
        return 0, 0
    return prices_import(quotes=quotes, file_name=f"{settings.PRICE_PROVIDER_URL} {start}..{end}")


def remeasure_all(*, as_of: date, created_by: Any = None) -> list[Remeasurement]:
    """Remeasure every fair-value commodity that has lots, at one date."""
    codes = (
        Commodity.objects.filter(measurement_policy=MeasurementPolicy.FAIR_VALUE)
        .filter(code__in=Lot.objects.values("commodity_id"))
        .order_by("code")
        .values_list("code", flat=True)
    )
    return [remeasure(commodity=code, as_of=as_of, created_by=created_by) for code in codes]


# --- treasury operations -----------------------------------------------------------------
# Sales and transfers live in holdings.treasury and loans in holdings.loans (both use the
# prices above); the sale service is reachable from here too, where callers look first.


def sale_preview(**kwargs: Any) -> Any:
    """The lots a sale would relieve and its figures, without writing (treasury.sale_preview)."""
    from holdings.treasury import sale_preview as preview

    return preview(**kwargs)


def sale_record(**kwargs: Any) -> Any:
    """Post a sale: FIFO, or the lots named (treasury.sale_record)."""
    from holdings.treasury import sale_record as record

    return record(**kwargs)
