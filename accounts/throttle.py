"""Login throttling per account and per client address, in the (tenant-keyed) cache."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, or the X-Forwarded-For entry added by the outermost of
    ``TANDEM_TRUSTED_PROXY_COUNT`` trusted proxies (entries further left can be forged)."""
    trusted = settings.TANDEM_TRUSTED_PROXY_COUNT
    if trusted > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= trusted:
            return hops[-trusted][:64]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _account_key(email: str) -> str:
    return "login-fail:acct:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _address_key(ip: str) -> str:
    return f"login-fail:ip:{ip}"


def login_blocked(*, email: str, ip: str) -> bool:
    counts = cache.get_many([_account_key(email), _address_key(ip)])
    return (
        counts.get(_account_key(email), 0) >= settings.TANDEM_LOGIN_MAX_FAILURES_PER_ACCOUNT
        or counts.get(_address_key(ip), 0) >= settings.TANDEM_LOGIN_MAX_FAILURES_PER_ADDRESS
    )


def _bump(key: str) -> None:
    over_limit(key, limit=0, window_seconds=settings.TANDEM_LOGIN_WINDOW_SECONDS)


def login_failed(*, email: str, ip: str) -> None:
    _bump(_account_key(email))
    _bump(_address_key(ip))


def login_succeeded(*, email: str) -> None:
    cache.delete(_account_key(email))


def window_minutes() -> int:
    return max(1, settings.TANDEM_LOGIN_WINDOW_SECONDS // 60)


def over_limit(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one event under ``key`` (per tenant, through the cache key function) and say whether
    more than ``limit`` happened within the window."""
    if cache.add(key, 1, timeout=window_seconds):
        return limit < 1
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window_seconds)
        count = 1
    return count > limit
