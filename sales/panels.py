"""Panels that apps further up the dependency chain add to the deal page, so sales never imports them
(``accounts <- marketing <- sales <- alignment``). A panel is a function of the request and the deal that
returns ``{"template": ..., "context": {...}}`` or None (nothing to show to this user), registered from
the other app's ``AppConfig.ready``. Each panel keeps a fixed number of queries per page."""

from __future__ import annotations

from collections.abc import Callable

DealPanel = Callable[[object, object], dict | None]
_DEAL_PANELS: list[DealPanel] = []


def register_deal_panel(panel: DealPanel) -> DealPanel:
    if panel not in _DEAL_PANELS:
        _DEAL_PANELS.append(panel)
    return panel


def deal_panels(request, deal) -> list[dict]:
    return [shown for panel in _DEAL_PANELS if (shown := panel(request, deal)) is not None]
