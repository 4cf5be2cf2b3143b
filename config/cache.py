"""Django's Redis cache, with every Redis failure raised as :class:`CacheUnavailable`.

Callers decide what a cache outage means for them (``accounts.throttle`` fails open with a warning); with
the short socket timeouts of ``CACHES`` no call waits more than about a second for a Redis that is down.
"""

from __future__ import annotations

import functools
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache


class CacheUnavailable(Exception):  # noqa: N818 - reads better at the call sites than CacheUnavailableError
    """The cache server could not be reached (or did not answer in time)."""


def _translated(method):
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import redis

        try:
            return method(*args, **kwargs)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            raise CacheUnavailable(f"{type(exc).__name__}: {exc}") from exc

    return wrapper


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        for name in (
            "add", "get", "set", "touch", "delete", "get_many", "has_key", "incr", "set_many",
            "delete_many", "clear",
        ):  # fmt: skip
            setattr(self, name, _translated(getattr(self, name)))
