"""The double-entry core: commodities, accounts, the journal and its balance roll-ups.

Invariants live in PostgreSQL (see the migrations): entries balance, USD postings have
quantity equal to value, transfers conserve quantity, quantities fit their commodity's scale,
posted rows are immutable, closed periods refuse entries, idempotency keys are unique.

One module per domain; Django finds every model through this package, and the rest of the
code imports them from here (so do the migrations: ledger.models.ExactJSONDecoder).
"""

from ledger.models.accounts import (
    DEBIT_NORMAL_TYPES,
    QUANTITY_DIGITS,
    QUANTITY_PLACES,
    VALUE_DIGITS,
    VALUE_PLACES,
    Account,
    AccountType,
    Commodity,
    CommodityKind,
    MeasurementPolicy,
)
from ledger.models.audit import AuditAction, AuditLog, ExactJSONDecoder
from ledger.models.journal import (
    HASH_PATTERN,
    Cancellation,
    CancellationStatus,
    DailyBalance,
    EntryStatus,
    JournalEntry,
    JournalSeal,
    MonthlyBalance,
    Posting,
)
from ledger.models.manual_journals import (
    ManualJournal,
    ManualJournalAttachment,
    ManualJournalKind,
    ManualJournalLine,
    ManualJournalStatus,
)
from ledger.models.periods import PeriodClose

__all__ = [
    "DEBIT_NORMAL_TYPES",
    "HASH_PATTERN",
    "QUANTITY_DIGITS",
    "QUANTITY_PLACES",
    "VALUE_DIGITS",
    "VALUE_PLACES",
    "Account",
    "AccountType",
    "AuditAction",
    "AuditLog",
    "Cancellation",
    "CancellationStatus",
    "Commodity",
    "CommodityKind",
    "DailyBalance",
    "EntryStatus",
    "ExactJSONDecoder",
    "JournalEntry",
    "JournalSeal",
    "ManualJournal",
    "ManualJournalAttachment",
    "ManualJournalKind",
    "ManualJournalLine",
    "ManualJournalStatus",
    "MeasurementPolicy",
    "MonthlyBalance",
    "PeriodClose",
    "Posting",
]
