"""Lot movements added up per account, lot origin, kind and day, and the runs of days each
lot held units, both kept by triggers on the movements; a lot's account, commodity and
origin kept; the disposals indexed by date (0022_lot_rollups.sql)."""

from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models

import ledger.fields

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_lotopenspan_no_truncate ON holdings_lotopenspan",
    "DROP TRIGGER holdings_lotopenspan_guard ON holdings_lotopenspan",
    "DROP TRIGGER holdings_lot_spans_kept ON holdings_lotmovement",
    "DROP FUNCTION holdings_lot_spans_kept()",
    "DROP FUNCTION holdings_lot_spans(bigint[])",
    "DROP INDEX holdings_lotmove_disposal_date",
    "DROP TRIGGER holdings_lot_identity_kept ON holdings_lot",
    "DROP FUNCTION holdings_lot_identity_kept()",
    "DROP TRIGGER holdings_lotmovementdaily_no_truncate ON holdings_lotmovementdaily",
    "DROP TRIGGER holdings_lotmovementdaily_guard ON holdings_lotmovementdaily",
    "DROP FUNCTION holdings_rollup_guard()",
    "DROP TRIGGER holdings_lot_movements_rolled_up ON holdings_lotmovement",
    "DROP FUNCTION holdings_lot_movements_rolled_up()",
]


class Migration(migrations.Migration):
    dependencies = [
        ("holdings", "0021_month_end_costs_schedule"),
        ("ledger", "0021_rollups_room_to_update"),
    ]

    operations = [
        migrations.CreateModel(
            name="LotMovementDaily",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "origin",
                    models.CharField(
                        choices=[
                            ("opening", "Opening balance"),
                            ("mined", "Mined (pool earning)"),
                            ("transfer", "Transferred from another account"),
                            ("purchase", "Purchased"),
                            ("proceeds", "Proceeds of a sale"),
                            ("borrowed", "Borrowed (loan draw)"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("open", "Opened"),
                            ("transfer_in", "Transferred in"),
                            ("transfer_out", "Transferred out"),
                            ("disposal", "Disposed of"),
                            ("remeasurement", "Fair value remeasurement"),
                        ],
                        max_length=16,
                    ),
                ),
                ("day", models.DateField()),
                ("quantity", ledger.fields.ExactDecimalField(decimal_places=18, max_digits=38)),
                ("cost", ledger.fields.ExactDecimalField(decimal_places=2, max_digits=24)),
                (
                    "fair_value_adjustment",
                    ledger.fields.ExactDecimalField(decimal_places=2, max_digits=24),
                ),
                ("movements", models.BigIntegerField()),
                (
                    "account",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.account",
                    ),
                ),
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
            ],
            options={
                "indexes": [
                    models.Index(fields=["commodity", "day"], name="holdings_lotdaily_commodity")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "day", "kind", "origin"), name="holdings_lotdaily_key"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="LotOpenSpan",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("opened_on", models.DateField()),
                ("closed_on", models.DateField(null=True)),
                (
                    "account",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.account",
                    ),
                ),
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
                    "lot",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="holdings.lot",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["account", "opened_on"], name="holdings_lotspan_account"),
                    models.Index(
                        fields=["commodity", "opened_on"], name="holdings_lotspan_commodity"
                    ),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("lot", "opened_on"), name="holdings_lotspan_key"
                    )
                ],
            },
        ),
        migrations.RunSQL(SQL, REVERSE),
    ]
