"""API rate limits: calls per API key (or person) and per workspace in a short window, and per workspace per
UTC day, by the workspace's plan (``TANDEM_API_PLANS``).

Counting is one statement in the workspace's own schema (``accounts_ratecounter``, one row per bucket
reset in place when its window turns): each bucket is incremented only while it is under its limit, under
the row lock PostgreSQL takes for the upsert, so a burst of concurrent calls admits exactly the limit and no
more, whatever the number of web processes. Nothing is shared between workspaces (each has its own table),
and nothing depends on Redis, so the limits hold while it is down.

Every counted response carries ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``
(seconds until the window turns) for the tighter of the key's and the workspace's window, and the daily
quota as ``X-RateLimit-Daily-Limit`` / ``-Remaining``; a call over a limit is answered 429 with
``Retry-After``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone

COUNT = """
INSERT INTO accounts_ratecounter AS c (bucket, window_start, count, max_count)
SELECT b.bucket, b.window_start, 1, b.max_count
FROM unnest(%(buckets)s::text[], %(starts)s::timestamptz[], %(limits)s::int[])
     AS b(bucket, window_start, max_count)
ON CONFLICT (bucket) DO UPDATE
SET count = CASE WHEN c.window_start = EXCLUDED.window_start THEN c.count + 1 ELSE 1 END,
    window_start = EXCLUDED.window_start, max_count = EXCLUDED.max_count
WHERE c.window_start <> EXCLUDED.window_start OR c.count < EXCLUDED.max_count
RETURNING c.bucket, c.count
"""


@dataclass(frozen=True)
class Usage:
    limit: int  # calls allowed in the window of the tighter bucket
    remaining: int
    reset: int  # seconds until that window turns
    daily_limit: int
    daily_remaining: int
    retry_after: int | None  # set when a limit is exhausted: seconds until the exhausted window turns

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
            "X-RateLimit-Daily-Limit": str(self.daily_limit),
            "X-RateLimit-Daily-Remaining": str(self.daily_remaining),
        }


def plan_limits(plan: str | None) -> dict[str, int]:
    plans = settings.TANDEM_API_PLANS
    return plans.get(plan or "") or plans[settings.TANDEM_API_DEFAULT_PLAN]


def principal_bucket(request) -> str | None:
    """``key:<id>`` for an API key, ``user:<id>`` for a person's session; None for anyone else."""
    from .models import User

    key = getattr(request.user, "api_key", None)
    if key is not None:
        return f"key:{key.pk}"
    if isinstance(request.user, User):
        return f"user:{request.user.pk}"
    return None


def consume(principal: str, *, plan: str | None, now: dt.datetime | None = None) -> Usage:
    """Count one call of ``principal`` in the current workspace (one statement) and say what is left."""
    now = now or timezone.now()
    limits = plan_limits(plan)
    window = settings.TANDEM_API_WINDOW_SECONDS
    epoch = now.timestamp()
    start = dt.datetime.fromtimestamp(epoch - epoch % window, dt.UTC)
    day = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(), dt.UTC)
    buckets = {
        principal: (start, limits["key"]),
        "workspace": (start, limits["workspace"]),
        "workspace:day": (day, limits["daily"]),
    }
    with connection.cursor() as cursor:
        cursor.execute(
            COUNT,
            {
                "buckets": list(buckets),
                "starts": [b[0] for b in buckets.values()],
                "limits": [b[1] for b in buckets.values()],
            },
        )
        counted = dict(cursor.fetchall())  # a bucket at its limit is not counted, so not returned
    remaining = {
        name: (limit - counted[name] if name in counted else 0) for name, (_, limit) in buckets.items()
    }
    window_end = start.timestamp() + window
    day_end = (day + dt.timedelta(days=1)).timestamp()
    reset = max(1, math.ceil(window_end - epoch))
    exhausted = [name for name in buckets if name not in counted]
    retry_after = None
    if exhausted:  # the day's quota outlasts any window
        retry_after = max(1, math.ceil((day_end if "workspace:day" in exhausted else window_end) - epoch))
    # the bucket with the fewest calls left; on a tie, the one that refused this call
    tighter = min((principal, "workspace"), key=lambda name: (remaining[name], name in counted))
    return Usage(
        limit=buckets[tighter][1],
        remaining=remaining[tighter],
        reset=reset,
        daily_limit=limits["daily"],
        daily_remaining=remaining["workspace:day"],
        retry_after=retry_after,
    )


def exhausted_message(usage: Usage) -> str:
    if usage.daily_remaining == 0 and (usage.retry_after or 0) > settings.TANDEM_API_WINDOW_SECONDS:
        return "The workspace's daily API quota is used up; it renews at midnight UTC."
    return f"Too many API calls: at most {usage.limit} in {settings.TANDEM_API_WINDOW_SECONDS} seconds."
