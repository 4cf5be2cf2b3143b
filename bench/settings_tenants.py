"""Settings of the tenant benchmark (``bench/tenants_bench.py``): the project's own, DEBUG off, plus one
benchmark-only tenant app (``bench/tenantapp``) whose second migration is the additive migration run over
every workspace."""

from __future__ import annotations

from config.settings.local import *  # noqa: F403
from config.settings.local import INSTALLED_APPS, TENANT_APPS

DEBUG = False
TENANT_APPS = [*TENANT_APPS, "bench.tenantapp"]
INSTALLED_APPS = [*INSTALLED_APPS, "bench.tenantapp"]
