"""Reconciliation: the ledger against the outside world and against itself, for one UTC day.

Each kind is a run with its items: what the ledger says, what the source says, the
difference and the tolerance it was held to.

- pool: each pool account's receivable against the pool's own balance: a pool statement
  for the day where there is one, otherwise the pool's own reports (earnings less payouts,
  as the pool sent them);
- payouts: each payout of the day against the chain (Esplora): the transaction exists, pays
  the payout's address exactly its amount, and has the confirmations required; and every
  inflow of the day to a company address that no payout or transfer explains;
- wallets: each wallet's balance against the custodian's statement for the day, or against
  the chain's balance of its addresses at the end of the day;
- loans: principal, accrued interest and collateral units against the lender's statement;
- internal: lots against account quantities, every lot row against its movements and its
  opening, the trial balance at zero, the roll-ups against the postings, no guarded account
  below zero, the journal against its seals and the subledgers against theirs.

A run never passes silently: a source that could not be asked, or a subject with no source
for the day, is an item of its own, and the run is then incomplete rather than matched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, localcontext
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from holdings.errors import HoldingsError
from holdings.importers.esplora import (
    ChainSourceUnavailable,
    ChainTransaction,
    EsploraClient,
    confirmations,
)
from holdings.models import (
    BalanceStatementLine,
    BatchStatus,
    ItemStatus,
    Loan,
    LoanStatementLine,
    Payout,
    PoolAccount,
    ProductionRecord,
    ReconciliationKind,
    StatementUpload,
    Transfer,
    Wallet,
    WalletAddress,
)
from holdings.selectors.loans import loan_status
from ledger import selectors as ledger_selectors
from ledger.models import Commodity
from ledger.money import EXACT, decimal_places, format_amount

ZERO = Decimal(0)


KINDS = tuple(ReconciliationKind.values)


@dataclass
class Finding:
    subject_type: str
    subject: str
    check: str
    status: str
    message: str
    commodity: str = ""
    ledger_amount: Decimal | None = None
    source_amount: Decimal | None = None
    tolerance: Decimal = ZERO
    source: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def difference(self) -> Decimal | None:
        if self.ledger_amount is None or self.source_amount is None:
            return None
        with localcontext(EXACT):
            return self.source_amount - self.ledger_amount


def _amount(amount: Decimal, commodity: str) -> str:
    """An amount at its commodity's scale (9.5 BTC is "9.50000000"), or as it is when it
    has more places than that: a figure is shown as found, never rounded."""
    scale = _scales().get(commodity)
    if scale is None or decimal_places(amount) > scale:
        return f"{amount:f}"
    return format_amount(amount, scale)


# The commodities' scales, read once for a whole reconciliation (see reconcile()).
run_scales: ContextVar[dict[str, int] | None] = ContextVar("reconciliation_scales", default=None)


def _scales() -> dict[str, int]:
    scales = run_scales.get()
    if scales is None:
        scales = dict(Commodity.objects.values_list("code", "decimal_places"))
    return scales


def _quantities(as_of: date) -> dict[int, Decimal]:
    """Every account's quantity (with its subtree) at the end of `as_of`, by account id:
    the figures account_balance gives, for all accounts in one query."""
    return {row.account_id: row.quantity for row in ledger_selectors.balances(as_of=as_of)}


def _tolerance(commodity: str) -> Decimal:
    return Decimal(str(settings.RECONCILIATION_TOLERANCES.get(commodity, "0")))


def compare_amounts(
    *,
    subject_type: str,
    subject: str,
    check: str,
    commodity: str,
    ledger: Decimal,
    source: Decimal,
    source_name: str,
    what: str,
    details: dict[str, Any] | None = None,
) -> Finding:
    """Matched when the source and the ledger differ by no more than the commodity's
    tolerance; otherwise a break naming both figures and the difference."""
    tolerance = _tolerance(commodity)
    with localcontext(EXACT):
        difference = source - ledger
    matched = abs(difference) <= tolerance
    message = (
        f"{what}: ledger {_amount(ledger, commodity)} {commodity}, {source_name} "
        f"{_amount(source, commodity)} {commodity}"
        + ("" if difference == 0 else f", difference {_amount(difference, commodity)} {commodity}")
        + ("" if matched or tolerance == 0 else f" (tolerance {tolerance})")
    )
    return Finding(
        subject_type=subject_type,
        subject=subject,
        check=check,
        status=ItemStatus.MATCHED if matched else ItemStatus.UNMATCHED,
        message=message,
        commodity=commodity,
        ledger_amount=ledger,
        source_amount=source,
        tolerance=tolerance,
        source=source_name,
        details=details or {},
    )


@dataclass
class Context:
    as_of: date
    chain: EsploraClient | None
    chain_error: str | None  # why there is no chain source (None: there is one)

    @property
    def day_start(self) -> datetime:
        return datetime.combine(self.as_of, time.min, tzinfo=UTC)

    @property
    def day_end(self) -> datetime:
        return self.day_start + timedelta(days=1)


def _statement_balances(accounts: Iterable[str], on: date) -> dict[str, BalanceStatementLine]:
    """The balance stated for each account on a day, by account; of several statements,
    the latest."""
    found: dict[str, BalanceStatementLine] = {}
    lines = (
        BalanceStatementLine.objects.filter(account__in=list(accounts), on=on)
        .select_related("statement")
        .order_by("account", "-statement__created_at", "-statement_id")
    )
    for line in lines:
        found.setdefault(line.account, line)
    return found


def check_pools(context: Context) -> list[Finding]:
    findings = []
    accounts = list(
        PoolAccount.objects.filter(is_active=True)
        .select_related("receivable_account", "pool")
        .order_by("code")
    )
    # Each figure for every account in one query: the ledger's, the statements', the pools'.
    held = _quantities(context.as_of)
    lines = _statement_balances((account.code for account in accounts), context.as_of)
    earnings = dict(
        ProductionRecord.objects.filter(pool_account__in=accounts, day__lte=context.as_of)
        .values("pool_account")
        .annotate(total=Sum("net"))
        .values_list("pool_account", "total")
    )
    payouts = dict(
        Payout.objects.filter(pool_account__in=accounts, paid_at__lt=context.day_end)
        .values("pool_account")
        .annotate(total=Sum("amount"))
        .values_list("pool_account", "total")
    )
    for account in accounts:
        ledger = held[account.receivable_account_id]
        line = lines.get(account.code)
        details: dict[str, Any]
        if line is not None:
            source, name = line.balance, f"pool statement {line.statement.file_name}"
            details = {"statement": line.statement_id}
        else:
            earned = earnings.get(account.pk) or ZERO
            paid = payouts.get(account.pk) or ZERO
            with localcontext(EXACT):
                source = earned - paid
            name = f"{account.pool.name}'s reports (earned {earned}, paid {paid})"
            details = {"earned": str(earned), "paid": str(paid)}
        finding = compare_amounts(
            subject_type="pool_account",
            subject=account.code,
            check="receivable",
            commodity=account.commodity_id,
            ledger=ledger,
            source=source,
            source_name=name,
            what=f"pool account {account.code} receivable at the end of {context.as_of}",
            details=details,
        )
        if line is None:  # the run's sources name the pools, the figures stay in the item
            finding.source = f"{account.pool.name}'s reports"
        findings.append(finding)
    return findings


def _unreachable(context: Context, subject_type: str, subject: str, check: str) -> Finding:
    return Finding(
        subject_type=subject_type,
        subject=subject,
        check=check,
        status=ItemStatus.UNREACHABLE,
        message=f"{subject_type.replace('_', ' ')} {subject} not checked: {context.chain_error}",
        source="esplora",
    )


def check_payouts(context: Context) -> list[Finding]:
    payouts = list(
        Payout.objects.filter(paid_at__gte=context.day_start, paid_at__lt=context.day_end)
        .select_related("pool_account")
        .order_by("paid_at", "id")
    )
    # A pool may pay several payouts to one address in one transaction: compared together.
    grouped: dict[tuple[str, str], list[Payout]] = defaultdict(list)
    for payout in payouts:
        grouped[(payout.txid, payout.address)].append(payout)
    findings: list[Finding] = []
    tip: int | None = None
    for (txid, address), group in grouped.items():
        if context.chain is None:
            findings.append(_unreachable(context, "payout", txid, "on_chain"))
            continue
        try:
            tx = context.chain.transaction(txid)
            # The tip is read after the transaction: again when a block found meanwhile
            # holds it, so confirmations are never counted against an older tip.
            if tx is not None and (tip is None or (tx.block_height or 0) > tip):
                tip = context.chain.tip_height()
        except ChainSourceUnavailable as error:
            context.chain, context.chain_error = None, str(error)
            findings.append(_unreachable(context, "payout", txid, "on_chain"))
            continue
        findings.append(_payout_finding(txid, address, group, tx, tip))
    findings += _unexplained_inflows(context)
    return findings


def _payout_finding(
    txid: str, address: str, group: list[Payout], tx: ChainTransaction | None, tip: int | None
) -> Finding:
    with localcontext(EXACT):
        amount = sum((payout.amount for payout in group), ZERO)
    ids = ", ".join(f"{p.pool_account.code} #{p.external_id}" for p in group)
    what = f"payout {ids} of {amount} BTC to {address} in transaction {txid}"
    details: dict[str, Any] = {"address": address, "payouts": [p.pk for p in group]}
    if tx is None:
        return Finding(
            subject_type="payout",
            subject=txid,
            check="on_chain",
            status=ItemStatus.UNMATCHED,
            message=f"{what}: the transaction is not on the chain",
            commodity="BTC",
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
        commodity="BTC",
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
    addresses. Such BTC is not revenue until someone says what it is."""
    if context.chain is None:
        finding = _unreachable(context, "addresses", "all company addresses", "inflows")
        finding.message = f"inflows to all company addresses not checked: {context.chain_error}"
        return [finding]
    addresses = list(
        WalletAddress.objects.filter(wallet__is_active=True, wallet__commodity_id="BTC")
        .select_related("wallet")
        .order_by("address")
    )
    company = {a.address for a in addresses}
    # What each address received in the day, asked of the chain first; then the payouts and
    # transfers that may explain it, looked up together.
    received_by: list[tuple[WalletAddress, ChainTransaction, Decimal]] = []
    unreachable: Finding | None = None
    for address in addresses:
        try:
            txs = context.chain.address_transactions(address.address, since=context.day_start)
        except ChainSourceUnavailable as error:
            context.chain, context.chain_error = None, str(error)
            unreachable = _unreachable(context, "address", address.address, "inflows")
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
                    f"{received} BTC received by {address.address} (wallet "
                    f"{address.wallet.code}) in transaction {tx.txid} at "
                    f"{tx.block_time:%Y-%m-%d %H:%M:%S} UTC matches no payout or transfer"
                ),
                commodity="BTC",
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
    held = _quantities(context.as_of)
    lines = _statement_balances((wallet.code for wallet in wallets), context.as_of)
    for wallet in wallets:
        ledger = held[wallet.account_id]
        what = f"wallet {wallet.code} at the end of {context.as_of}"
        line = lines.get(wallet.code)
        addresses = [a.address for a in wallet.addresses.all()]
        if line is not None:
            findings.append(
                compare_amounts(
                    subject_type="wallet",
                    subject=wallet.code,
                    check="balance",
                    commodity=wallet.commodity_id,
                    ledger=ledger,
                    source=line.balance,
                    source_name=f"statement {line.statement.file_name}",
                    what=what,
                    details={"statement": line.statement_id},
                )
            )
        elif addresses and wallet.commodity_id == "BTC":
            findings.append(_wallet_on_chain(context, wallet, addresses, ledger, what))
        else:
            findings.append(
                Finding(
                    subject_type="wallet",
                    subject=wallet.code,
                    check="balance",
                    status=ItemStatus.NO_SOURCE,
                    message=(
                        f"{what} not checked: no custodian statement for the day"
                        + ("" if addresses else " and no address to ask the chain about")
                    ),
                    commodity=wallet.commodity_id,
                    ledger_amount=ledger,
                )
            )
    return findings


def _wallet_on_chain(
    context: Context, wallet: Wallet, addresses: list[str], ledger: Decimal, what: str
) -> Finding:
    if context.chain is None:
        return _unreachable(context, "wallet", wallet.code, "balance")
    try:
        held = sum(
            (_address_balance_at(context.chain, a, context.day_end) for a in addresses), ZERO
        )
    except ChainSourceUnavailable as error:
        context.chain, context.chain_error = None, str(error)
        return _unreachable(context, "wallet", wallet.code, "balance")
    plural = "" if len(addresses) == 1 else "es"
    finding = compare_amounts(
        subject_type="wallet",
        subject=wallet.code,
        check="balance",
        commodity="BTC",
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


def check_loans(context: Context) -> list[Finding]:
    findings: list[Finding] = []
    loans = Loan.objects.filter(start_date__lte=context.as_of).order_by("code")
    for loan in loans:
        line = (
            LoanStatementLine.objects.filter(loan=loan.code, on=context.as_of)
            .select_related("statement")
            .order_by("-statement__created_at", "-statement_id")
            .first()
        )
        what = f"loan {loan.code} ({loan.lender}) at the end of {context.as_of}"
        if line is None:
            findings.append(
                Finding(
                    subject_type="loan",
                    subject=loan.code,
                    check="statement",
                    status=ItemStatus.NO_SOURCE,
                    message=f"{what} not checked: no lender statement for the day",
                )
            )
            continue
        status = _loan_figures(loan, context.as_of)
        source_name = f"lender statement {line.statement.file_name}"
        for check, label, ledger, stated, commodity in (
            (
                "principal",
                "principal outstanding",
                status[0],
                line.principal,
                loan.principal_commodity_id,
            ),
            (
                "interest",
                "accrued interest",
                status[1],
                line.accrued_interest,
                loan.principal_commodity_id,
            ),
            (
                "collateral",
                "collateral",
                status[2],
                line.collateral_units,
                loan.collateral_commodity_id,
            ),
        ):
            findings.append(
                compare_amounts(
                    subject_type="loan",
                    subject=loan.code,
                    check=check,
                    commodity=commodity,
                    ledger=ledger,
                    source=stated,
                    source_name=source_name,
                    what=f"{what}, {label}",
                    details={"statement": line.statement_id},
                )
            )
    return findings


def _loan_figures(loan: Loan, as_of: date) -> tuple[Decimal, Decimal, Decimal]:
    """Principal, interest and collateral units as the ledger has them. The LTV needs a
    price; these figures do not, so a missing price does not stop the comparison."""
    try:
        status = loan_status(loan=loan, as_of=as_of)
        return status.principal, status.interest, status.collateral_units
    except HoldingsError:
        principal = ledger_selectors.account_balance(account=loan.principal_account, as_of=as_of)
        interest = ledger_selectors.account_balance(account=loan.interest_account, as_of=as_of)
        units = sum(
            (
                ledger_selectors.account_balance(account=a, as_of=as_of).quantity
                for a in (loan.pledged_account, loan.lent_account)
            ),
            ZERO,
        )
        return -principal.quantity, -interest.quantity, units


def clean_finding(check: str, message: str) -> Finding:
    return Finding(
        subject_type="ledger",
        subject="ledger",
        check=check,
        status=ItemStatus.MATCHED,
        message=message,
        source="postings",
    )


def chain_source() -> tuple[EsploraClient | None, str | None]:
    url = settings.ESPLORA_URL
    if not url:
        return None, "no Esplora server is configured (ESPLORA_URL)"
    return EsploraClient(url), None


def stalled_statement_upload_ids() -> list[int]:
    """Uploads pending or running for a while that no live run holds: a worker died, or
    the message was lost (as production.stalled_batch_ids)."""
    cutoff = timezone.now() - timedelta(minutes=settings.IMPORT_STALE_AFTER_MINUTES)
    with transaction.atomic():
        return list(
            StatementUpload.objects.select_for_update(skip_locked=True)
            .filter(status__in=[BatchStatus.PENDING, BatchStatus.RUNNING], created_at__lt=cutoff)
            .filter(Q(started_at__isnull=True) | Q(started_at__lt=cutoff))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
