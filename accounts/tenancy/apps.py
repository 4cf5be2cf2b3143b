from django.apps import AppConfig


class TenancyConfig(AppConfig):
    """Shared-only app: tenants, their domains, sign-ups and platform admins, all in ``public``."""

    name = "accounts.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        from . import cache

        cache.connect_invalidation()
