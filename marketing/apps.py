from django.apps import AppConfig


class MarketingConfig(AppConfig):
    name = "marketing"
    verbose_name = "Marketing"

    def ready(self) -> None:
        from . import personal_data  # noqa: F401 - registers this app's share of a contact's personal data
