"""Reconciliation's writes: a day's runs kept with their items and mailed when not all
matched, custodian and lender statements kept with their lines, pools' balances fetched."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from holdings.errors import HoldingsError, ImportFailed, InvalidSetup
from holdings.importers import f2pool
from holdings.importers.clients import PoolApiError
from holdings.importers.esplora import (
    EsploraClient,
)
from holdings.importers.records import ImportFileError
from holdings.importers.statements import (
    StatementFileError,
    parse_balance_statement,
    parse_lender_statement,
)
from holdings.models import (
    BREAK_STATUSES,
    UNCHECKED_STATUSES,
    BalanceStatementLine,
    ImportSource,
    ItemStatus,
    Loan,
    LoanStatementLine,
    PoolAccount,
    ReconciliationItem,
    ReconciliationKind,
    ReconciliationRun,
    ReconciliationStatus,
    Statement,
    StatementKind,
    Wallet,
)
from holdings.selectors import production
from holdings.selectors.chain_evidence import (
    chain_source,
    check_payouts,
    check_wallets,
    explorers,
)
from holdings.selectors.integrity import check_internal
from holdings.selectors.reconciliation import (
    KINDS,
    Context,
    Finding,
    check_loans,
    check_pools,
    run_scales,
)
from holdings.services.alerts import alert_approvers
from ledger.dates import check_posting_date
from ledger.models import Commodity
from ledger.money import format_amount

logger = logging.getLogger(__name__)

CHECKS: dict[str, Callable[[Context], list[Finding]]] = {
    ReconciliationKind.POOL: check_pools,
    ReconciliationKind.PAYOUTS: check_payouts,
    ReconciliationKind.WALLETS: check_wallets,
    ReconciliationKind.LOANS: check_loans,
    ReconciliationKind.INTERNAL: check_internal,
}


def reconcile(
    *,
    as_of: date,
    kinds: Sequence[str] | None = None,
    chain: EsploraClient | None = None,
    chains: dict[str, EsploraClient] | None = None,
    created_by: Any = None,
) -> list[ReconciliationRun]:
    """Run each kind of reconciliation for the day (all of them by default) and keep each as
    a run with its items. Breaks and anything left unchecked are logged and mailed to the
    finance approvers. `chain` is the Bitcoin chain's explorer and `chains` the other
    commodities' (by default those ESPLORA_URL and CHAIN_EXPLORERS configure); a commodity
    no explorer is configured for, BTC as any other, is reported as not checked on chain,
    and not mailed."""
    check_posting_date(as_of, field="as_of")
    wanted = list(kinds or KINDS)
    unknown = [kind for kind in wanted if kind not in KINDS]
    if unknown:
        raise InvalidSetup(
            f"unknown reconciliation kind {unknown[0]!r}: one of {', '.join(KINDS)}",
            field="kinds",
        )
    context = Context(
        as_of=as_of,
        chain=chain_source() if chain is None else chain,
        chain_error=None,
        explorers=dict(explorers() if chains is None else chains),
    )
    runs = []
    token = run_scales.set(dict(Commodity.objects.values_list("code", "decimal_places")))
    try:
        for kind in wanted:
            started = timezone.now()
            findings = CHECKS[kind](context)
            runs.append(_save(kind, as_of, findings, started, created_by))
    finally:
        run_scales.reset(token)
    _alert(runs)
    return runs


@transaction.atomic
def _save(
    kind: str, as_of: date, findings: Iterable[Finding], started: datetime, created_by: Any
) -> ReconciliationRun:
    findings = list(findings)
    breaks = sum(f.status in BREAK_STATUSES for f in findings)
    unchecked = sum(f.status in UNCHECKED_STATUSES for f in findings)
    sources = sorted({f.source for f in findings if f.source})
    run = ReconciliationRun.objects.create(
        kind=kind,
        as_of=as_of,
        status=(
            ReconciliationStatus.BREAKS
            if breaks
            else ReconciliationStatus.INCOMPLETE
            if unchecked
            else ReconciliationStatus.MATCHED
        ),
        matched=sum(f.status == ItemStatus.MATCHED for f in findings),
        breaks=breaks,
        unchecked=unchecked,
        sources=sources,
        started_at=started,
        finished_at=timezone.now(),
        created_by=created_by,
    )
    ReconciliationItem.objects.bulk_create(
        ReconciliationItem(
            run=run,
            subject_type=f.subject_type,
            subject=f.subject,
            checked=f.check,
            commodity=f.commodity,
            ledger_amount=f.ledger_amount,
            source_amount=f.source_amount,
            difference=f.difference,
            tolerance=f.tolerance,
            status=f.status,
            source=f.source,
            message=f.message,
            details=f.details,
        )
        for f in findings
    )
    return run


def _alert(runs: list[ReconciliationRun]) -> None:
    troubled = [run for run in runs if run.status != ReconciliationStatus.MATCHED]
    if not troubled:
        logger.info("reconciliation of %s: all matched", runs[0].as_of if runs else "-")
        return
    lines = []
    for run in troubled:
        lines.append(f"{run.get_kind_display()}: {run.get_status_display()}")
        items = run.items.exclude(status=ItemStatus.MATCHED).order_by("id")
        lines += [f"  - {item.message}" for item in items[:50]]
        more = items.count() - 50
        if more > 0:
            lines.append(f"  ... and {more} more (run {run.pk})")
    as_of = troubled[0].as_of
    breaks = sum(run.breaks for run in troubled)
    alert_approvers(
        subject=(
            f"Reconciliation {as_of}: "
            + (f"{breaks} break{'s' if breaks != 1 else ''}" if breaks else "incomplete")
        ),
        message=f"Reconciliation of {as_of}\n" + "\n".join(lines),
        logger=logger,
        level=logging.ERROR if breaks else logging.WARNING,
    )


def statement_import(
    *, kind: str, file_name: str, content: bytes, created_by: Any = None
) -> Statement:
    """Keep a custodian (or pool) balance statement or a lender statement with its lines,
    all or nothing. Each line must name a wallet or pool account (a loan, for a lender)
    in its own commodity. The same file imported again is the statement already kept."""
    if kind not in StatementKind.values:
        raise InvalidSetup(
            f"unknown statement kind {kind!r}: one of {', '.join(StatementKind.values)}",
            field="kind",
        )
    digest = hashlib.sha256(content).hexdigest()
    existing = Statement.objects.filter(kind=kind, file_sha256=digest).first()
    if existing is not None:
        return existing
    scales = dict(Commodity.objects.values_list("code", "decimal_places"))
    try:
        if kind == StatementKind.LENDER:
            parsed: list[Any] = parse_lender_statement(content, file_name=file_name, scales=scales)
        else:
            parsed = parse_balance_statement(content, file_name=file_name, scales=scales)
    except StatementFileError as error:
        raise ImportFailed(error.as_dicts()) from error
    errors = (
        _unknown_loans(parsed, file_name)
        if kind == StatementKind.LENDER
        else _unknown_accounts(parsed, file_name)
    )
    if errors:
        raise ImportFailed(errors)
    try:
        with transaction.atomic():
            statement = Statement.objects.create(
                kind=kind,
                file_name=file_name,
                file_sha256=digest,
                content=content,
                lines_count=len(parsed),
                created_by=created_by,
            )
            if kind == StatementKind.LENDER:
                LoanStatementLine.objects.bulk_create(
                    LoanStatementLine(
                        statement=statement,
                        on=line.day,
                        loan=line.loan,
                        commodity_id=line.commodity,
                        principal=line.principal_outstanding,
                        accrued_interest=line.accrued_interest,
                        collateral_units=line.collateral_units,
                    )
                    for line in parsed
                )
            else:
                BalanceStatementLine.objects.bulk_create(
                    BalanceStatementLine(
                        statement=statement,
                        on=line.day,
                        account=line.account,
                        commodity_id=line.commodity,
                        balance=line.balance,
                    )
                    for line in parsed
                )
    except IntegrityError:  # the same file, kept meanwhile by another upload
        return Statement.objects.get(kind=kind, file_sha256=digest)
    return statement


def _unknown_accounts(lines: list[Any], file_name: str) -> list[dict[str, Any]]:
    known = dict(Wallet.objects.values_list("code", "commodity_id"))
    known |= dict(PoolAccount.objects.values_list("code", "commodity_id"))
    errors = []
    for line in lines:
        commodity = known.get(line.account)
        if commodity is None:
            errors.append(
                _row_error(
                    file_name,
                    line.row,
                    "account",
                    f"no wallet or pool account {line.account!r}",
                )
            )
        elif commodity != line.commodity:
            errors.append(
                _row_error(
                    file_name,
                    line.row,
                    "commodity",
                    f"{line.account} holds {commodity}, not {line.commodity}",
                )
            )
    return errors


def _unknown_loans(lines: list[Any], file_name: str) -> list[dict[str, Any]]:
    known = dict(Loan.objects.values_list("code", "principal_commodity_id"))
    errors = []
    for line in lines:
        commodity = known.get(line.loan)
        if commodity is None:
            errors.append(_row_error(file_name, line.row, "loan", f"no loan {line.loan!r}"))
        elif commodity != line.commodity:
            errors.append(
                _row_error(
                    file_name,
                    line.row,
                    "commodity",
                    f"loan {line.loan} is in {commodity}, not {line.commodity}",
                )
            )
    return errors


def _row_error(file_name: str, row: int, column: str, message: str) -> dict[str, Any]:
    return {"file": file_name, "row": row, "field": column, "message": message}


def pool_balances_fetch(*, on: date, today: date | None = None) -> list[Statement]:
    """Each active F2Pool account fetched daily with its API secret: the pool's own balance
    kept as that account's balance statement for `on` (a custodian statement, insert-only,
    the same figure twice being the same statement), which check_pools then compares with
    the receivable.

    F2Pool states the balance as of 00:00 UTC, the end of the day before: fetched on
    `on + 1`, it is the balance at the end of `on`. The answer as received is logged (INFO);
    an account whose fetch fails is logged (ERROR) with the URL asked and the others go on.
    Returns the statements kept (or found already kept). F2Pool answers only for the latest
    00:00 UTC, so `on` must be the day before `today` (the UTC date now, by default): any
    other day is refused rather than stored with a balance that is not its own."""
    yesterday = (today or timezone.now().date()) - timedelta(days=1)
    if on != yesterday:
        raise InvalidSetup(
            f"F2Pool states its balance as of the latest 00:00 UTC only: the balance at the "
            f"end of {yesterday} can be fetched, not of {on}",
            field="on",
        )
    scales = dict(Commodity.objects.values_list("code", "decimal_places"))
    kept: list[Statement] = []
    failed: list[str] = []
    for account in production.pool_accounts_to_fetch():
        if account.source != ImportSource.F2POOL or not account.api_secret_env:
            continue
        base_url = account.pool.api_base_url.rstrip("/")
        url = f"{base_url}{f2pool.BALANCE_PATH}"
        try:
            if not base_url:
                raise InvalidSetup(
                    f"pool {account.pool.code} has no API base URL", field="api_base_url"
                )
            client = f2pool.Client(
                base_url=base_url,
                credentials=production.pool_account_credentials(account),
                timeout=settings.POOL_API_TIMEOUT_SECONDS,
            )
            answer = client.fetch_balance(sub_account=account.name, commodity=account.commodity_id)
            logger.info(
                "pool account %s: %s answered %s",
                account.code,
                url,
                answer.decode("utf-8", errors="replace"),
            )
            file_name = f"f2pool-balance-{account.code}-{on.isoformat()}.csv"
            scale = scales[account.commodity_id]
            balance = f2pool.parse_balance(answer, file_name=file_name, scale=scale)
            content = (
                "date,account,commodity,balance\n"
                f"{on.isoformat()},{account.code},{account.commodity_id},"
                f"{format_amount(balance, scale)}\n"
            ).encode()
            kept.append(
                statement_import(kind=StatementKind.CUSTODIAN, file_name=file_name, content=content)
            )
        except (PoolApiError, ImportFileError, HoldingsError, ValueError) as error:
            failed.append(account.code)
            logger.error(
                "pool account %s: the pool's balance for %s from %s was not kept: %s",
                account.code,
                on,
                url,
                error,
            )
    if failed:
        logger.error("pool balances for %s not kept for: %s", on, ", ".join(failed))
    return kept
