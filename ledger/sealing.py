"""The sealed journal: every posted entry, in sequence order, hashed into a chain.

Each entry's canonical content is two compact JSON documents (keys sorted, no spaces, UTF-8,
amounts as strings at their scale), one of its own fields and one of its postings in id
order; their SHA-256 digests, the sequence, the entry id and the number of postings make the
content hash, and the content hash with the previous seal's hash make the seal's hash:

    header_hash   = sha256(canonical header)
    postings_hash = sha256(canonical postings)
    content_hash  = sha256("<sequence>:<entry_id>:<header_hash>:<postings_hash>:<postings>")
    entry_hash    = sha256("<previous_hash>:<content_hash>")

(hex digests; the first seal's previous hash is GENESIS_HASH, 64 zeros).

PostgreSQL checks the last two from each seal's row (ledger/sql/seals.sql);
the first two need the entry and are recomputed here, for sealing (`journal_seal`, re-exported by
ledger.services) and for verification (selectors.journal_verify) alike.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

from django.db import connection, transaction

from ledger.errors import LedgerError
from ledger.money import VALUE_PLACES, fits_scale, format_amount

GENESIS_HASH = "0" * 64
BATCH = 5000
# A bound for "no upper limit" in the batch queries (sequences are bigint).
LAST_SEQUENCE = 2**63 - 1
# Postings still in flight are waited for this long before a run gives up (and the next
# run seals what this one could not).
DEFAULT_WAIT_SECONDS = 10.0
MAX_WAIT_SECONDS = 3600.0  # an hour: a posting in flight longer is not waited for
SEAL_LOCK = "ledger:journal_seal"


# --- canonical content -------------------------------------------------------------------

ENTRY_COLUMNS = (
    "id, sequence, effective_date, kind, memo, status, idempotency_key, payload_hash, "
    "reversal_of_id, created_by_id, approved_by_id, created_at"
)
# (entry_id, then:) id, account id and code, commodity, scale, quantity, value, date.
POSTING_COLUMNS = (
    "p.entry_id, p.id, p.account_id, a.code, p.commodity_id, p.scale, p.quantity, p.value, "
    "p.effective_date"
)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return f"{aware.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"


def _amount(amount: Decimal | None, places: int | None) -> str | None:
    """The amount with exactly `places` decimals. One that does not fit its scale (only a
    row written past the database's checks can) is written exactly as stored."""
    if amount is None:
        return None
    if places is not None and amount.is_finite():
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= -places:
            return f"{amount:.{places}f}"  # only zeros are added: exact
        if fits_scale(amount, places):
            return format_amount(amount, places)
    return f"{amount:f}"


def _json(document: Any) -> bytes:
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def canonical_content(
    entry: Sequence[Any], postings: Sequence[Sequence[Any]]
) -> tuple[bytes, bytes]:
    """The canonical header and postings of an entry, from rows of ENTRY_COLUMNS and of
    POSTING_COLUMNS without the leading entry id."""
    (
        entry_id,
        sequence,
        effective_date,
        kind,
        memo,
        status,
        idempotency_key,
        payload_hash,
        reversal_of_id,
        created_by_id,
        approved_by_id,
        created_at,
    ) = entry
    header = {
        "id": entry_id,
        "sequence": sequence,
        "effective_date": _day(effective_date),
        "kind": kind,
        "memo": memo,
        "status": status,
        "idempotency_key": idempotency_key,
        "payload_hash": payload_hash,
        "reversal_of": reversal_of_id,
        "created_by": created_by_id,
        "approved_by": approved_by_id,
        "created_at": _timestamp(created_at),
    }
    lines = [
        {
            "id": posting_id,
            "account": account_id,
            "account_code": account_code,
            "commodity": commodity,
            "quantity": _amount(quantity, scale),
            "value": _amount(value, VALUE_PLACES),
            "effective_date": _day(day),
        }
        for posting_id, account_id, account_code, commodity, scale, quantity, value, day in sorted(
            postings, key=lambda row: row[0]
        )
    ]
    return _json(header), _json(lines)


def _sha256(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def content_hash(
    *, sequence: int, entry_id: int, header_hash: str, postings_hash: str, postings: int
) -> str:
    return _sha256(f"{sequence}:{entry_id}:{header_hash}:{postings_hash}:{postings}".encode())


def link_hash(*, previous_hash: str, content_hash: str) -> str:
    return _sha256(f"{previous_hash}:{content_hash}".encode())


@dataclass(frozen=True, slots=True)
class EntryDigest:
    """What a seal records of an entry, recomputed from the entry as it is now."""

    entry_id: int
    sequence: int
    header_hash: str
    postings_hash: str
    postings: int
    content_hash: str


def entry_digest(entry: Sequence[Any], postings: Sequence[Sequence[Any]]) -> EntryDigest:
    header, lines = canonical_content(entry, postings)
    header_hash, postings_hash = _sha256(header), _sha256(lines)
    entry_id, sequence = entry[0], entry[1]
    return EntryDigest(
        entry_id=entry_id,
        sequence=sequence,
        header_hash=header_hash,
        postings_hash=postings_hash,
        postings=len(postings),
        content_hash=content_hash(
            sequence=sequence,
            entry_id=entry_id,
            header_hash=header_hash,
            postings_hash=postings_hash,
            postings=len(postings),
        ),
    )


_ENTRIES = f"""
    SELECT {ENTRY_COLUMNS} FROM ledger_journalentry
     WHERE sequence > %s AND sequence <= %s
     ORDER BY sequence
     LIMIT %s
"""
_POSTINGS = f"""
    SELECT {POSTING_COLUMNS}
      FROM ledger_posting p LEFT JOIN ledger_account a ON a.id = p.account_id
     WHERE p.entry_id = ANY(%s)
     ORDER BY p.entry_id, p.id
"""


def entry_digests(
    *,
    after: int = 0,
    through: int | None = None,
    limit: int | None = None,
    batch: int | None = None,
) -> Iterator[list[EntryDigest]]:
    """The entries with a sequence in (after, through], in sequence order, digested in
    batches (of BATCH by default): two queries per batch, whatever the number of entries."""
    step = BATCH if batch is None else batch
    remaining = limit
    upper = LAST_SEQUENCE if through is None else through
    while remaining is None or remaining > 0:
        size = step if remaining is None else min(step, remaining)
        with connection.cursor() as cursor:
            cursor.execute(_ENTRIES, [after, upper, size])
            entries = cursor.fetchall()
            if not entries:
                return
            cursor.execute(_POSTINGS, [[row[0] for row in entries]])
            postings: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
            for row in cursor.fetchall():
                postings[row[0]].append(row[1:])
        yield [entry_digest(row, postings.get(row[0], [])) for row in entries]
        if len(entries) < size:
            return
        after = entries[-1][1]
        if remaining is not None:
            remaining -= len(entries)


# --- sealing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainSealResult:
    """What a sealing run did for a chain sealed with the journal (see SealedChain)."""

    chain: str
    sealed: int
    sealed_through: int | None
    head_hash: str


@dataclass(frozen=True)
class SealResult:
    """What a sealing run did. `deferred`: postings were still in flight after the wait, so
    nothing was sealed this time. `chains`: what the chains sealed with the journal did."""

    sealed: int
    first_sequence: int | None
    last_sequence: int | None
    sealed_through: int | None
    head_hash: str
    deferred: bool = False
    chains: tuple[ChainSealResult, ...] = ()


# --- chains sealed with the journal ------------------------------------------------------

# Other apps keep records tied to posted entries (the holdings' lots, lot movements,
# disposals and loan events). The ledger does not know them; an app that has such records
# offers a chain in a module named `seals`, which registers it here on import. Each chain is
# sealed right after the journal, in the journal's sealing transaction and under its lock,
# and verified with it.


@dataclass(frozen=True)
class JournalBreak:
    """The first place a chain does not verify. `chain`: "journal" or a sealed chain's
    name; `record` and `record_id` name the row concerned, where there is one (for the
    journal, the entry is the row)."""

    sequence: int | None
    entry_id: int | None
    reason: str  # a key of selectors.BREAK_REASONS or of a chain's reasons
    detail: str
    chain: str = "journal"
    record: str | None = None
    record_id: int | None = None


@dataclass(frozen=True)
class ChainVerification:
    """A chain sealed with the journal, checked against its seals (as JournalVerification)."""

    chain: str
    entries_checked: int
    sealed_through: int | None
    head_hash: str
    unsealed_entries: int
    first_break: JournalBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


class SealedChain(Protocol):
    name: str
    # What a break of this chain can be: reason code -> words.
    reasons: Mapping[str, str]

    def seal(self) -> ChainSealResult:
        """Seal every journal-sealed entry not sealed in this chain yet. Called inside the
        journal's sealing transaction, holding its lock, after the journal's seals."""
        ...

    def verify(self) -> ChainVerification:
        """Check the chain against its seals (called inside one snapshot)."""
        ...


_CHAINS: dict[str, SealedChain] = {}


def register_chain(chain: SealedChain) -> None:
    """Seal `chain` with the journal; an app registers its chains in AppConfig.ready()."""
    _CHAINS[chain.name] = chain


def sealed_chains() -> list[SealedChain]:
    """The chains sealed with the journal, as the installed apps registered them."""
    return list(_CHAINS.values())


def chains_seal() -> tuple[ChainSealResult, ...]:
    """Seal every chain sealed with the journal, under the journal's sealing lock."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [SEAL_LOCK])
        return tuple(chain.seal() for chain in sealed_chains())


# Entry sequences come from a PostgreSQL sequence, taken when the entry is inserted, not
# when its transaction commits; numbers of rolled-back postings (and of idempotent replays,
# which run the insert trigger too) are never used. So a gap in the committed sequences may
# be a posting still in flight, which would commit below entries already sealed, or a number
# burnt for good. Every transaction that took numbers holds a lock on the sequence until it
# ends (nextval takes it first), so: read the last number taken, then wait until no other
# transaction holds that lock among those holding it now. Every number up to the one read is
# then committed (and visible) or never will be. (The sequence caches no numbers: the last
# value read is the last number handed out.)
_LAST_TAKEN = "SELECT coalesce(pg_sequence_last_value('ledger_entry_sequence'::regclass), 0)"
_TAKING = """
    SELECT DISTINCT virtualtransaction FROM pg_locks
     WHERE locktype = 'relation'
       AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND relation = 'ledger_entry_sequence'::regclass
       AND pid IS DISTINCT FROM pg_backend_pid()
       AND (%(among)s::text[] IS NULL OR virtualtransaction = ANY(%(among)s::text[]))
"""


def sealable_through(*, wait: float = DEFAULT_WAIT_SECONDS) -> int | None:
    """The highest sequence up to which every entry is committed or never will be, waiting
    up to `wait` seconds for postings in flight; None if they are still running then."""
    deadline = time.monotonic() + wait
    pause = 0.02
    with connection.cursor() as cursor:
        cursor.execute(_LAST_TAKEN)
        (last_taken,) = cursor.fetchone()
        among: list[str] | None = None
        while True:
            cursor.execute(_TAKING, {"among": among})
            among = [row[0] for row in cursor.fetchall()]
            if not among:
                return int(last_taken)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.5)


_HEAD = "SELECT sequence, entry_hash FROM ledger_journalseal ORDER BY sequence DESC LIMIT 1"
_INSERT_SEALS = """
    INSERT INTO ledger_journalseal (sequence, entry_id, previous_hash, header_hash,
                                    postings_hash, postings, content_hash, entry_hash)
    SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[],
                         %s::int[], %s::text[], %s::text[])
"""


def chain_head() -> tuple[int | None, str]:
    """The last seal's sequence and hash (None and the genesis value before the first)."""
    with connection.cursor() as cursor:
        cursor.execute(_HEAD)
        row = cursor.fetchone()
    return (row[0], row[1]) if row else (None, GENESIS_HASH)


def journal_seal(
    *, limit: int | None = None, wait: float = DEFAULT_WAIT_SECONDS, chains: bool = False
) -> SealResult:
    """Seal every posted entry not sealed yet (at most `limit`), in sequence order, in one
    transaction. Runs one at a time across processes; a second run seals nothing new.
    `chains`: then seal the chains sealed with the journal (sealed_chains), in the same
    transaction, up to the journal's last seal (what the sealing job does)."""
    if limit is not None and limit < 1:
        raise LedgerError("limit must be at least 1", field="limit", code="invalid_limit")
    if not 0 <= wait <= MAX_WAIT_SECONDS:  # NaN too: it compares false
        raise LedgerError(
            f"wait must be 0 to {MAX_WAIT_SECONDS:g} seconds, not {wait:g}",
            field="wait",
            code="invalid_wait",
        )
    through = sealable_through(wait=wait)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [SEAL_LOCK])
        head_sequence, head_hash = chain_head()
        if through is None:
            return SealResult(
                0,
                None,
                None,
                head_sequence,
                head_hash,
                deferred=True,
                chains=chains_seal() if chains else (),
            )
        sealed, first, last = 0, None, None
        for batch in entry_digests(after=head_sequence or 0, through=through, limit=limit):
            columns: list[list[Any]] = [[] for _ in range(8)]
            for digest in batch:
                entry_hash = link_hash(previous_hash=head_hash, content_hash=digest.content_hash)
                for column, value in zip(
                    columns,
                    (
                        digest.sequence,
                        digest.entry_id,
                        head_hash,
                        digest.header_hash,
                        digest.postings_hash,
                        digest.postings,
                        digest.content_hash,
                        entry_hash,
                    ),
                    strict=True,
                ):
                    column.append(value)
                head_hash = entry_hash
            with connection.cursor() as cursor:
                cursor.execute(_INSERT_SEALS, columns)
            sealed += len(batch)
            first = batch[0].sequence if first is None else first
            last = batch[-1].sequence
        return SealResult(
            sealed=sealed,
            first_sequence=first,
            last_sequence=last,
            sealed_through=last if last is not None else head_sequence,
            head_hash=head_hash,
            chains=chains_seal() if chains else (),
        )
