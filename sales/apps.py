from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = "Sales"

    def ready(self) -> None:
        from . import personal_data  # noqa: F401 - registers this app's share of a contact's personal data
