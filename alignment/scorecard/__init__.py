"""The alignment scorecard: a 0-100 score per workspace and period made of visible components, as the metric
engine stored them (``engine_sql.SCORE`` and the metrics it reads), each with its trend over the periods
before and a drill-down into the records behind it.

The components and what each is computed from (``../shared/metrics.md``, "Alignment score"):

- SLA attainment on both sides: the mean of the sales side (first touches and decisions met within the SLA
  over those due, from the clocks) and the marketing side (MQLs against the commitment and acceptance
  against the minimum of the workspace policy);
- MQL acceptance rate: accepted / decided;
- loss-reason coverage: lost deals with a structured reason / lost deals;
- feedback closure: objections logged whose objection has an answering asset / objections logged;
- joint goal attainment: the mean over the period's shared goals of actual / target, capped at 1;
- attribution coverage: deals created with a marketing touch within the influence lookback / deals created.

The score is 100 x the weighted mean over the components that have data (the weights are definition
settings); a component without data is shown as such and left out, never counted as 0. Reads are a fixed
number of queries whatever the number of rows.
"""

from __future__ import annotations

from .drill import Drill, drill, goal_share
from .score import (
    BY_KEY,
    COMPONENTS,
    GRAINS,
    PAGE_SIZE,
    WEIGHT_FIELDS,
    Component,
    ComponentValue,
    Scorecard,
    latest_score,
    parse_page,
    parse_period,
    scorecard,
)

__all__ = [
    "BY_KEY", "COMPONENTS", "GRAINS", "PAGE_SIZE", "WEIGHT_FIELDS", "Component", "ComponentValue", "Drill",
    "Scorecard", "drill", "goal_share", "latest_score", "parse_page", "parse_period", "scorecard",
]  # fmt: skip
