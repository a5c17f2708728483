"""Sealing the subledgers: every journal entry's lot, disposal and document rows hashed into
a chain, batch by batch, under the seal lock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.db import connection, transaction

from holdings.selectors.seals import (
    BATCH,
    CHAIN,
    REASONS,
    chain_head,
    content_hash,
    entry_rows,
    rows_hash,
    subledgers_verify,
)
from ledger import sealing
from ledger.sealing import (
    SEAL_LOCK,
    ChainSealResult,
    ChainVerification,
    link_hash,
)

_TO_SEAL = """
    SELECT sequence, entry_id FROM ledger_journalseal
     WHERE sequence > %s ORDER BY sequence LIMIT %s
"""


_INSERT = """
    INSERT INTO holdings_subledgerseal (sequence, entry_id, previous_hash, row_count,
                                        row_hashes, rows_hash, content_hash, seal_hash)
    SELECT s, e, p, n, r::jsonb, rh, ch, sh
      FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::int[], %s::text[], %s::text[],
                  %s::text[], %s::text[]) AS t(s, e, p, n, r, rh, ch, sh)
"""


def subledgers_seal() -> ChainSealResult:
    """Seal the subledger rows of every journal-sealed entry not sealed here yet, in
    sequence order, under the journal's sealing lock. A second run seals nothing new; the
    first run after an upgrade seals everything already in the journal's chain."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [SEAL_LOCK])
        head_sequence, head_hash = chain_head()
        sealed = 0
        while True:
            with connection.cursor() as cursor:
                cursor.execute(_TO_SEAL, [head_sequence or 0, BATCH])
                entries = cursor.fetchall()
            if not entries:
                break
            rows = entry_rows([entry_id for _, entry_id in entries])
            columns: list[list[Any]] = [[] for _ in range(8)]
            for sequence, entry_id in entries:
                row_hashes = rows.get(entry_id, {})
                digest = rows_hash(row_hashes)
                content = content_hash(
                    sequence=sequence,
                    entry_id=entry_id,
                    rows_hash=digest,
                    row_count=len(row_hashes),
                )
                seal_hash = link_hash(previous_hash=head_hash, content_hash=content)
                values = (
                    sequence,
                    entry_id,
                    head_hash,
                    len(row_hashes),
                    json.dumps(row_hashes, sort_keys=True, separators=(",", ":")),
                    digest,
                    content,
                    seal_hash,
                )
                for column, value in zip(columns, values, strict=True):
                    column.append(value)
                head_sequence, head_hash = sequence, seal_hash
            with connection.cursor() as cursor:
                cursor.execute(_INSERT, columns)
            sealed += len(entries)
            if len(entries) < BATCH:
                break
    return ChainSealResult(
        chain=CHAIN, sealed=sealed, sealed_through=head_sequence, head_hash=head_hash
    )


class SubledgerChain:
    """The subledgers, as a chain sealed with the journal (ledger.sealing.SealedChain)."""

    name = CHAIN
    reasons: Mapping[str, str] = REASONS

    def seal(self) -> ChainSealResult:
        return subledgers_seal()

    def verify(self) -> ChainVerification:
        return subledgers_verify()


def register() -> None:
    """Seal and verify the subledgers with the journal's chain (ledger.sealing)."""
    sealing.register_chain(SubledgerChain())
