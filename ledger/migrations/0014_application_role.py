"""The application's database role: owns nothing, cannot disable triggers."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ledger", "0013_guarded_flag_checked")]

    operations: list = []
