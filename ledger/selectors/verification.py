"""The sealed journal checked: journal_verify walks the seals and the entries together,
hashing every sealed entry again, and reports the first break (BREAK_REASONS says what a
break can be)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction

from ledger import sealing
from ledger.sealing import (
    GENESIS_HASH,
    ChainVerification,
    EntryDigest,
    JournalBreak,
    chain_head,
    content_hash,
    entry_digests,
    link_hash,
    sealed_chains,
)

# What a break in the chain can be, first break first (selectors.journal_verify).
BREAK_REASONS = {
    "seal_altered": "a seal's hashes do not follow from the seal's own columns",
    "chain_broken": "a seal's previous hash is not the hash of the seal before it",
    "entry_missing": "a sealed entry is gone",
    "sequence_reordered": "a sealed entry is no longer at its sequence",
    "entry_altered": "a sealed entry's own fields differ from what was sealed",
    "posting_altered": "a posting of a sealed entry differs from what was sealed",
    "posting_removed": "a sealed entry has fewer postings than were sealed",
    "posting_added": "a sealed entry has more postings than were sealed",
    "entry_unsealed": "an entry inside the sealed range has no seal",
    "entry_without_sequence": "an entry has no sequence number",
    "head_differs": "the chain does not reach the head recorded outside the database",
}
# Below any sequence: verification reads every row, even ones no posting could write.
_BEFORE_ANY = -(2**63)


def break_reasons() -> dict[str, str]:
    """What a break can be: the journal's (BREAK_REASONS), then each sealed chain's."""
    reasons = dict(BREAK_REASONS)
    for chain in sealed_chains():
        for code, words in chain.reasons.items():
            reasons.setdefault(code, words)
    return reasons


@dataclass(frozen=True)
class JournalVerification:
    """The journal checked against its seals. `entries_checked` entries matched their seals
    (up to the first break, if any); entries after the last seal (`sealed_through`) wait
    for the next sealing run and are not a break. `chains`: the chains sealed with the
    journal, checked too when asked; `first_break` is then the first break of any of them
    in sequence order (the journal's first at the same sequence)."""

    entries_checked: int
    sealed_through: int | None
    head_hash: str
    unsealed_entries: int
    first_break: JournalBreak | None
    chains: tuple[ChainVerification, ...] = ()
    # The journal's own first break (first_break without the chains).
    journal_break: JournalBreak | None = None

    @property
    def ok(self) -> bool:
        return self.first_break is None and all(chain.ok for chain in self.chains)


@dataclass(frozen=True, slots=True)
class _Seal:
    sequence: int
    entry_id: int
    previous_hash: str
    header_hash: str
    postings_hash: str
    postings: int
    content_hash: str
    entry_hash: str


def _seals(*, through: int) -> Iterator[_Seal]:
    after = _BEFORE_ANY
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                SELECT sequence, entry_id, previous_hash, header_hash, postings_hash, postings,
                       content_hash, entry_hash
                  FROM ledger_journalseal
                 WHERE sequence > %s AND sequence <= %s
                 ORDER BY sequence LIMIT %s
                """,
                [after, through, sealing.BATCH],
            )
            rows = cursor.fetchall()
        yield from (_Seal(*row) for row in rows)
        if len(rows) < sealing.BATCH:
            return
        after = rows[-1][0]


@contextmanager
def _one_snapshot() -> Iterator[None]:
    """Every batch read as of one moment (unless the caller's transaction decides)."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def journal_verify(
    *, recorded_head: tuple[int, str] | None = None, chains: bool = False
) -> JournalVerification:
    """Walk the seals and the entries together in sequence order, hashing every sealed entry
    again, and report the first break. `recorded_head` (sequence, hash), a seal's hash kept
    outside the database, also catches a chain rewritten or cut short up to that seal.
    `chains`: verify the chains sealed with the journal too (the subledgers), in the same
    snapshot."""
    with _one_snapshot():
        head_sequence, head_hash = chain_head()
        checked, found = (0, None) if head_sequence is None else _walk(through=head_sequence)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM ledger_journalentry WHERE sequence > %s",
                [_BEFORE_ANY if head_sequence is None else head_sequence],
            )
            (unsealed,) = cursor.fetchone()
            cursor.execute(
                "SELECT id FROM ledger_journalentry WHERE sequence IS NULL ORDER BY id LIMIT 1"
            )
            no_sequence = cursor.fetchone()
        if recorded_head is not None and (found is None or _after(found, recorded_head[0])):
            found = _check_recorded_head(recorded_head, head_sequence) or found
        if found is None and no_sequence is not None:
            found = JournalBreak(
                None,
                no_sequence[0],
                "entry_without_sequence",
                f"entry {no_sequence[0]} has no sequence number, so it cannot be sealed",
            )
        verified = tuple(chain.verify() for chain in sealed_chains()) if chains else ()
    return JournalVerification(
        entries_checked=checked,
        sealed_through=head_sequence,
        head_hash=head_hash,
        unsealed_entries=unsealed,
        first_break=_first(found, [chain.first_break for chain in verified]),
        chains=verified,
        journal_break=found,
    )


def _first(
    journal: JournalBreak | None, others: Iterable[JournalBreak | None]
) -> JournalBreak | None:
    """The first break in sequence order (one without a sequence last); the journal's first
    at the same place."""
    found = [b for b in (journal, *others) if b is not None]
    if not found:
        return None
    return min(
        found,
        key=lambda b: (b.sequence is None, b.sequence or 0, b.chain != "journal"),
    )


def _after(found: JournalBreak, sequence: int) -> bool:
    return found.sequence is None or found.sequence > sequence


def _walk(*, through: int) -> tuple[int, JournalBreak | None]:
    seals = _seals(through=through)
    entries: Iterator[EntryDigest] = (
        digest for batch in entry_digests(after=_BEFORE_ANY, through=through) for digest in batch
    )
    seal, entry = next(seals, None), next(entries, None)
    previous, checked = GENESIS_HASH, 0
    # Entries are read only up to the last seal, so none is left once the seals are.
    while seal is not None:
        if entry is not None and entry.sequence < seal.sequence:
            return checked, JournalBreak(
                entry.sequence,
                entry.entry_id,
                "entry_unsealed",
                f"entry {entry.entry_id} at sequence {entry.sequence} has no seal, but later "
                "entries are sealed: its seal was removed, or it was written past the ledger",
            )
        found = _check_seal(seal, previous) or _check_entry(seal, entry)
        if found is not None:
            return checked, found
        previous, checked = seal.entry_hash, checked + 1
        seal, entry = next(seals, None), next(entries, None)
    return checked, None


def _check_seal(seal: _Seal, previous: str) -> JournalBreak | None:
    recomputed = content_hash(
        sequence=seal.sequence,
        entry_id=seal.entry_id,
        header_hash=seal.header_hash,
        postings_hash=seal.postings_hash,
        postings=seal.postings,
    )
    if recomputed != seal.content_hash or seal.entry_hash != link_hash(
        previous_hash=seal.previous_hash, content_hash=seal.content_hash
    ):
        return JournalBreak(
            seal.sequence,
            seal.entry_id,
            "seal_altered",
            f"the seal of sequence {seal.sequence} was altered: its hashes do not follow "
            "from its own columns",
        )
    if seal.previous_hash != previous:
        return JournalBreak(
            seal.sequence,
            seal.entry_id,
            "chain_broken",
            f"the seal of sequence {seal.sequence} carries previous hash "
            f"{seal.previous_hash[:16]}..., not {previous[:16]}..., the hash of the seal "
            "before it: one of the two seals was rewritten",
        )
    return None


def _check_entry(seal: _Seal, entry: EntryDigest | None) -> JournalBreak | None:
    if entry is None or entry.sequence != seal.sequence or entry.entry_id != seal.entry_id:
        return _missing_or_moved(
            seal, holder=entry if entry and entry.sequence == seal.sequence else None
        )
    if entry.content_hash == seal.content_hash:
        return None
    where = f"entry {seal.entry_id} at sequence {seal.sequence}"
    header = entry.header_hash != seal.header_hash
    if entry.postings_hash == seal.postings_hash:
        return JournalBreak(
            seal.sequence,
            seal.entry_id,
            "entry_altered",
            f"{where}: its own fields (date, memo, kind, key, users, time) differ from what was "
            "sealed",
        )
    if header:
        return JournalBreak(
            seal.sequence,
            seal.entry_id,
            "entry_altered",
            f"{where}: its own fields and its postings differ from what was sealed",
        )
    if entry.postings < seal.postings:
        reason, what = "posting_removed", f"has {entry.postings} posting(s), {seal.postings} sealed"
    elif entry.postings > seal.postings:
        reason, what = "posting_added", f"has {entry.postings} posting(s), {seal.postings} sealed"
    else:
        reason = "posting_altered"
        what = "a posting differs from what was sealed (account, amount, commodity or date)"
    return JournalBreak(seal.sequence, seal.entry_id, reason, f"{where}: {what}")


def _missing_or_moved(seal: _Seal, *, holder: EntryDigest | None) -> JournalBreak:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sequence FROM ledger_journalentry WHERE id = %s", [seal.entry_id])
        row = cursor.fetchone()
    now = f"; sequence {seal.sequence} now holds entry {holder.entry_id}" if holder else ""
    if row is None:
        return JournalBreak(
            seal.sequence,
            seal.entry_id,
            "entry_missing",
            f"entry {seal.entry_id}, sealed at sequence {seal.sequence}, is gone{now}",
        )
    return JournalBreak(
        seal.sequence,
        seal.entry_id,
        "sequence_reordered",
        f"entry {seal.entry_id}, sealed at sequence {seal.sequence}, is now at sequence "
        f"{row[0]}{now}",
    )


def _check_recorded_head(
    recorded: tuple[int, str], head_sequence: int | None
) -> JournalBreak | None:
    sequence, expected = recorded
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT entry_id, entry_hash FROM ledger_journalseal WHERE sequence = %s", [sequence]
        )
        row = cursor.fetchone()
    if row is None:
        ends = "no seal yet" if head_sequence is None else f"the last seal is {head_sequence}"
        return JournalBreak(
            sequence,
            None,
            "head_differs",
            f"sequence {sequence} was recorded sealed with hash {expected}, but it has no seal "
            f"({ends}): seals were removed",
        )
    if row[1] != expected.lower():
        return JournalBreak(
            sequence,
            row[0],
            "head_differs",
            f"the seal of sequence {sequence} has hash {row[1]}, not {expected} as recorded: "
            "the chain was rewritten at or before it",
        )
    return None
