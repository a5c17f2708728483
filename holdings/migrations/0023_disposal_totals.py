"""What each journal entry relieved of each commodity's lots on a day, added up from its
disposal movements and disposal records, kept by triggers on both (0023_disposal_totals.sql).
"""

from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models

import ledger.fields

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_disposaltotal_no_truncate ON holdings_disposaltotal",
    "DROP TRIGGER holdings_disposaltotal_guard ON holdings_disposaltotal",
    "DROP TRIGGER holdings_disposals_totalled ON holdings_disposal",
    "DROP FUNCTION holdings_disposals_totalled()",
    "DROP TRIGGER holdings_disposal_movements_totalled ON holdings_lotmovement",
    "DROP FUNCTION holdings_disposal_movements_totalled()",
]


class Migration(migrations.Migration):
    dependencies = [
        ("holdings", "0022_lot_rollups"),
        ("ledger", "0022_audit_leaves_out_unread"),
    ]

    operations = [
        migrations.CreateModel(
            name="DisposalTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                (
                    "moved_quantity",
                    ledger.fields.ExactDecimalField(decimal_places=18, max_digits=38),
                ),
                ("moved_cost", ledger.fields.ExactDecimalField(decimal_places=2, max_digits=24)),
                (
                    "moved_adjustment",
                    ledger.fields.ExactDecimalField(decimal_places=2, max_digits=24),
                ),
                ("movements", models.BigIntegerField()),
                ("disposals", models.BigIntegerField()),
                ("units", ledger.fields.ExactDecimalField(decimal_places=18, max_digits=38)),
                ("cost", ledger.fields.ExactDecimalField(decimal_places=2, max_digits=24)),
                (
                    "carrying_value",
                    ledger.fields.ExactDecimalField(decimal_places=2, max_digits=24),
                ),
                ("proceeds", ledger.fields.ExactDecimalField(decimal_places=2, max_digits=24)),
                ("realized_gain", ledger.fields.ExactDecimalField(decimal_places=2, max_digits=24)),
                (
                    "commodity",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.commodity",
                    ),
                ),
                (
                    "entry",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.journalentry",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["commodity", "day"], name="holdings_disposaltotal_day")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("entry", "commodity", "day"), name="holdings_disposaltotal_key"
                    )
                ],
            },
        ),
        migrations.RunSQL(SQL, REVERSE),
    ]
