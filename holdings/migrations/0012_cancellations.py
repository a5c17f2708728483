"""Documents cancelled with their subledger (disposals offset by a mirror, lot movements
undone), idempotent requests, and lots that move forward in time only
(0012_cancellations.sql; as edited since, 0015_rules_as_edited.sql)."""

from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models

SQL = Path(__file__).with_suffix(".sql").read_text()

# The check as 0002 left it once edited (see 0015_rules_as_edited.sql), restored on the way back.
REVERSE_SQL = """
CREATE OR REPLACE FUNCTION holdings_lot_matches_movements() RETURNS trigger
LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    pending bigint[];
    drift record;
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
    RETURN NULL;
END $$;

"""


class Migration(migrations.Migration):
    dependencies = [
        ("holdings", "0011_pool_balance_schedule"),
        ("ledger", "0012_cancellations"),
    ]

    operations = [
        migrations.CreateModel(
            name="RequestKey",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=200, unique=True)),
                ("scope", models.CharField(max_length=32)),
                ("payload_hash", models.CharField(max_length=64)),
                ("result_id", models.BigIntegerField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "ordering": ["-id"],
            },
        ),
        migrations.AddField(
            model_name="disposal",
            name="reversal_of",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reversed_by",
                to="holdings.disposal",
            ),
        ),
        migrations.RunSQL(SQL, REVERSE_SQL),
        migrations.RunSQL(
            "SELECT ledger_audit_attach('holdings_requestkey', 'id', '{}', '{}', '{insert,update,delete,truncate}')",
            "SELECT ledger_audit_detach('holdings_requestkey')",
        ),
    ]
