"""Settings shared by every environment. Environments differ only through environment variables.

``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``REDIS_URL`` switch the real servers on; without them the
embedded defaults in :mod:`config.embedded` serve. There is no default secret key here: ``local`` and
``test`` set development keys and ``production`` refuses to start without one.
"""

from __future__ import annotations

import os
from pathlib import Path

from config.embedded import embedded_database_url, filesystem_broker_options, parse_database_url

BASE_DIR = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("TANDEM_DATA_DIR") or BASE_DIR / ".data")


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


SECRET_KEY = env("SECRET_KEY")
DEBUG = env_bool("DEBUG", False)

# --- Hosts and tenancy -----------------------------------------------------------------------------
# The bare domain serves the public site (sign-up, platform console); every tenant lives on
# <slug>.<TANDEM_BASE_DOMAIN>. Any other host is a 404 on every route.
TANDEM_BASE_DOMAIN = env("TANDEM_BASE_DOMAIN", "localhost").lower()
TANDEM_PUBLIC_HOSTS = [
    TANDEM_BASE_DOMAIN,
    f"www.{TANDEM_BASE_DOMAIN}",
    *env_list("TANDEM_EXTRA_PUBLIC_HOSTS"),
]
# Scheme and port used to build absolute links outside a request (commands, e-mails from tasks).
TANDEM_URL_SCHEME = env("TANDEM_URL_SCHEME", "https")
TANDEM_URL_PORT = env("TANDEM_URL_PORT", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [TANDEM_BASE_DOMAIN, f".{TANDEM_BASE_DOMAIN}"])

TENANT_MODEL = "tenancy.Tenant"
TENANT_DOMAIN_MODEL = "tenancy.Domain"
PUBLIC_SCHEMA_NAME = "public"
TENANT_LIMIT_SET_CALLS = True
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False
# How long a process trusts its cached host -> tenant lookup. Changes made in this process clear it at
# once; other processes see them within this many seconds.
TANDEM_TENANT_CACHE_SECONDS = env_int("TANDEM_TENANT_CACHE_SECONDS", 30)
# Functions run inside a new tenant's schema once it is migrated (default data of later apps).
TANDEM_TENANT_SEEDERS: list[str] = []

SHARED_APPS = [
    # First, so that its create_tenant command replaces django-tenants' interactive one.
    "accounts.tenancy",
    "django_tenants",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "accounts",
    "marketing",
    "sales",
    "alignment",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

MIDDLEWARE = [
    # First, so that every answer gets the security headers (CSP, Cache-Control, HSTS, nosniff,
    # Referrer-Policy) and the HTTPS redirect applies, whichever middleware or view made the answer:
    # the tenant middleware answers an unknown host or a workspace being set up on its own.
    "config.security.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "accounts.tenancy.middleware.TenantMiddleware",
    "config.middleware.RequestIdMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "accounts.middleware.SessionTenantGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # One audit entry per successful write (accounts.audit), the actor known from here on.
    "accounts.audit.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls_tenants"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.portal",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL")
TANDEM_EMBEDDED_DATABASE = not DATABASE_URL
_db = parse_database_url(DATABASE_URL or embedded_database_url(DATA_DIR))
DATABASES = {
    "default": {
        "ENGINE": "django_tenants.postgresql_backend",
        **_db,
        "CONN_MAX_AGE": env_int("CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
    }
}
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: per tenant keys on every alias ---------------------------------------------------------
REDIS_URL = env("REDIS_URL")
_cache_common = {
    "KEY_FUNCTION": "django_tenants.cache.make_key",
    "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    "KEY_PREFIX": "tandem",
}
# A Redis outage must not hold a request: connecting and each command give up within these seconds, and
# the callers that read the cache (login throttling, action rate limits: accounts.throttle) fail open
# with a warning. Sessions, API rate limits and idempotency keys live in PostgreSQL, not here.
CACHE_SOCKET_TIMEOUT_SECONDS = 0.5
CACHES = {
    "default": (
        {
            "BACKEND": "config.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": CACHE_SOCKET_TIMEOUT_SECONDS,
                "socket_timeout": CACHE_SOCKET_TIMEOUT_SECONDS,
            },
            **_cache_common,
        }
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "tandem",
            **_cache_common,
        }
    )
}

# --- Auth and sessions -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "accounts.backends.TenantUserBackend",
    "accounts.tenancy.backends.PlatformAdminBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

# Sessions live in each tenant's schema (and the public schema's own table for platform admins).
# Cookies carry no Domain attribute, so they are host-only: acme's cookie never reaches globex.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_NAME = "tandem_session"
SESSION_COOKIE_DOMAIN = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
CSRF_COOKIE_NAME = "tandem_csrf"
CSRF_COOKIE_DOMAIN = None
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "config.views.csrf_failure"

# Login throttling: failures allowed per account and per client address within the window.
TANDEM_LOGIN_MAX_FAILURES_PER_ACCOUNT = env_int("TANDEM_LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)
TANDEM_LOGIN_MAX_FAILURES_PER_ADDRESS = env_int("TANDEM_LOGIN_MAX_FAILURES_PER_ADDRESS", 20)
TANDEM_LOGIN_WINDOW_SECONDS = env_int("TANDEM_LOGIN_WINDOW_SECONDS", 15 * 60)
# Number of reverse proxies in front of the web processes that append to X-Forwarded-For; the client
# address used for throttling is the one the outermost trusted proxy saw. 0 means REMOTE_ADDR.
TANDEM_TRUSTED_PROXY_COUNT = env_int("TANDEM_TRUSTED_PROXY_COUNT", 0)
TANDEM_SIGNUPS_PER_ADDRESS_PER_HOUR = env_int("TANDEM_SIGNUPS_PER_ADDRESS_PER_HOUR", 10)
TANDEM_PASSWORD_RESETS_PER_ADDRESS_PER_HOUR = env_int("TANDEM_PASSWORD_RESETS_PER_ADDRESS_PER_HOUR", 5)

# API rate limits per plan (a workspace's ``Tenant.plan``): calls per API key (or person) and per workspace
# in each window of TANDEM_API_WINDOW_SECONDS, and per workspace per UTC day. HubSpot publishes 100 to 190
# calls per 10 seconds per app. TANDEM_API_PLANS (JSON) replaces the table, e.g.
# '{"standard": {"key": 150, "workspace": 190, "daily": 250000}}'.
TANDEM_API_WINDOW_SECONDS = env_int("TANDEM_API_WINDOW_SECONDS", 10)
TANDEM_API_PLANS: dict[str, dict[str, int]] = {
    "free": {"key": 100, "workspace": 100, "daily": 25_000},
    "standard": {"key": 150, "workspace": 190, "daily": 250_000},
    "enterprise": {"key": 190, "workspace": 400, "daily": 1_000_000},
}
if env("TANDEM_API_PLANS"):
    import json as _json

    TANDEM_API_PLANS = {
        str(plan): {name: int(limits[name]) for name in ("key", "workspace", "daily")}
        for plan, limits in _json.loads(env("TANDEM_API_PLANS")).items()
    }
TANDEM_API_DEFAULT_PLAN = "standard"
# Idempotency keys: how long a first response is kept and replayed.
TANDEM_IDEMPOTENCY_HOURS = env_int("TANDEM_IDEMPOTENCY_HOURS", 24)
TANDEM_INVITATION_DAYS = 7

# --- Security headers (production tightens the rest) -----------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy and Cache-Control: config.security.SecurityHeadersMiddleware (first in MIDDLEWARE).
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- I18n ------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT") or DATA_DIR / "staticfiles")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "config" / "static"]
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"
STORAGES = {
    # Uploaded files are kept per tenant (MEDIA_ROOT/<schema>/...) and served only through views that
    # check the user; there is no public media URL.
    "default": {"BACKEND": "django_tenants.files.storage.TenantFileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)

# --- Email -----------------------------------------------------------------------------------------
EMAIL_HOST = env("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Tandem <no-reply@tandem.invalid>")

# --- API -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # The API key is checked first: a request without credentials gets 401 (WWW-Authenticate: Bearer).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.ApiKeyAuthentication",
        "accounts.api_auth.PortalSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "config.api.CursorPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.api_schema.TandemAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tandem API",
    "DESCRIPTION": "The partner API of a Tandem workspace. Authenticate with `Authorization: Bearer <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api_schema.request_bodies_closed",
        "config.api_schema.component_examples",
    ],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # One name per choice set, so clients get stable enum types.
    "ENUM_NAME_OVERRIDES": {
        "CampaignStatusEnum": "marketing.models.campaigns.CampaignStatus",
        "ChannelEnum": "marketing.models.campaigns.Channel",
        "SendKindEnum": "marketing.models.campaigns.SendKind",
        "ContentKindEnum": "marketing.models.content.ContentKind",
        "TouchpointKindEnum": "marketing.models.touchpoints.TouchpointKind",
        "LifecycleStageEnum": "marketing.models.contacts.LifecycleStage",
        "SegmentKindEnum": "marketing.models.segments.Segment.Kind",
        "ScoringRuleKindEnum": "marketing.models.scoring.ScoringRule.Kind",
        "ImportKindEnum": "marketing.models.imports.ImportJob.Kind",
        "ImportStatusEnum": "marketing.models.imports.ImportJob.Status",
        "ActivityKindEnum": "sales.models.work.Activity.Kind",
        "WebhookDeliveryStatusEnum": "accounts.models.WebhookDelivery.Status",
        "OpenWonLostEnum": "sales.models.deals.Deal.Status",  # deal status and stage kind alike
        "SubscriptionStatusEnum": "sales.models.customers.Subscription.Status",
        "LossCategoryEnum": "sales.models.deals.LossCategory",
        "DealTypeEnum": "sales.models.deals.DealType",
        "ForecastCategoryEnum": "sales.models.deals.ForecastCategory",
        "QuotaPeriodEnum": "sales.models.work.Quota.Period",
        "QuotaMetricEnum": "sales.models.work.Quota.Metric",
        "LeadDecisionEnum": "sales.models.leads.LeadDecision.Decision",
        "SubscriptionActionEnum": [("change_mrr", "change_mrr"), ("churn", "churn"), ("renew", "renew")],
        "BatchItemStatusEnum": [("created", "created"), ("duplicate", "duplicate"), ("error", "error")],
        "PrincipalKindEnum": [("user", "user"), ("api_key", "api_key")],
        "GoalPeriodEnum": "alignment.models.GoalPeriod",
        "GoalStatusEnum": "alignment.models.Goal.Status",
    },
}

# --- Celery ----------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL") or "filesystem://"
TANDEM_EMBEDDED_BROKER = CELERY_BROKER_URL == "filesystem://"
# Publishing must never hold a request for long while the broker is down: a connection attempt gives up
# after CELERY_BROKER_CONNECTION_TIMEOUT (kombu retries connecting within that total, then raises), and
# config.outbox publishes with retry=False, so a failed send costs at most about a second and the task
# waits in the outbox for the relay.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
# Redis: acks_late tasks stay in the "unacked" hash until acknowledged. When a whole worker dies (SIGKILL,
# OOM, lost host), its unacked messages are put back on the queue by a worker once they are older than
# visibility_timeout (checked when a worker starts, then by kombu's sweep about every 100 s). It must
# exceed the longest task run plus the longest countdown (the dispatcher's jitter is at most a minute), or
# a running task is delivered twice; the tasks are idempotent, so that costs work, not correctness. The
# fault tests shorten it to see a redelivery in test time (TANDEM_BROKER_VISIBILITY_TIMEOUT).
_redis_broker_options = {
    "visibility_timeout": env_int("TANDEM_BROKER_VISIBILITY_TIMEOUT", 60 * 60),
    "socket_connect_timeout": 1,
    # A hung (not down) Redis: a publish gives up after this; above kombu's 1 s BRPOP wait, which an idle
    # worker's poll must outlast.
    "socket_timeout": 1.5,
}
CELERY_BROKER_TRANSPORT_OPTIONS = (
    filesystem_broker_options(DATA_DIR)
    if TANDEM_EMBEDDED_BROKER
    else _redis_broker_options
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
    else {}
)


def _default_result_backend() -> str:
    if TANDEM_EMBEDDED_BROKER:
        return f"file://{DATA_DIR / 'celery-results'}"
    if REDIS_URL:
        return REDIS_URL
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        return CELERY_BROKER_URL
    return "rpc://"  # RabbitMQ without Redis: results travel back over the broker


CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND") or _default_result_backend()
if CELERY_RESULT_BACKEND.startswith("file://"):
    (DATA_DIR / "celery-results").mkdir(parents=True, exist_ok=True)
CELERY_RESULT_EXPIRES = 60 * 60 * 24
if CELERY_RESULT_BACKEND.startswith(("redis://", "rediss://")):
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 1
    CELERY_REDIS_SOCKET_TIMEOUT = 1.5
CELERY_TASK_DEFAULT_QUEUE = env("TANDEM_QUEUE", "tandem")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Keep database connections across tasks instead of Celery's default close-around-every-task; CONN_MAX_AGE
# (checked before every task, config.celery) is what recycles them. Reconnecting every 200 tasks gave each
# new PostgreSQL backend cold catalog caches for every workspace it met next: the fan-out benchmark
# (bench/celery_bench.py, 1,000 workspaces) ran 106 metric refreshes per second at 200 and about 225 here.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 10_000)
CELERY_TASK_TENANT_CACHE_SECONDS = TANDEM_TENANT_CACHE_SECONDS
# The dispatcher's period; each fanned-out task expires after 1.5x of it.
TANDEM_DISPATCH_SECONDS = env_int("TANDEM_DISPATCH_SECONDS", 300)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"pgserver": {"level": "WARNING"}, "django.db.backends": {"level": "INFO"}},
}

GET_EXECUTOR_FUNCTION = "accounts.tenancy.migration.get_executor"
# migrate_schemas migrates the schemas that are behind in this many processes at once (0: one per core).
TANDEM_MIGRATION_WORKERS = env_int("TANDEM_MIGRATION_WORKERS", 0)
# The pg_dump that copies the template schema into new workspaces (accounts/tenancy/template.py); empty: the
# embedded server's own, or the one on the PATH. Without one at least as new as the server, new workspaces
# are migrated instead.
TANDEM_PG_DUMP = env("TANDEM_PG_DUMP", "")
# Demo data of each app, applied in this order by `manage.py seed_demo` (used by `make run`).
TANDEM_DEMO_SEEDERS = ["accounts.demo.seed", "marketing.demo.seed", "sales.demo.seed", "alignment.demo.seed"]
