"""Setting up the miner's world: sites, pools, pool accounts, wallets and their addresses,
and the opening balances of lots. Each function is atomic.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime

from holdings import chart
from holdings.addresses import AddressError, check_address
from holdings.errors import InvalidSetup, SetupExists
from holdings.models import (
    ImportSource,
    LotOrigin,
    Pool,
    PoolAccount,
    PoolKind,
    Site,
    Wallet,
    WalletAddress,
)
from holdings.services.lots import LotPlan
from ledger import services as ledger_services
from ledger.models import Account, AccountType
from ledger.money import fits_scale
from ledger.services import PostingInput
from ledger.text import unprintable_field


def _clean_and_save(instance: Any, what: str) -> Any:
    code = getattr(instance, "code", None)
    if code and type(instance).objects.filter(code=code).exists():
        raise SetupExists(f"{what} already exists", field="code")
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
        raise SetupExists(f"{what} already exists", field="code") from exc
    return instance


def site_create(
    *,
    code: str,
    name: str,
    region: str,
    deployed_hashrate_hs: Decimal | int | str,
    commodity: str = "BTC",
) -> Site:
    """A mining site and the coin its machines mine: one a pool account can mine (a pool
    receivables account for it in the chart)."""
    if commodity not in chart.POOL_RECEIVABLES:
        raise InvalidSetup(
            f"a site mines one of {', '.join(chart.POOL_RECEIVABLES)}, not {commodity!r}",
            field="commodity",
        )
    try:
        hashrate = Decimal(str(deployed_hashrate_hs))
    except InvalidOperation:
        raise InvalidSetup(
            f"deployed hashrate {deployed_hashrate_hs!r} is not a number",
            field="deployed_hashrate_hs",
        ) from None
    if not hashrate.is_finite() or hashrate < 0 or hashrate != hashrate.to_integral_value():
        raise InvalidSetup(
            f"deployed hashrate {deployed_hashrate_hs!r} must be a whole number of H/s, "
            "zero or more",
            field="deployed_hashrate_hs",
        )
    return _clean_and_save(
        Site(
            code=code,
            name=name,
            region=region,
            deployed_hashrate_hs=hashrate,
            commodity_id=commodity,
        ),
        f"site {code}",
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
    if site_obj is not None and site_obj.commodity_id != commodity:
        raise InvalidSetup(
            f"site {site_obj.code} mines {site_obj.commodity_id}, not {commodity}: a pool "
            "account at it mines the site's coin",
            field="site",
        )
    with transaction.atomic():
        if PoolAccount.objects.filter(code=code).exists():
            raise SetupExists(f"pool account {code} already exists", field="code")
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
            raise SetupExists(f"wallet {code} already exists", field="code")
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
        raise SetupExists(
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
                    **{k: row[k] for k in ("code", "name", "region", "deployed_hashrate_hs")},
                    commodity=row.get("commodity") or "BTC",
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
        plan = LotPlan(dated_by="as_of")
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


def opening_cash_load(
    *,
    as_of: date,
    amount: Decimal,
    account: str = chart.CASH,
    memo: str = "",
    created_by: Any = None,
) -> bool:
    """Cash held at the opening date, against opening balance equity, in one entry dated
    `as_of`; the same balance again posts nothing (False)."""
    target = Account.objects.select_related("commodity").filter(code=account).first()
    if target is None or target.commodity_id != "USD" or target.type != AccountType.ASSET:
        raise InvalidSetup(f"opening cash: {account!r} is not a USD asset account")
    if amount <= 0 or not fits_scale(amount, 2):
        raise InvalidSetup(f"opening cash: {amount} is not a positive amount of USD to the cent")
    _entry, created = ledger_services.entry_post_or_replay(
        effective_date=as_of,
        memo=memo or f"Cash at the opening date {as_of}",
        postings=[
            PostingInput(account, amount, amount),
            PostingInput(chart.OPENING_EQUITY, -amount, -amount),
        ],
        idempotency_key=f"opening-cash:{as_of.isoformat()}:{account}:{amount}",
        kind="opening_balance",
        created_by=created_by,
    )
    return created
