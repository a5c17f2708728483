from django.db import migrations

# code, name, decimal places, kind, measurement policy (ACCOUNTING.md, Units and money)
COMMODITIES = [
    ("USD", "US dollar", 2, "fiat", "cost"),
    ("BTC", "Bitcoin", 8, "crypto", "fair_value"),
    ("USDT", "Tether USD", 6, "stablecoin", "cost"),
    ("KAS", "Kaspa", 8, "crypto", "fair_value"),
    ("ETC", "Ethereum Classic", 18, "crypto", "fair_value"),
]
ROLES = ["Finance staff", "Finance approver", "Auditor"]


def seed(apps, schema_editor):
    Commodity = apps.get_model("ledger", "Commodity")
    Group = apps.get_model("auth", "Group")
    for code, name, places, kind, policy in COMMODITIES:
        Commodity.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "decimal_places": places,
                "kind": kind,
                "measurement_policy": policy,
            },
        )
    for role in ROLES:
        Group.objects.get_or_create(name=role)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0002_invariants"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
