"""Reconciliation against the chains: payouts, unexplained inflows and wallet balances.

Each commodity is looked up on its own chain: BTC through the Esplora server of
`ESPLORA_URL` (or BTC's entry in `CHAIN_EXPLORERS`), the others through the explorer
`CHAIN_EXPLORERS` names for them (an Esplora-shaped API of that chain, amounts in its
smallest unit). Where no explorer is configured for a commodity, BTC included, its payouts,
inflows and wallets are reported plainly as not checked on chain: neither a break nor a gap
to be mailed about. A configured explorer that cannot be asked is a source unreachable.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

from django.conf import settings

from holdings.importers.esplora import (
    BTC_UNIT,
    ChainSourceUnavailable,
    ChainTransaction,
    ChainUnit,
    EsploraClient,
    confirmations,
)
from holdings.models import (
    ItemStatus,
    Payout,
    Transfer,
    Wallet,
    WalletAddress,
)
from holdings.selectors.reconciliation import (
    BTC,
    Context,
    Finding,
    account_quantities,
    compare_amounts,
    statement_balances,
)
from ledger.models import Commodity
from ledger.money import EXACT

ZERO = Decimal(0)
# What each chain's explorer counts amounts in.
SMALLEST_UNITS = {"BTC": "satoshis", "KAS": "sompi", "ETC": "wei"}


def _unreachable(
    context: Context, subject_type: str, subject: str, check: str, commodity: str = BTC
) -> Finding:
    return Finding(
        subject_type=subject_type,
        subject=subject,
        check=check,
        status=ItemStatus.UNREACHABLE,
        message=f"{subject_type.replace('_', ' ')} {subject} not checked: "
        f"{context.error(commodity)}",
        commodity=commodity,
        source="esplora",
    )


def no_explorer(commodity: str) -> str:
    setting = "ESPLORA_URL" if commodity == BTC else "CHAIN_EXPLORERS"
    return f"no explorer is configured for {commodity} ({setting})"


def _not_on_chain(
    subject_type: str, subject: str, check: str, commodity: str, message: str, **more: Any
) -> Finding:
    return Finding(
        subject_type=subject_type,
        subject=subject,
        check=check,
        status=ItemStatus.NOT_ON_CHAIN,
        message=message,
        commodity=commodity,
        **more,
    )


def check_payouts(context: Context) -> list[Finding]:
    payouts = list(
        Payout.objects.filter(paid_at__gte=context.day_start, paid_at__lt=context.day_end)
        .select_related("pool_account")
        .order_by("paid_at", "id")
    )
    # A pool may pay several payouts to one address in one transaction: compared together.
    grouped: dict[tuple[str, str, str], list[Payout]] = defaultdict(list)
    for payout in payouts:
        grouped[(payout.pool_account.commodity_id, payout.txid, payout.address)].append(payout)
    findings: list[Finding] = []
    tips: dict[str, int] = {}
    for (commodity, txid, address), group in grouped.items():
        what = _payout_what(txid, address, group, commodity)
        if not context.configured(commodity):
            findings.append(
                _not_on_chain(
                    "payout",
                    txid,
                    "on_chain",
                    commodity,
                    f"{what}: not checked on chain, {no_explorer(commodity)}",
                    ledger_amount=_total(group),
                    details={"address": address, "payouts": [p.pk for p in group]},
                )
            )
            continue
        chain = context.explorer(commodity)
        if chain is None:
            findings.append(_unreachable(context, "payout", txid, "on_chain", commodity))
            continue
        try:
            tx = chain.transaction(txid)
            # The tip is read after the transaction: again when a block found meanwhile
            # holds it, so confirmations are never counted against an older tip.
            tip = tips.get(commodity)
            if tx is not None and (tip is None or (tx.block_height or 0) > tip):
                tips[commodity] = chain.tip_height()
        except ChainSourceUnavailable as error:
            context.lose(commodity, str(error))
            findings.append(_unreachable(context, "payout", txid, "on_chain", commodity))
            continue
        findings.append(_payout_finding(what, address, group, tx, tips.get(commodity), commodity))
    findings += _unexplained_inflows(context)
    return findings


def _total(group: list[Payout]) -> Decimal:
    with localcontext(EXACT):
        return sum((payout.amount for payout in group), ZERO)


def _payout_what(txid: str, address: str, group: list[Payout], commodity: str) -> str:
    ids = ", ".join(f"{p.pool_account.code} #{p.external_id}" for p in group)
    return f"payout {ids} of {_total(group)} {commodity} to {address} in transaction {txid}"


def _payout_finding(
    what: str,
    address: str,
    group: list[Payout],
    tx: ChainTransaction | None,
    tip: int | None,
    commodity: str,
) -> Finding:
    amount = _total(group)
    txid = group[0].txid
    details: dict[str, Any] = {"address": address, "payouts": [p.pk for p in group]}
    if tx is None:
        return Finding(
            subject_type="payout",
            subject=txid,
            check="on_chain",
            status=ItemStatus.UNMATCHED,
            message=f"{what}: the transaction is not on the chain",
            commodity=commodity,
            ledger_amount=amount,
            source_amount=ZERO,
            source="esplora",
            details=details,
        )
    required = settings.PAYOUT_CONFIRMATIONS
    count = confirmations(tx, tip) if tip is not None else 0
    details |= {
        "confirmations": count,
        "block_height": tx.block_height,
        "block_time": tx.block_time.isoformat() if tx.block_time else None,
    }
    finding = compare_amounts(
        subject_type="payout",
        subject=txid,
        check="on_chain",
        commodity=commodity,
        ledger=amount,
        source=tx.paid_to(address),
        source_name="the chain",
        what=what,
        details=details,
    )
    if finding.status == ItemStatus.MATCHED and count < required:
        finding.status = ItemStatus.UNMATCHED
        finding.message = (
            f"{what}: {count} confirmation{'s' if count != 1 else ''} of the {required} "
            f"required{'' if tx.confirmed else ' (still in the mempool)'}"
        )
    elif finding.status == ItemStatus.MATCHED:
        finding.message += f", {count} confirmation{'s' if count != 1 else ''}"
    finding.source = "esplora"  # the source asked, as every other chain item names it
    return finding


def _unexplained_inflows(context: Context) -> list[Finding]:
    """Every confirmed inflow of the day to a company address that is neither a payout, nor
    a transfer between the company's wallets, nor change of a spend from the company's own
    addresses, on each commodity's chain. Such units are not revenue until someone says
    what they are."""
    by_commodity: dict[str, list[WalletAddress]] = defaultdict(list)
    for address in (
        WalletAddress.objects.filter(wallet__is_active=True)
        .select_related("wallet")
        .order_by("address")
    ):
        by_commodity[address.wallet.commodity_id].append(address)
    if context.configured(BTC):
        # The Bitcoin chain is asked even with no BTC address, so that an explorer that
        # cannot be reached is said so every night.
        by_commodity.setdefault(BTC, [])
    findings: list[Finding] = []
    for commodity in sorted(by_commodity):
        addresses = by_commodity[commodity]
        if not context.configured(commodity):
            plural = "" if len(addresses) == 1 else "es"
            findings.append(
                _not_on_chain(
                    "addresses",
                    f"all company {commodity} addresses",
                    "inflows",
                    commodity,
                    f"inflows to the {len(addresses)} company {commodity} address{plural} "
                    f"not checked on chain: {no_explorer(commodity)}",
                )
            )
            continue
        findings += _inflows_on(context, commodity, addresses)
    return findings


def _inflows_on(context: Context, commodity: str, addresses: list[WalletAddress]) -> list[Finding]:
    chain = context.explorer(commodity)
    if chain is None:
        finding = _unreachable(
            context, "addresses", f"all company {commodity} addresses", "inflows", commodity
        )
        if commodity == BTC:
            finding.subject = "all company addresses"
        finding.message = f"inflows to {finding.subject} not checked: {context.error(commodity)}"
        return [finding]
    company = {a.address for a in addresses}
    # What each address received in the day, asked of the chain first; then the payouts and
    # transfers that may explain it, looked up together.
    received_by: list[tuple[WalletAddress, ChainTransaction, Decimal]] = []
    unreachable: Finding | None = None
    for address in addresses:
        try:
            txs = chain.address_transactions(address.address, since=context.day_start)
        except ChainSourceUnavailable as error:
            context.lose(commodity, str(error))
            unreachable = _unreachable(context, "address", address.address, "inflows", commodity)
            break
        for tx in txs:
            if tx.block_time is None or not context.day_start <= tx.block_time < context.day_end:
                continue
            received = tx.paid_to(address.address)
            if received != 0:
                received_by.append((address, tx, received))
    txids = sorted({tx.txid for _, tx, _ in received_by})
    paid = set(Payout.objects.filter(txid__in=txids).values_list("txid", "address"))
    moved = set(Transfer.objects.filter(txid__in=txids).values_list("txid", "to_wallet_id"))
    findings: list[Finding] = []
    for address, tx, received in received_by:
        if _explained(tx, address, company, paid, moved):
            continue
        findings.append(
            Finding(
                subject_type="address",
                subject=address.address,
                check="inflow",
                status=ItemStatus.UNEXPLAINED,
                message=(
                    f"{received} {commodity} received by {address.address} (wallet "
                    f"{address.wallet.code}) in transaction {tx.txid} at "
                    f"{tx.block_time:%Y-%m-%d %H:%M:%S} UTC matches no payout or transfer"
                ),
                commodity=commodity,
                ledger_amount=ZERO,
                source_amount=received,
                source="esplora",
                details={"txid": tx.txid, "wallet": address.wallet.code},
            )
        )
    if unreachable is not None:
        findings.append(unreachable)
    return findings


def _explained(
    tx: ChainTransaction,
    address: WalletAddress,
    company: set[str],
    paid: set[tuple[str, str]],
    moved: set[tuple[str, int]],
) -> bool:
    """`paid` holds the (txid, address) of the payouts, `moved` the (txid, wallet id) of the
    transfers, of the transactions in question."""
    if (tx.txid, address.address) in paid:
        return True
    if (tx.txid, address.wallet_id) in moved:
        return True
    # Change: the company spent from its own addresses and part came back.
    return any(spent.address in company for spent in tx.inputs)


def check_wallets(context: Context) -> list[Finding]:
    findings: list[Finding] = []
    wallets = list(
        Wallet.objects.filter(is_active=True)
        .select_related("account")
        .order_by("code")
        .prefetch_related("addresses")
    )
    held = account_quantities(context.as_of)
    lines = statement_balances((wallet.code for wallet in wallets), context.as_of)
    for wallet in wallets:
        ledger = held[wallet.account_id]
        what = f"wallet {wallet.code} at the end of {context.as_of}"
        line = lines.get(wallet.code)
        addresses = [a.address for a in wallet.addresses.all()]
        commodity = wallet.commodity_id
        if line is not None:
            findings.append(
                compare_amounts(
                    subject_type="wallet",
                    subject=wallet.code,
                    check="balance",
                    commodity=commodity,
                    ledger=ledger,
                    source=line.balance,
                    source_name=f"statement {line.statement.file_name}",
                    what=what,
                    details={"statement": line.statement_id},
                )
            )
        elif addresses and context.configured(commodity):
            findings.append(_wallet_on_chain(context, wallet, addresses, ledger, what))
        elif addresses:
            findings.append(
                _not_on_chain(
                    "wallet",
                    wallet.code,
                    "balance",
                    commodity,
                    f"{what} not checked on chain: no custodian statement for the day and "
                    f"{no_explorer(commodity)}",
                    ledger_amount=ledger,
                )
            )
        else:
            findings.append(
                Finding(
                    subject_type="wallet",
                    subject=wallet.code,
                    check="balance",
                    status=ItemStatus.NO_SOURCE,
                    message=(
                        f"{what} not checked: no custodian statement for the day and no "
                        "address to ask the chain about"
                    ),
                    commodity=commodity,
                    ledger_amount=ledger,
                )
            )
    return findings


def _wallet_on_chain(
    context: Context, wallet: Wallet, addresses: list[str], ledger: Decimal, what: str
) -> Finding:
    commodity = wallet.commodity_id
    chain = context.explorer(commodity)
    if chain is None:
        return _unreachable(context, "wallet", wallet.code, "balance", commodity)
    try:
        held = sum((_address_balance_at(chain, a, context.day_end) for a in addresses), ZERO)
    except ChainSourceUnavailable as error:
        context.lose(commodity, str(error))
        return _unreachable(context, "wallet", wallet.code, "balance", commodity)
    plural = "" if len(addresses) == 1 else "es"
    finding = compare_amounts(
        subject_type="wallet",
        subject=wallet.code,
        check="balance",
        commodity=commodity,
        ledger=ledger,
        source=held,
        source_name=f"the chain ({len(addresses)} address{plural})",
        what=what,
        details={"addresses": addresses},
    )
    finding.source = "esplora"  # the source asked, as every other chain item names it
    return finding


def _address_balance_at(chain: EsploraClient, address: str, end: datetime) -> Decimal:
    """The confirmed balance of an address at `end`: today's, less what confirmed
    transactions since then added, plus what they spent."""
    balance = chain.address_balance(address).confirmed
    with localcontext(EXACT):
        for tx in chain.address_transactions(address, since=end):
            if tx.block_time is not None and tx.block_time >= end:
                balance -= tx.paid_to(address) - tx.spent_from(address)
    return balance


def chain_source() -> EsploraClient | None:
    """The Bitcoin chain's explorer: ESPLORA_URL, else BTC's entry in CHAIN_EXPLORERS; None
    when neither is set, BTC then being not checked on chain like any coin without one."""
    url = settings.ESPLORA_URL or settings.CHAIN_EXPLORERS.get(BTC, "")
    return EsploraClient(url, unit=BTC_UNIT) if url else None


def explorers() -> dict[str, EsploraClient]:
    """The other chains' explorers that CHAIN_EXPLORERS configures, by commodity."""
    configured = {
        code: url for code, url in settings.CHAIN_EXPLORERS.items() if code != BTC and url
    }
    scales = dict(
        Commodity.objects.filter(code__in=configured).values_list("code", "decimal_places")
    )
    return {
        code: EsploraClient(
            url, unit=ChainUnit(code, scales[code], name=SMALLEST_UNITS.get(code, "units"))
        )
        for code, url in configured.items()
        if code in scales
    }
