"""The lots' rules read only the lots whose new rows can change what each rule sees
(0027_lot_checks_where_they_can_fail.sql); on the way back, the functions of 0015 and 0025."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    """
    CREATE OR REPLACE FUNCTION holdings_lot_spans_kept()
    RETURNS trigger
    LANGUAGE plpgsql SET enable_seqscan = off AS $$
    DECLARE
        touched bigint[];
    BEGIN
        SELECT array_agg(DISTINCT m.lot_id) INTO touched FROM new_movements m;
        IF touched IS NULL THEN
            RETURN NULL;
        END IF;
        DELETE FROM holdings_lotopenspan WHERE lot_id = ANY (touched);
        INSERT INTO holdings_lotopenspan (lot_id, account_id, commodity_id, opened_on, closed_on)
        SELECT s.lot_id, l.account_id, l.commodity_id, s.opened_on, s.closed_on
          FROM holdings_lot_spans(touched) s
          JOIN holdings_lot l ON l.id = s.lot_id
         ORDER BY s.lot_id, s.opened_on;
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION holdings_lot_matches_movements()
    RETURNS trigger
    LANGUAGE plpgsql SET enable_seqscan = off AS $$
    DECLARE
        pending bigint[];
        drift record;
        early record;
        dip record;
    BEGIN
        -- The row as it is now: later statements of the transaction added to it.
        DELETE FROM holdings_lot_pending_check WHERE xact = NEW.xact RETURNING lot_ids INTO pending;
        IF pending IS NULL THEN
            RETURN NULL;
        END IF;
        SELECT l.id, l.quantity, l.cost, l.fair_value_adjustment,
               coalesce(s.q, 0) AS q, coalesce(s.c, 0) AS c, coalesce(s.a, 0) AS a
          INTO drift
          FROM holdings_lot l
          LEFT JOIN LATERAL (
              SELECT sum(m.quantity) q, sum(m.cost) c, sum(m.fair_value_adjustment) a
                FROM holdings_lotmovement m WHERE m.lot_id = l.id
          ) s ON true
         WHERE l.id = ANY (pending)
           AND (l.quantity <> coalesce(s.q, 0) OR l.cost <> coalesce(s.c, 0)
                OR l.fair_value_adjustment <> coalesce(s.a, 0))
         LIMIT 1;
        IF FOUND THEN
            PERFORM ledger_violation('holdings_lot_matches_movements', format(
                'lot %s holds %s units, cost %s, adjustment %s but its movements sum to %s, %s, %s',
                drift.id, drift.quantity, drift.cost, drift.fair_value_adjustment,
                drift.q, drift.c, drift.a));
        END IF;

        SELECT m.lot_id, m.kind, m.effective_date, o.opened_on,
               (l.acquired_at AT TIME ZONE 'UTC')::date AS acquired_on
          INTO early
          FROM holdings_lotmovement m
          JOIN holdings_lot l ON l.id = m.lot_id
          JOIN LATERAL (
              SELECT min(f.effective_date) AS opened_on FROM holdings_lotmovement f
               WHERE f.lot_id = m.lot_id AND f.kind IN ('open', 'transfer_in')
          ) o ON true
         WHERE m.lot_id = ANY (pending)
           AND (m.effective_date < o.opened_on
                OR (m.kind IN ('transfer_out', 'disposal')
                    AND m.effective_date < (l.acquired_at AT TIME ZONE 'UTC')::date))
         LIMIT 1;
        IF FOUND THEN
            PERFORM ledger_violation('holdings_lot_moved_after_opening', format(
                'lot %s: a %s movement dated %s comes before the lot was %s',
                early.lot_id, early.kind, early.effective_date,
                CASE WHEN early.effective_date < early.opened_on
                     THEN format('in its account (%s)', early.opened_on)
                     ELSE format('acquired (%s)', early.acquired_on) END));
        END IF;

        -- Entry by entry in the journal's order (date, then sequence), as every report and the
        -- beancount export replay them.
        SELECT r.lot_id, r.effective_date, r.sequence, r.units
          INTO dip
          FROM (
              SELECT m.lot_id, m.effective_date, e.sequence,
                     sum(sum(m.quantity)) OVER (PARTITION BY m.lot_id
                                                ORDER BY m.effective_date, e.sequence) AS units
                FROM holdings_lotmovement m
                JOIN ledger_journalentry e ON e.id = m.entry_id
               WHERE m.lot_id = ANY (pending)
               GROUP BY m.lot_id, m.effective_date, e.sequence
          ) r
         WHERE r.units < 0
         ORDER BY r.effective_date, r.sequence, r.lot_id
         LIMIT 1;
        IF FOUND THEN
            PERFORM ledger_violation('holdings_lot_never_negative', format(
                'lot %s would hold %s units after entry #%s of %s: units are taken from a lot only '
                'while it holds them, then and at every entry after',
                dip.lot_id, dip.units, dip.sequence, dip.effective_date));
        END IF;
        RETURN NULL;
    END $$
    """,
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0026_production_months")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
