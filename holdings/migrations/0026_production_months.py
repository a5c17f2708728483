"""The pools' records added up per pool account and month, standing records only, kept by
triggers on the records and on the cancellations (0026_production_months.sql)."""

from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models

import ledger.fields

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_productionmonthtotal_no_truncate ON holdings_productionmonthtotal",
    "DROP TRIGGER holdings_productionmonthtotal_guard ON holdings_productionmonthtotal",
    "DROP FUNCTION holdings_production_months_guard()",
    "DROP TRIGGER holdings_production_record_cancelled ON ledger_cancellation",
    "DROP FUNCTION holdings_production_record_cancelled()",
    "DROP TRIGGER holdings_production_months_kept ON holdings_productionrecord",
    "DROP FUNCTION holdings_production_months_kept()",
]


class Migration(migrations.Migration):
    dependencies = [
        ("holdings", "0025_lot_rollups_by_index"),
        ("ledger", "0022_audit_leaves_out_unread"),
    ]

    operations = [
        migrations.CreateModel(
            name="ProductionMonthTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("month", models.DateField()),
                ("records", models.BigIntegerField()),
                ("net", ledger.fields.ExactDecimalField(decimal_places=18, max_digits=38)),
                ("value", ledger.fields.ExactDecimalField(decimal_places=2, max_digits=24)),
                (
                    "hashrate_hs",
                    models.DecimalField(
                        decimal_places=6, max_digits=40, verbose_name="hashrate (H/s)"
                    ),
                ),
                ("hashrate_records", models.BigIntegerField()),
                (
                    "pool_account",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="holdings.poolaccount",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("pool_account", "month"), name="holdings_production_month_key"
                    )
                ],
            },
        ),
        migrations.RunSQL(SQL, REVERSE),
    ]
