"""Site costs, vendor deposits, fixed assets, asset events and HPC revenue sealed with the
journal from the next entry sealed on; HPC revenue kept as recorded
(0020_cost_subledgers_sealed.sql)."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = [
    "DROP TRIGGER holdings_hpc_revenue_no_truncate ON holdings_hpcrevenue",
    "DROP TRIGGER holdings_hpc_revenue_immutable ON holdings_hpcrevenue",
    "DROP TABLE holdings_subledgercoverage",
    "DROP FUNCTION holdings_subledger_coverage_kept()",
]


class Migration(migrations.Migration):
    dependencies = [("holdings", "0019_site_commodity")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
