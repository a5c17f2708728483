from django.apps import AppConfig


class CangoTreasuryConfig(AppConfig):
    """The project itself as an app: its `migrate` runs as the owner role, and deployment
    checks name a missing separation of roles."""

    name = "cango_treasury"
    verbose_name = "cango-treasury"

    def ready(self) -> None:
        from cango_treasury import checks  # noqa: F401 (registers the checks)
