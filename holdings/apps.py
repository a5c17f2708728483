from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class HoldingsConfig(AppConfig):
    name = "holdings"
    verbose_name = "Holdings"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The ledger never imports holdings: holdings registers its documents and its
        # subledger chain with the ledger once the apps are loaded.
        from holdings.selectors.kept_accounts import subledger_accounts
        from holdings.services import cancellations, costs, fixed_assets, hpc, seals
        from ledger.subledgers import register_keeper

        cancellations.register()
        seals.register()
        costs.register()
        fixed_assets.register()
        hpc.register()
        # The accounts the lots, loans and fixed assets keep: no manual journal posts there.
        register_keeper(subledger_accounts)


class TreasuryAdminConfig(AdminConfig):
    """The admin, whose index is the treasury dashboard (holdings.admin_site)."""

    default_site = "holdings.admin_site.TreasuryAdminSite"
