"""The production records' index by day carries the figures added up over a period (pool
account, entry, net, value, hashrate), so that those sums are index-only scans."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("holdings", "0023_disposal_totals"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="productionrecord",
            index=models.Index(
                fields=["day"],
                include=("pool_account", "entry", "net", "value", "hashrate_hs"),
                name="holdings_production_day_totals",
            ),
        ),
        migrations.RemoveIndex(
            model_name="productionrecord",
            name="holdings_production_day",
        ),
    ]
