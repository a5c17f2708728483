"""Manual journal kinds from a closed list."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ledger", "0014_application_role")]

    operations: list = []
