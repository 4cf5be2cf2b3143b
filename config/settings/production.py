"""Production settings. Refuse to start without a secret key, allowed hosts and real servers.

The checks run before the base settings are imported, so a misconfigured production process never
starts the embedded development database or broker.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_REQUIRED = {
    "SECRET_KEY": "SECRET_KEY must be set to a random value of at least 50 characters.",
    "ALLOWED_HOSTS": "ALLOWED_HOSTS must be set, e.g. 'tandem.example.com,.tandem.example.com'.",
    "DATABASE_URL": "DATABASE_URL must point at the production PostgreSQL.",
    "CELERY_BROKER_URL": "CELERY_BROKER_URL must point at the production broker (Redis or RabbitMQ).",
}
for _name, _message in _REQUIRED.items():
    if not os.environ.get(_name, "").strip():
        raise ImproperlyConfigured(_message)
if len(os.environ["SECRET_KEY"]) < 50:
    raise ImproperlyConfigured(_REQUIRED["SECRET_KEY"])

from .base import *  # noqa: E402,F403
from .base import STORAGES, env, env_bool, env_int, env_list  # noqa: E402

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
DEBUG = False
TANDEM_URL_SCHEME = env("TANDEM_URL_SCHEME", "https")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# The load balancer's health check speaks plain HTTP to the process; a redirect would fail it.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# A year, and every workspace host (<slug>.<base domain>) with it. A lower value is for the first days of
# a rollout only (docs/deployment.md).
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Preloading is a promise about the whole registered domain (every host under it, whoever runs it, HTTPS
# for months after withdrawal) that only the domain's owner can make, and the header alone lets anyone
# submit the domain to the browsers' list. So it is off unless the operator opts in with
# SECURE_HSTS_PRELOAD=1; Django's deploy check warns about it being off, which is silenced here on purpose.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

WHITENOISE_USE_FINDERS = False
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
