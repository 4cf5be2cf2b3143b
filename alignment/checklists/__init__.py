"""The alignment scorecard's two self-assessment checklists, answered from the workspace's own data: six
questions per team, each answer with a status, its evidence with the real figures and a link to the page
that shows it (``base`` has the details; ``marketing`` and ``sales`` the answers)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from .base import MARKETING, SALES, STATUSES, Answer, _clock, _stored, _workspace
from .marketing import _audience, _awareness, _campaigns, _capture, _channels, _content, _monitoring
from .sales import _conversion, _follow_up, _needs, _process, _satisfaction, _targets

__all__ = ["STATUSES", "Answer", "checklists"]


def checklists(*, now: dt.datetime | None = None) -> dict[str, list[Answer]]:
    """{"marketing": [6 answers], "sales": [6 answers]} for the current workspace schema, as of ``now``
    (default ``timezone.now()``)."""
    clock = _clock(now or timezone.now())
    stored = _stored(clock)
    workspace = _workspace(clock)
    campaigns = _campaigns(clock)
    return {
        MARKETING: [
            _audience(campaigns),
            _awareness(clock, stored),
            _capture(clock, stored),
            _content(clock),
            _channels(campaigns),
            _monitoring(clock),
        ],
        SALES: [
            _targets(clock, workspace),
            _conversion(clock, stored),
            _satisfaction(clock, stored),
            _needs(clock),
            _process(clock),
            _follow_up(clock, stored, workspace),
        ],
    }
