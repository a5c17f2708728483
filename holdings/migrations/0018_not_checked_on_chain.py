from django.db import migrations, models


class Migration(migrations.Migration):
    """A reconciliation item may say that its commodity's chain was not checked because no
    explorer is configured for it (CHAIN_EXPLORERS): neither a break nor a gap."""

    dependencies = [
        ("holdings", "0017_site_costs_and_fixed_assets"),
    ]

    operations = [
        migrations.AlterField(
            model_name="reconciliationitem",
            name="status",
            field=models.CharField(
                choices=[
                    ("matched", "Matched"),
                    ("unmatched", "Unmatched"),
                    ("unexplained", "Unexplained"),
                    ("unreachable", "Source unreachable"),
                    ("no_source", "No source"),
                    ("not_on_chain", "Not checked on chain"),
                ],
                max_length=16,
            ),
        ),
    ]
