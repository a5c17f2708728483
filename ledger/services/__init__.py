"""The only code that writes to the ledger. Every function is atomic.

Entries go through ledger.posting (validation with errors that name the field, then one
statement); PostgreSQL enforces every invariant again underneath (ledger/migrations/), including
accounts that must not go negative, which it locks in id order so concurrent withdrawals are
checked one after another.

One module per domain (accounts, entries, manual journals, periods); cancellations and the
journal's seals are written by ledger.cancellations and ledger.sealing. The rest of the code
writes through this package, and posts with the inputs it re-exports from ledger.posting.
"""

from ledger.cancellations import (
    cancellation_approve,
    cancellation_reject,
    cancellation_request,
)
from ledger.posting import MAX_KEY_LENGTH, EntryInput, PostingInput
from ledger.sealing import SealResult, journal_seal
from ledger.services.accounts import (
    CHART_COLUMNS,
    account_create,
    account_update,
    chart_load,
    commodity_create,
    commodity_update,
)
from ledger.services.entries import (
    entries_check,
    entries_post,
    entry_post,
    entry_post_or_replay,
)
from ledger.services.manual_journals import (
    RESERVED_KINDS,
    attachment_problem,
    kind_problem,
    manual_journal_approve,
    manual_journal_attach,
    manual_journal_attachment_delete,
    manual_journal_check,
    manual_journal_copy,
    manual_journal_create,
    manual_journal_reject,
    manual_journal_submit,
    manual_journal_update,
)
from ledger.services.periods import period_close, period_reopen

__all__ = [
    "CHART_COLUMNS",
    "MAX_KEY_LENGTH",
    "RESERVED_KINDS",
    "EntryInput",
    "PostingInput",
    "SealResult",
    "account_create",
    "account_update",
    "attachment_problem",
    "cancellation_approve",
    "cancellation_reject",
    "cancellation_request",
    "chart_load",
    "commodity_create",
    "commodity_update",
    "entries_check",
    "entries_post",
    "entry_post",
    "entry_post_or_replay",
    "journal_seal",
    "kind_problem",
    "manual_journal_approve",
    "manual_journal_attach",
    "manual_journal_attachment_delete",
    "manual_journal_check",
    "manual_journal_copy",
    "manual_journal_create",
    "manual_journal_reject",
    "manual_journal_submit",
    "manual_journal_update",
    "period_close",
    "period_reopen",
]
