from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class HoldingsConfig(AppConfig):
    name = "holdings"
    verbose_name = "Holdings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The ledger never imports holdings: holdings registers its documents and its
        # subledger chain with the ledger once the apps are loaded.
        from holdings.services import cancellations, costs, fixed_assets, hpc, seals

        cancellations.register()
        seals.register()
        costs.register()
        fixed_assets.register()
        hpc.register()


class TreasuryAdminConfig(AdminConfig):
    """The admin, whose index is the treasury dashboard (holdings.admin_site)."""

    default_site = "holdings.admin_site.TreasuryAdminSite"
