-- The subledgers sealed with the journal: one seal per sealed entry, in sequence order, over
-- the lots, lot movements, disposals and loan events tied to it (computed by holdings.seals),
-- chained like the journal's seals (ledger/sql/seals.sql). Released with migration 0013; a
-- change is a new file and a new migration. Violations are SQLSTATE 23514
-- (ledger_violation) with the rule's name.
--
--   rows_hash    = sha256("<key>=<row_hash>" joined by newlines, keys in byte order)
--   content_hash = sha256("<sequence>:<entry_id>:<rows_hash>:<row_count>")
--   seal_hash    = sha256("<previous_hash>:<content_hash>")
--
-- (hex digests, ASCII; the first seal's previous hash is 64 zeros). PostgreSQL recomputes
-- all three from the row; only the row hashes need the rows' canonical content, which
-- verification recomputes (holdings.seals.subledgers_verify).

CREATE TABLE holdings_subledgerseal (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sequence bigint NOT NULL,
    entry_id bigint NOT NULL,
    previous_hash text NOT NULL,
    row_count integer NOT NULL,
    row_hashes jsonb NOT NULL,
    rows_hash text NOT NULL,
    content_hash text NOT NULL,
    seal_hash text NOT NULL,
    sealed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT holdings_subledger_seal_sequence UNIQUE (sequence),
    CONSTRAINT holdings_subledger_seal_entry UNIQUE (entry_id),
    CONSTRAINT holdings_subledger_seal_one_successor UNIQUE (previous_hash),
    CONSTRAINT holdings_subledger_seal_sequence_positive CHECK (sequence > 0),
    CONSTRAINT holdings_subledger_seal_hashes_hex CHECK (
        previous_hash ~ '^[0-9a-f]{64}$' AND rows_hash ~ '^[0-9a-f]{64}$'
        AND content_hash ~ '^[0-9a-f]{64}$' AND seal_hash ~ '^[0-9a-f]{64}$'
    )
);

-- The rows hash and count of a seal's row hashes (an object of "<kind>:<id>": hex hash).
CREATE FUNCTION holdings_subledger_rows_hash(row_hashes jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT encode(sha256(convert_to(coalesce(
               string_agg(key || '=' || value, E'\n' ORDER BY key COLLATE "C"), ''), 'UTF8')),
               'hex')
      FROM jsonb_each_text(row_hashes)
$$;
CREATE FUNCTION holdings_subledger_rows_count(row_hashes jsonb) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT count(*)::integer FROM jsonb_each_text(row_hashes)
$$;

-- Each seal's hashes follow from its own columns.
ALTER TABLE holdings_subledgerseal
    ADD CONSTRAINT holdings_subledger_seal_rows CHECK (
        jsonb_typeof(row_hashes) = 'object'
        AND row_count = holdings_subledger_rows_count(row_hashes)
        AND rows_hash = holdings_subledger_rows_hash(row_hashes)
    ),
    ADD CONSTRAINT holdings_subledger_seal_content_hash CHECK (
        content_hash = encode(sha256(convert_to(
            concat_ws(':', sequence, entry_id, rows_hash, row_count), 'UTF8')), 'hex')
    ),
    ADD CONSTRAINT holdings_subledger_seal_hash CHECK (
        seal_hash = encode(sha256(convert_to(
            concat_ws(':', previous_hash, content_hash), 'UTF8')), 'hex')
    );

-- Seals are insert-only.
CREATE FUNCTION holdings_subledger_seal_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM ledger_violation('holdings_subledger_seal_immutable',
            'subledger seals cannot be truncated');
    END IF;
    PERFORM ledger_violation('holdings_subledger_seal_immutable',
        format('the subledger seal of entry sequence %s cannot be %s: seals are insert-only',
               OLD.sequence, CASE TG_OP WHEN 'UPDATE' THEN 'changed' ELSE 'deleted' END));
    RETURN NULL;
END $$;
CREATE TRIGGER holdings_subledger_seal_immutable BEFORE UPDATE OR DELETE ON holdings_subledgerseal
    FOR EACH ROW EXECUTE FUNCTION holdings_subledger_seal_immutable();
CREATE TRIGGER holdings_subledger_seal_no_truncate BEFORE TRUNCATE ON holdings_subledgerseal
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_subledger_seal_immutable();

-- Per statement of seals: each names the entry posted at its sequence, whose journal seal
-- is already written; follows the seal just below it; skips no entry between the two; and
-- is added at the head of the chain, never inside it.
CREATE FUNCTION holdings_subledger_seals_after_insert() RETURNS trigger
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.sequence, n.entry_id, n.previous_hash,
           p.sequence AS previous_sequence,
           e.id AS found_entry, e.sequence AS entry_sequence,
           j.sequence AS journal_sealed, skipped.sequence AS skipped
      INTO bad
      FROM new_seals n
      LEFT JOIN LATERAL (
           SELECT s.sequence, s.seal_hash FROM holdings_subledgerseal s
            WHERE s.sequence < n.sequence ORDER BY s.sequence DESC LIMIT 1
      ) p ON true
      LEFT JOIN ledger_journalentry e ON e.id = n.entry_id
      LEFT JOIN ledger_journalseal j ON j.sequence = n.sequence AND j.entry_id = n.entry_id
      LEFT JOIN LATERAL (
           SELECT x.sequence FROM ledger_journalentry x
            WHERE x.sequence < n.sequence
              AND x.sequence > coalesce(p.sequence, -9223372036854775808)
            ORDER BY x.sequence LIMIT 1
      ) skipped ON true
     WHERE e.id IS NULL
        OR e.sequence IS DISTINCT FROM n.sequence
        OR j.sequence IS NULL
        OR n.previous_hash <> coalesce(p.seal_hash, repeat('0', 64))
        OR skipped.sequence IS NOT NULL
     ORDER BY n.sequence
     LIMIT 1;
    IF FOUND THEN
        IF bad.found_entry IS NULL OR bad.entry_sequence IS DISTINCT FROM bad.sequence THEN
            PERFORM ledger_violation('holdings_subledger_seal_names_entry',
                format('the subledger seal of sequence %s names entry %s, which is not the '
                       'entry posted at that sequence', bad.sequence, bad.entry_id));
        ELSIF bad.journal_sealed IS NULL THEN
            PERFORM ledger_violation('holdings_subledger_seal_after_journal',
                format('entry %s at sequence %s is not sealed in the journal yet',
                       bad.entry_id, bad.sequence));
        ELSIF bad.skipped IS NOT NULL THEN
            PERFORM ledger_violation('holdings_subledger_seal_in_sequence',
                format('the subledger seal of sequence %s would skip entry sequence %s, not '
                       'sealed', bad.sequence, bad.skipped));
        ELSE
            PERFORM ledger_violation('holdings_subledger_seal_follows_previous',
                format('the subledger seal of sequence %s must carry the hash of the seal '
                       'before it (%s)', bad.sequence,
                       coalesce('sequence ' || bad.previous_sequence, 'none: the genesis value')));
        END IF;
    END IF;

    IF (SELECT count(*) FROM holdings_subledgerseal
         WHERE sequence >= (SELECT min(sequence) FROM new_seals))
       > (SELECT count(*) FROM new_seals) THEN
        SELECT max(sequence) AS sequence INTO bad FROM holdings_subledgerseal;
        PERFORM ledger_violation('holdings_subledger_seal_at_head',
            format('subledger seals are added after the last one (sequence %s), not inside '
                   'the chain', bad.sequence));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER holdings_subledger_seals_after_insert AFTER INSERT ON holdings_subledgerseal
    REFERENCING NEW TABLE AS new_seals
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_subledger_seals_after_insert();

-- The lots an entry opened, read by entry for sealing and verification.
CREATE INDEX holdings_lot_opened_by ON holdings_lot (opened_by_entry_id);
