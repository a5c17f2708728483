"""The only code that writes to the ledger. Every function is atomic. The rest of the code
writes through this package, and posts with the inputs it re-exports from ledger.posting."""

from ledger.cancellations import cancellation_approve, cancellation_reject, cancellation_request
from ledger.posting import MAX_KEY_LENGTH, EntryInput, PostingInput
from ledger.sealing import SealResult, journal_seal
from ledger.services.manual_journals import (
    CHART_COLUMNS,
    RESERVED_KINDS,
    account_create,
    account_update,
    chart_load,
    commodity_create,
    commodity_update,
    entries_post,
    entry_post,
    entry_post_or_replay,
    kind_problem,
    manual_journal_approve,
    manual_journal_check,
    manual_journal_copy,
    manual_journal_create,
    manual_journal_reject,
    manual_journal_submit,
    manual_journal_update,
    period_close,
    period_reopen,
)

__all__ = [
    "CHART_COLUMNS",
    "MAX_KEY_LENGTH",
    "RESERVED_KINDS",
    "EntryInput",
    "PostingInput",
    "SealResult",
    "account_create",
    "account_update",
    "cancellation_approve",
    "cancellation_reject",
    "cancellation_request",
    "chart_load",
    "commodity_create",
    "commodity_update",
    "entries_post",
    "entry_post",
    "entry_post_or_replay",
    "journal_seal",
    "kind_problem",
    "manual_journal_approve",
    "manual_journal_check",
    "manual_journal_copy",
    "manual_journal_create",
    "manual_journal_reject",
    "manual_journal_submit",
    "manual_journal_update",
    "period_close",
    "period_reopen",
]
