"""Settings of the tenant-resolution benchmark's web processes (``bench/web_bench.py``): the project's own,
DEBUG off, with one more route (``/bench/ping``, a trivial view). ``TANDEM_BENCH_NO_TENANT=1`` removes
the tenant middleware, and nothing else, for the floor."""

from __future__ import annotations

import os

from config.settings.local import *  # noqa: F403
from config.settings.local import MIDDLEWARE

DEBUG = False
ROOT_URLCONF = "bench.urls_ping"
TENANT_MIDDLEWARE = "accounts.tenancy.middleware.TenantMiddleware"
if os.environ.get("TANDEM_BENCH_NO_TENANT") == "1":
    MIDDLEWARE = [name for name in MIDDLEWARE if name != TENANT_MIDDLEWARE]
