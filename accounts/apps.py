from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Tenant app: users, roles, invitations and API keys live in each tenant's schema."""

    name = "accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from . import (
            api_schema,  # noqa: F401 - registers the OpenAPI authentication extensions
            personal_data,  # noqa: F401 - registers the API's and the log's copies of a contact
        )
