from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "Ledger"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ledger import audit, money, tokens

        money.register_commodities()
        # Who acts, for the audit log: Celery tasks and management commands.
        audit.install_task_hooks()
        audit.install_command_hook()
        # API tokens die with a password change or a deactivation.
        tokens.install()
