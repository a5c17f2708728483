"""The audit log's rows, each turned into JSON once (0023_audit_rows_json_once.sql); on the
way back, the function of 0022."""

from pathlib import Path

from django.db import migrations

HERE = Path(__file__).resolve().parent
SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = (HERE / "0022_audit_leaves_out_unread.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0022_audit_leaves_out_unread")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
