from django.apps import AppConfig


class HoldingsConfig(AppConfig):
    name = "holdings"
    verbose_name = "Holdings"
    default_auto_field = "django.db.models.BigAutoField"
