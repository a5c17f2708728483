"""Reads of the ledger. No side effects.

One module per domain: balances (as of a date, the trial balance, movements per day),
statements (an account's postings and detail, the journal, the balance sheet, the income
statement), integrity (what the ledger checks about itself), manual_journals (their totals
and supporting documents) and verification (the sealed journal checked). The rest of the
code reads through this package.
"""

from ledger.sealing import ChainVerification, JournalBreak
from ledger.selectors.balances import (
    Balance,
    TreePath,
    TrialBalance,
    account_balance,
    account_value,
    balances,
    daily_movements,
    month_end_quantities,
    subtree_ids,
    trial_balance,
    value_moved,
    values_moved,
)
from ledger.selectors.integrity import (
    IntegrityReport,
    account_first_day_below_zero,
    accounts_below_zero,
    ledger_integrity,
    rollup_differences,
)
from ledger.selectors.manual_journals import (
    AttachmentAltered,
    JournalTotals,
    attachment_verified,
    journal_attachments,
    journal_totals,
)
from ledger.selectors.statements import (
    AccountDetail,
    AccountStatement,
    BalanceSheet,
    IncomeStatement,
    StatementLine,
    StatementSection,
    account_detail,
    account_postings,
    balance_sheet,
    closed_through,
    entries,
    income_statement,
    presented,
)
from ledger.selectors.verification import (
    BREAK_REASONS,
    JournalVerification,
    break_reasons,
    journal_verify,
)
from ledger.selectors.worklist import (
    CANCELLATIONS_WAITING,
    JOURNALS_WAITING,
    REJECTED_DAYS,
    waiting_cancellations,
    waiting_counts,
    waiting_journals,
)

__all__ = [
    "BREAK_REASONS",
    "CANCELLATIONS_WAITING",
    "JOURNALS_WAITING",
    "REJECTED_DAYS",
    "AccountDetail",
    "AccountStatement",
    "AttachmentAltered",
    "Balance",
    "BalanceSheet",
    "ChainVerification",
    "IncomeStatement",
    "IntegrityReport",
    "JournalBreak",
    "JournalTotals",
    "JournalVerification",
    "StatementLine",
    "StatementSection",
    "TreePath",
    "TrialBalance",
    "account_balance",
    "account_detail",
    "account_first_day_below_zero",
    "account_postings",
    "account_value",
    "accounts_below_zero",
    "attachment_verified",
    "balance_sheet",
    "balances",
    "break_reasons",
    "closed_through",
    "daily_movements",
    "entries",
    "income_statement",
    "journal_attachments",
    "journal_totals",
    "journal_verify",
    "ledger_integrity",
    "month_end_quantities",
    "presented",
    "rollup_differences",
    "subtree_ids",
    "trial_balance",
    "value_moved",
    "values_moved",
    "waiting_cancellations",
    "waiting_counts",
    "waiting_journals",
]
