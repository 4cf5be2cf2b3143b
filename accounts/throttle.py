"""Login throttling per account and per client address, in the (tenant-keyed) cache.

While the cache (Redis) is down every check here fails open, with a warning in the log: a login is checked
against its password alone, and a rate-limited action (a preview, a recompute) is allowed. The limits are
brakes on guessing and on cost, not the guard itself (passwords are hashed slowly; actions are idempotent
and their own tasks are locked per workspace), and a minute of outage should not lock every user out. The
API's rate limits are not here: they count in PostgreSQL (``accounts.api_limits``) and hold throughout.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import salted_hmac

from config.cache import CacheUnavailable

logger = logging.getLogger(__name__)


def _unavailable(what: str, exc: Exception) -> None:
    logger.warning("cache unavailable, %s fails open: %s", what, exc)


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
    return address_bucket("login-fail:ip", ip)


def address_bucket(action: str, ip: str) -> str:
    """The counter of ``action`` for one client address. The address, in its canonical form (as PostgreSQL
    stores it), is keyed-hashed: a cache key is no place for personal data, and an unkeyed hash of an IPv4
    address is easily reversed. The erasure of a contact deletes the counters of the addresses they used."""
    with contextlib.suppress(ValueError):  # "unknown": hashed as it is
        ip = ipaddress.ip_address(ip).compressed
    return f"{action}:{salted_hmac('tandem.throttle.address', ip).hexdigest()[:32]}"


def login_blocked(*, email: str, ip: str) -> bool:
    try:
        counts = cache.get_many([_account_key(email), _address_key(ip)])
    except CacheUnavailable as exc:
        _unavailable("login throttling", exc)
        return False
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
    try:
        cache.delete(_account_key(email))
    except CacheUnavailable as exc:
        _unavailable("login throttling", exc)


def window_minutes() -> int:
    return max(1, settings.TANDEM_LOGIN_WINDOW_SECONDS // 60)


def over_limit(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one event under ``key`` (per tenant, through the cache key function) and say whether
    more than ``limit`` happened within the window. False (not counted) while the cache is down."""
    try:
        if cache.add(key, 1, timeout=window_seconds):
            return limit < 1
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window_seconds)
            count = 1
    except CacheUnavailable as exc:
        _unavailable(f"the limit on {key.split(':')[0]}", exc)
        return False
    return count > limit
