"""Entries posted: one, one with whether it was a replay, or many in one transaction, each
through ledger.posting."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.models import JournalEntry
from ledger.posting import GENERAL_KIND, EntryInput, PostingInput, check, post


def entry_post(
    *,
    effective_date: date,
    memo: str,
    postings: Sequence[PostingInput | tuple[Any, Decimal, Decimal]],
    idempotency_key: str | None = None,
    kind: str = GENERAL_KIND,
    created_by: Any = None,
    approved_by: Any = None,
) -> JournalEntry:
    """Post one balanced entry. Replaying an idempotency key with the same payload returns
    the entry already posted; with a different payload it is refused."""
    entry, _created = entry_post_or_replay(
        effective_date=effective_date,
        memo=memo,
        postings=postings,
        idempotency_key=idempotency_key,
        kind=kind,
        created_by=created_by,
        approved_by=approved_by,
    )
    return entry


def entry_post_or_replay(
    *,
    effective_date: date,
    memo: str,
    postings: Sequence[PostingInput | tuple[Any, Decimal, Decimal]],
    idempotency_key: str | None = None,
    kind: str = GENERAL_KIND,
    created_by: Any = None,
    approved_by: Any = None,
) -> tuple[JournalEntry, bool]:
    """As entry_post, and whether this call created the entry (False: a replay)."""
    entry = EntryInput(
        effective_date=effective_date,
        memo=memo,
        postings=postings,
        idempotency_key=idempotency_key,
        kind=kind,
    )
    ((posted, created),) = post([entry], created_by=created_by, approved_by=approved_by)
    return posted, created


def entries_post(
    *,
    entries: Sequence[EntryInput],
    created_by: Any = None,
    approved_by: Any = None,
) -> list[JournalEntry]:
    """Post many entries in one transaction (the import path): all or nothing."""
    return [entry for entry, _ in post(entries, created_by=created_by, approved_by=approved_by)]


def entries_check(*, entries: Sequence[EntryInput]) -> None:
    """What entries_post would say to these entries as the books stand now, writing
    nothing: the same errors, naming the same fields (a preview's answer)."""
    check(entries)
