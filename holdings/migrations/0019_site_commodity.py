"""A site mines one coin: its commodity, BTC for the sites set up before, except a site
whose pool accounts all mine one other coin, which mines that one
(0019_site_commodity.sql). On the way back the column goes, and with it what it said."""

from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models

SQL = Path(__file__).with_suffix(".sql").read_text()


class Migration(migrations.Migration):
    dependencies = [
        ("holdings", "0018_not_checked_on_chain"),
        ("ledger", "0018_set_based_writes"),
    ]

    operations = [
        migrations.AddField(
            model_name="site",
            name="commodity",
            field=models.ForeignKey(
                default="BTC",
                help_text="The coin the site's machines mine.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="ledger.commodity",
            ),
        ),
        migrations.RunSQL(SQL, reverse_sql=migrations.RunSQL.noop),
    ]
