"""Test settings: ``make test``. Same servers as the environment says; faster hashing; mail in memory."""

from __future__ import annotations

import os

os.environ.setdefault("TANDEM_URL_SCHEME", "http")

from .base import *  # noqa: E402,F403
from .base import env, env_bool  # noqa: E402

SECRET_KEY = env("SECRET_KEY") or "test-key-not-for-production-use-0123456789abcdefghijklmnop"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Unit tests run tasks in-process; the integration suite starts real workers and turns this off.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)
CELERY_TASK_EAGER_PROPAGATES = True
TANDEM_TENANT_CACHE_SECONDS = 30
# The suite calls the API far faster than any partner; tests of the limits set their own small ones.
if not env("TANDEM_API_PLANS"):
    TANDEM_API_PLANS = {
        plan: {"key": 100_000, "workspace": 100_000, "daily": 10_000_000}
        for plan in TANDEM_API_PLANS  # noqa: F405
    }
