"""The books against themselves, the nightly internal check: the ledger's integrity, every
lot against its movements and its account, the treasury's documents and disposal records
against their entries, the production records, payouts and remeasurements against theirs,
every entry of a document's kind against its document, the pool accounts' monthly production
totals against their records, and the journal's and subledgers' seal chains.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection

from holdings.models import (
    ItemStatus,
)
from holdings.selectors import fair_value, lots, production, seals, treasury
from holdings.selectors.cost_integrity import cost_findings
from holdings.selectors.fair_value import RemeasurementBreak
from holdings.selectors.production import ProductionBreak
from holdings.selectors.reconciliation import Context, Finding, clean_finding, compare_amounts
from holdings.selectors.treasury import TreasuryBreak
from ledger import selectors as ledger_selectors


def check_internal(context: Context) -> list[Finding]:
    findings: list[Finding] = []
    differences = lots.lot_differences(as_of=context.as_of)
    for difference in differences:
        findings.append(
            Finding(
                subject_type="account",
                subject=difference.account,
                check="lots",
                status=ItemStatus.UNMATCHED,
                message=_lot_difference_message(difference, context),
                commodity=difference.commodity,
                ledger_amount=difference.ledger_quantity,
                source_amount=difference.lots_quantity,
                source="lots",
                details={
                    "ledger_value": str(difference.ledger_value),
                    "lots_cost": str(difference.lots_cost),
                },
            )
        )
    if not differences:
        findings.append(
            clean_finding(
                "lots",
                (
                    "every lot-tracked account equals its open lots, every fair value adjustment "
                    "account the lots' adjustments"
                ),
            )
        )
    findings.extend(_lot_rows())
    findings.extend(_treasury())
    findings.extend(_production_posted())
    findings.extend(_remeasurements())
    findings.extend(_entry_documents())
    report = ledger_selectors.ledger_integrity(as_of=context.as_of)
    findings.append(
        compare_amounts(
            subject_type="ledger",
            subject="trial balance",
            check="trial_balance",
            commodity="USD",
            ledger=report.trial_balance_total,
            source=Decimal(0),
            source_name="zero",
            what=f"trial balance total value at the end of {context.as_of}",
        )
    )
    for kind, code, day, dq, dv in report.rollup_differences:
        findings.append(
            Finding(
                subject_type="account",
                subject=code,
                check="rollup",
                status=ItemStatus.UNMATCHED,
                message=(
                    f"account {code}: the {kind} roll-up for {day} differs from its postings "
                    f"by {dq} in quantity and {dv} USD"
                ),
                ledger_amount=dq,
                source="postings",
                details={"roll_up": kind, "day": str(day), "value": str(dv)},
            )
        )
    if not report.rollup_differences:
        findings.append(clean_finding("rollup", "the roll-ups equal the postings they summarise"))
    for code, day, quantity in report.accounts_below_zero:
        findings.append(
            Finding(
                subject_type="account",
                subject=code,
                check="below_zero",
                status=ItemStatus.UNMATCHED,
                message=f"account {code} must not go negative but stood at {quantity} on {day}",
                ledger_amount=quantity,
                source="postings",
                details={"day": str(day)},
            )
        )
    if not report.accounts_below_zero:
        findings.append(
            clean_finding("below_zero", "no guarded account goes below zero on any day")
        )
    findings.extend(_production_months())
    findings.extend(cost_findings(context.as_of))
    findings.append(_journal_chain())
    findings.append(_subledger_chain())
    return findings


def _production_months() -> list[Finding]:
    """The pool accounts' monthly totals, which the production report and the dashboard
    read, against the standing records they add up."""
    found = production.production_month_differences()
    if not found:
        return [
            clean_finding(
                "production_months",
                "every pool account's monthly totals equal its standing records",
                subject="production months",
                source="production records",
            )
        ]
    return [
        Finding(
            subject_type="pool_account",
            subject=month.pool_account,
            check="production_months",
            status=ItemStatus.UNMATCHED,
            message=(
                f"pool account {month.pool_account}, {month.month:%Y-%m}: its records add up to "
                f"{month.net[0]} {month.commodity} in {month.records[0]} records, its "
                f"monthly totals hold {month.net[1]} in {month.records[1]}"
            ),
            commodity=month.commodity,
            ledger_amount=month.net[1],
            source_amount=month.net[0],
            source="production records",
            details={
                "month": str(month.month),
                "records": list(month.records),
                "value": [str(v) for v in month.value],
                "hashrate_hs": [str(h) for h in month.hashrate_hs],
            },
        )
        for month in found
    ]


def _treasury() -> list[Finding]:
    """The treasury's documents and the realized gains' sources
    (holdings.selectors.treasury.treasury_breaks)."""
    return _document_findings(
        "treasury",
        treasury.treasury_breaks(),
        clean=(
            "every disposal record is dated by its entry and held from its lot's acquisition, "
            "every sale and transfer equals its entry, and every sale, transfer fee and "
            "liquidation its records"
        ),
        subject="treasury documents",
        source="disposal records",
    )


def _production_posted() -> list[Finding]:
    """Each production record and payout against its entry
    (holdings.selectors.production.production_breaks)."""
    return _document_findings(
        "production_posted",
        production.production_breaks(),
        clean=(
            "every production record's entry posts its net at its value, and every payout's "
            "moves its amount from the pool account's receivable into its wallet"
        ),
        subject="production records and payouts",
        source="production records",
    )


def _remeasurements() -> list[Finding]:
    """Each remeasurement against its own figures and its entry
    (holdings.selectors.fair_value.remeasurement_breaks)."""
    return _document_findings(
        "remeasurements",
        fair_value.remeasurement_breaks(),
        clean=(
            "every remeasurement adjusts its lots by its fair value less its carrying value, "
            "and its entry takes that to the fair value gain and posts nowhere else but the "
            "adjustment accounts"
        ),
        subject="remeasurements",
        source="remeasurements",
    )


@dataclass(frozen=True)
class EntryWithoutDocument:
    entry_id: int
    sequence: int
    effective_date: date
    kind: str
    document: str


# Manual journals' entries are held to their journals from this migration on (the releases
# before manual journals posted a person's entry as 'manual' straight away).
MANUAL_RULE = ("holdings", "0057_manual_entries_posted_by_their_journals")


def entries_without_documents() -> list[EntryWithoutDocument]:
    """Entries of a document's kind (a manual journal's since holdings migration 0057) that
    no document of that kind names, as PostgreSQL refuses them at commit since holdings
    migration 0056 (its view holdings_entry_without_document): what a ledger of an earlier
    release holds, or what was written with the triggers off. Reversals are their
    cancellations'. In the journal's order."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT v.entry_id, v.sequence, v.effective_date, v.kind, v.document
              FROM holdings_entry_without_document v
              JOIN ledger_journalentry j ON j.id = v.entry_id
             WHERE v.document <> 'manual journal'
                OR j.created_at >= (SELECT applied FROM django_migrations
                                     WHERE app = %s AND name = %s)
             ORDER BY v.sequence
            """,
            MANUAL_RULE,
        )
        return [EntryWithoutDocument(*row) for row in cursor.fetchall()]


def _entry_documents() -> list[Finding]:
    found = entries_without_documents()
    if not found:
        return [
            clean_finding(
                "entry_documents",
                "every entry of a document's kind is named by its document",
                subject="journal entries",
                source="documents",
            )
        ]
    return [
        Finding(
            subject_type="journal_entry",
            subject=str(entry.entry_id),
            check="entry_documents",
            status=ItemStatus.UNMATCHED,
            message=(
                f"entry #{entry.sequence} of {entry.effective_date} is a {entry.kind} entry, "
                f"but no {entry.document} names it"
            ),
            source="documents",
            details={"entry_sequence": entry.sequence, "kind": entry.kind},
        )
        for entry in found
    ]


def _document_findings(
    check: str,
    breaks: Sequence[TreasuryBreak | ProductionBreak | RemeasurementBreak],
    *,
    clean: str,
    subject: str,
    source: str,
) -> list[Finding]:
    """A break for each document its entry or records do not bear out, else one clean item."""
    if not breaks:
        return [clean_finding(check, clean, subject=subject, source=source)]
    return [
        Finding(
            subject_type=found.subject_type,
            subject=found.key,
            check=check,
            status=ItemStatus.UNMATCHED,
            message=f"{found.label} (entry #{found.entry_sequence}) {found.detail}",
            source=source,
            details={"entry_sequence": found.entry_sequence},
        )
        for found in breaks
    ]


def _lot_rows() -> list[Finding]:
    """Every lot row against its movements and its opening (holdings.seals.lot_breaks):
    a lot changed past the application, which no account total shows, is named here."""
    found = seals.lot_breaks()
    if not found:
        return [
            clean_finding(
                "lot_rows",
                "every lot equals the sum of its movements and what opened it",
                subject="lots",
                source="lot movements",
            )
        ]
    return [
        Finding(
            subject_type="lot",
            subject=str(lot.lot_id),
            check="lot_rows",
            status=ItemStatus.UNMATCHED,
            message=lot.detail,
            commodity=lot.commodity,
            ledger_amount=_decimal(lot.found),
            source_amount=_decimal(lot.expected),
            source="lot movements",
            details={
                "lot": lot.lot_id,
                "account": lot.account,
                "field": lot.field,
                "found": lot.found,
                "expected": lot.expected,
            },
        )
        for lot in found
    ]


def _decimal(text: str) -> Decimal | None:
    try:
        amount = Decimal(text)
    except ArithmeticError:
        return None
    return amount if amount.is_finite() and len(text) <= 40 else None


def _subledger_chain() -> Finding:
    """The lots, lot movements, disposals and loan events against their seals."""
    verification = seals.subledgers_verify()
    found = verification.first_break
    if found is None:
        through = verification.sealed_through
        return Finding(
            subject_type="ledger",
            subject="subledgers",
            check="subledger_seals",
            status=ItemStatus.MATCHED,
            message=(
                f"the subledgers match their seals through sequence "
                f"{through if through is not None else '-'} "
                f"({verification.entries_checked} entries; head {verification.head_hash}; "
                f"{verification.unsealed_entries} newer entries wait for the next sealing)"
            ),
            source="seals",
            details={"head_hash": verification.head_hash},
        )
    where = "" if found.sequence is None else f" at sequence {found.sequence}"
    return Finding(
        subject_type=found.record or "journal_entry",
        subject=str(
            found.record_id
            if found.record_id is not None
            else found.entry_id
            if found.entry_id is not None
            else found.sequence
        ),
        check="subledger_seals",
        status=ItemStatus.UNMATCHED,
        message=f"the subledgers break{where}: {found.reason}: {found.detail}",
        source="seals",
        details={
            "sequence": found.sequence,
            "entry": found.entry_id,
            "reason": found.reason,
            "record": found.record,
            "record_id": found.record_id,
        },
    )


def _journal_chain() -> Finding:
    """The journal against its seals: no sealed entry altered, removed or reordered."""
    verification = ledger_selectors.journal_verify()
    found = verification.first_break
    if found is None:
        return Finding(
            subject_type="ledger",
            subject="journal",
            check="seals",
            status=ItemStatus.MATCHED,
            message=(
                f"the journal matches its seals through sequence "
                f"{verification.sealed_through if verification.sealed_through is not None else '-'}"
                f" ({verification.entries_checked} entries; head {verification.head_hash}; "
                f"{verification.unsealed_entries} newer entries wait for the next sealing)"
            ),
            source="seals",
            details={"head_hash": verification.head_hash},
        )
    return Finding(
        subject_type="journal_entry",
        subject=str(found.entry_id if found.entry_id is not None else found.sequence),
        check="seals",
        status=ItemStatus.UNMATCHED,
        message=f"the journal breaks at sequence {found.sequence}: {found.detail}",
        source="seals",
        details={"sequence": found.sequence, "entry": found.entry_id, "reason": found.reason},
    )


def _lot_difference_message(difference: lots.LotDifference, context: Context) -> str:
    if difference.adjustment:
        return (
            f"fair value adjustment account {difference.account} at the end of "
            f"{context.as_of}: ledger {difference.ledger_value} USD, the adjustments of the "
            f"lots it measures {difference.lots_cost} USD"
        )
    return (
        f"account {difference.account} at the end of {context.as_of}: ledger "
        f"{difference.ledger_quantity} {difference.commodity} at "
        f"{difference.ledger_value} USD, open lots {difference.lots_quantity} "
        f"at a cost of {difference.lots_cost} USD"
    )
