"""Chart.js configurations for ``{{ config|json_script:"id" }}``; static/js/app.js draws them."""

from __future__ import annotations


def chart_config(kind: str, labels: list, datasets: list[dict], *, stacked: bool = False) -> dict:
    """A Chart.js config for ``{{ config|json_script:"id" }}``; app.js draws it (no inline script)."""
    scales = {"x": {"stacked": stacked}, "y": {"stacked": stacked, "beginAtZero": True}}
    return {
        "type": kind,
        "data": {"labels": labels, "datasets": datasets},
        "options": {"scales": scales, "plugins": {"legend": {"position": "bottom"}}},
    }
