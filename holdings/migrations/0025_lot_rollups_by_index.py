"""The lot roll-ups' triggers read only the lots a statement moved, by index, whatever the
tables' statistics say (0025_lot_rollups_by_index.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
# 0022's spans, which also took NULL for every lot.
REVERSE = [
    "ALTER FUNCTION holdings_lot_movements_rolled_up() RESET enable_seqscan",
    "ALTER FUNCTION holdings_lot_spans_kept() RESET enable_seqscan",
    """
    CREATE OR REPLACE FUNCTION holdings_lot_spans(lots bigint[])
    RETURNS TABLE (lot_id bigint, opened_on date, closed_on date)
    LANGUAGE sql STABLE AS $$
        SELECT c.lot_id, c.day, c.next_change
          FROM (SELECT h.lot_id, h.day, h.holds,
                       lead(h.day) OVER (PARTITION BY h.lot_id ORDER BY h.day) AS next_change
                  FROM (SELECT r.lot_id, r.day, r.holds,
                               lag(r.holds, 1, false) OVER (PARTITION BY r.lot_id ORDER BY r.day)
                                   AS held_before
                          FROM (SELECT d.lot_id, d.day,
                                       sum(d.moved) OVER (PARTITION BY d.lot_id ORDER BY d.day)
                                           > 0 AS holds
                                  FROM (SELECT m.lot_id, m.effective_date AS day,
                                               sum(m.quantity) AS moved
                                          FROM holdings_lotmovement m
                                         WHERE lots IS NULL OR m.lot_id = ANY (lots)
                                         GROUP BY m.lot_id, m.effective_date) d) r) h
                 WHERE h.holds <> h.held_before) c
         WHERE c.holds
    $$
    """,
]


class Migration(migrations.Migration):
    dependencies = [
        ("holdings", "0024_production_figures_from_the_index"),
    ]

    operations = [migrations.RunSQL(SQL, REVERSE)]
