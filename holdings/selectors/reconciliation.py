"""Reconciliation: the ledger against the outside world and against itself, for one UTC day.

Each kind is a run with its items: what the ledger says, what the source says, the
difference and the tolerance it was held to.

- pool: each pool account's receivable against the pool's own balance: a pool statement
  for the day where there is one, otherwise the pool's own reports (earnings less payouts,
  as the pool sent them);
- payouts: each payout of the day against its commodity's chain (holdings.selectors.
  chain_evidence): the transaction exists, pays the payout's address exactly its amount,
  and has the confirmations required; and every inflow of the day to a company address
  that no payout or transfer explains;
- wallets: each wallet's balance against the custodian's statement for the day, or against
  the chain's balance of its addresses at the end of the day (chain_evidence too);
- loans: principal, accrued interest and collateral units against the lender's statement;
- internal: lots against account quantities, every lot row against its movements and its
  opening, the trial balance at zero, the roll-ups against the postings, no guarded account
  below zero, the journal against its seals and the subledgers against theirs.

A run never passes silently: a source that could not be asked, or a subject with no source
for the day, is an item of its own, and the run is then incomplete rather than matched.
"""

from __future__ import annotations

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
    EsploraClient,
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
)
from holdings.selectors.loans import loan_status
from ledger import selectors as ledger_selectors
from ledger.models import Commodity
from ledger.money import EXACT, decimal_places, format_amount

ZERO = Decimal(0)
BTC = "BTC"


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


def account_quantities(as_of: date) -> dict[int, Decimal]:
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
    chain: EsploraClient | None  # the Bitcoin chain's explorer (ESPLORA_URL)
    # Why the Bitcoin chain's explorer, configured, could not be asked. With neither an
    # explorer nor an error, none is configured.
    chain_error: str | None
    # The other chains' explorers by commodity (CHAIN_EXPLORERS), and why one that was
    # configured could not be asked. A commodity in neither has no explorer configured.
    explorers: dict[str, EsploraClient] = field(default_factory=dict)
    explorer_errors: dict[str, str] = field(default_factory=dict)

    @property
    def day_start(self) -> datetime:
        return datetime.combine(self.as_of, time.min, tzinfo=UTC)

    @property
    def day_end(self) -> datetime:
        return self.day_start + timedelta(days=1)

    def explorer(self, commodity: str) -> EsploraClient | None:
        """The explorer of the commodity's chain, while it answers."""
        return self.chain if commodity == BTC else self.explorers.get(commodity)

    def configured(self, commodity: str) -> bool:
        """Whether an explorer is set for the commodity's chain, answering or not."""
        if commodity == BTC:
            return self.chain is not None or bool(self.chain_error)
        return commodity in self.explorers or commodity in self.explorer_errors

    def error(self, commodity: str) -> str:
        if commodity == BTC:
            return self.chain_error or ""
        return self.explorer_errors.get(commodity, "")

    def lose(self, commodity: str, error: str) -> None:
        """The commodity's explorer stopped answering: asked no more in this run."""
        if commodity == BTC:
            self.chain, self.chain_error = None, error
        else:
            self.explorers.pop(commodity, None)
            self.explorer_errors[commodity] = error


def statement_balances(accounts: Iterable[str], on: date) -> dict[str, BalanceStatementLine]:
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
    held = account_quantities(context.as_of)
    lines = statement_balances((account.code for account in accounts), context.as_of)
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


def clean_finding(
    check: str, message: str, *, subject: str = "ledger", source: str = "postings"
) -> Finding:
    return Finding(
        subject_type="ledger",
        subject=subject,
        check=check,
        status=ItemStatus.MATCHED,
        message=message,
        source=source,
    )


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
