from __future__ import annotations

from django.apps import AppConfig


class BenchTenantConfig(AppConfig):
    name = "bench.tenantapp"
    label = "benchtenant"
    default_auto_field = "django.db.models.BigAutoField"
