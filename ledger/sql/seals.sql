-- The sealed journal: one seal per posted entry, in sequence order, each hashing the entry's
-- canonical content (computed by ledger.sealing) and the previous seal's hash. Released
-- with migration 0010; a change is a new file and a new migration. Violations are SQLSTATE
-- 23514 (ledger_violation) with the rule's name.
--
--   content_hash = sha256("<sequence>:<entry_id>:<header_hash>:<postings_hash>:<postings>")
--   entry_hash   = sha256("<previous_hash>:<content_hash>")
--
-- (hex digests, ASCII). The first seal's previous hash is 64 zeros. PostgreSQL recomputes
-- both from the row, so a seal cannot be written with hashes that do not add up; only the
-- header and postings hashes need the entry's canonical content, which verification
-- recomputes (selectors.journal_verify).

-- Each seal's hashes follow from its own columns.
ALTER TABLE ledger_journalseal
    ADD CONSTRAINT ledger_seal_content_hash CHECK (
        content_hash = encode(sha256(convert_to(
            concat_ws(':', sequence, entry_id, header_hash, postings_hash, postings), 'UTF8')), 'hex')
    ),
    ADD CONSTRAINT ledger_seal_entry_hash CHECK (
        entry_hash = encode(sha256(convert_to(
            concat_ws(':', previous_hash, content_hash), 'UTF8')), 'hex')
    );

-- Seals are insert-only.
CREATE FUNCTION ledger_seal_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM ledger_violation('ledger_seal_immutable', 'journal seals cannot be truncated');
    END IF;
    PERFORM ledger_violation('ledger_seal_immutable',
        format('the seal of entry sequence %s cannot be %s: seals are insert-only',
               OLD.sequence, CASE TG_OP WHEN 'UPDATE' THEN 'changed' ELSE 'deleted' END));
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_seal_immutable BEFORE UPDATE OR DELETE ON ledger_journalseal
    FOR EACH ROW EXECUTE FUNCTION ledger_seal_immutable();
CREATE TRIGGER ledger_seal_no_truncate BEFORE TRUNCATE ON ledger_journalseal
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_seal_immutable();

-- Per statement of seals: each names the entry posted at its sequence, follows the seal
-- just below it (its previous hash is that seal's hash, or the genesis value for the first),
-- skips no entry between the two, and is added at the head of the chain, never inside it.
CREATE FUNCTION ledger_seals_after_insert() RETURNS trigger
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.sequence, n.entry_id, n.previous_hash,
           p.sequence AS previous_sequence,
           coalesce(p.entry_hash, repeat('0', 64)) AS expected_previous,
           e.id AS found_entry, e.sequence AS entry_sequence, skipped.sequence AS skipped
      INTO bad
      FROM new_seals n
      LEFT JOIN LATERAL (
           SELECT s.sequence, s.entry_hash FROM ledger_journalseal s
            WHERE s.sequence < n.sequence ORDER BY s.sequence DESC LIMIT 1
      ) p ON true
      LEFT JOIN ledger_journalentry e ON e.id = n.entry_id
      LEFT JOIN LATERAL (
           SELECT j.sequence FROM ledger_journalentry j
            WHERE j.sequence < n.sequence
              AND j.sequence > coalesce(p.sequence, -9223372036854775808)
            ORDER BY j.sequence LIMIT 1
      ) skipped ON true
     WHERE e.id IS NULL
        OR e.sequence IS DISTINCT FROM n.sequence
        OR n.previous_hash <> coalesce(p.entry_hash, repeat('0', 64))
        OR skipped.sequence IS NOT NULL
     ORDER BY n.sequence
     LIMIT 1;
    IF FOUND THEN
        IF bad.found_entry IS NULL OR bad.entry_sequence IS DISTINCT FROM bad.sequence THEN
            PERFORM ledger_violation('ledger_seal_names_entry',
                format('the seal of sequence %s names entry %s, which is not the entry posted '
                       'at that sequence', bad.sequence, bad.entry_id));
        ELSIF bad.skipped IS NOT NULL THEN
            PERFORM ledger_violation('ledger_seal_in_sequence',
                format('the seal of sequence %s would skip entry sequence %s, not sealed',
                       bad.sequence, bad.skipped));
        ELSE
            PERFORM ledger_violation('ledger_seal_follows_previous',
                format('the seal of sequence %s must carry the hash of the seal before it (%s)',
                       bad.sequence, coalesce('sequence ' || bad.previous_sequence,
                                              'none: the genesis value')));
        END IF;
    END IF;

    -- Every seal from the lowest new one up is new: counted, not compared row by row.
    IF (SELECT count(*) FROM ledger_journalseal
         WHERE sequence >= (SELECT min(sequence) FROM new_seals))
       > (SELECT count(*) FROM new_seals) THEN
        SELECT max(sequence) AS sequence INTO bad FROM ledger_journalseal;
        PERFORM ledger_violation('ledger_seal_at_head',
            format('seals are added after the last one (sequence %s), not inside the chain',
                   bad.sequence));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_seals_after_insert AFTER INSERT ON ledger_journalseal
    REFERENCING NEW TABLE AS new_seals
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_seals_after_insert();
