"""The audit log's rows built without the columns a table leaves out of it
(0022_audit_leaves_out_unread.sql); on the way back, the function of 0009."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).with_suffix(".sql").read_text()
REVERSE = (Path(__file__).resolve().parent.parent / "sql" / "audit_plain_rows.sql").read_text()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0021_rollups_room_to_update")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
