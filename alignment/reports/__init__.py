"""The joint reports: read STORED values only (``MetricValue``, ``AttributionCredit``) under the reporting
definition version (``services.reporting_definition``) and shape them into plain tables that the portal
pages, their CSV downloads and the JSON API share.

- Nothing here recomputes a metric from facts. Over several periods a count or an amount is summed, and a
  rate is its stored numerators over its stored denominators (never an average of rates); medians,
  snapshots and indices are shown per period instead. The one exception is the send-to-lead curve of one
  selected send: one aggregate query over its touchpoints.
- Every report costs a fixed number of queries, whatever the amount of stored data.
- A NULL or missing stored value is ``None`` ("no data", never 0); a column the engine does not store for
  the view (not at this granularity, not by this dimension) is ``NA``, with a note saying why.
"""

from __future__ import annotations

from .attribution import attribution_report
from .base import NA, Column, Report, Table
from .filters import (
    API_PARAMS,
    CHANNELS,
    FILTER_DIMENSIONS,
    MEASURES,
    MODELS,
    SPECS,
    Filters,
    parse_filters,
    period_label,
)
from .joint import headline, joint_report
from .lead_quality import lead_quality_report

BUILDERS = {"joint": joint_report, "attribution": attribution_report, "lead_quality": lead_quality_report}


def build(report: str, filters: Filters) -> Report:
    return BUILDERS[report](filters)


def default_filters(report: str = "joint") -> Filters:
    """The filters of a report opened without parameters: months, the last six of them."""
    return parse_filters({}, report=report)


__all__ = [
    "API_PARAMS",
    "BUILDERS",
    "CHANNELS",
    "FILTER_DIMENSIONS",
    "MEASURES",
    "MODELS",
    "NA",
    "SPECS",
    "Column",
    "Filters",
    "Report",
    "Table",
    "attribution_report",
    "build",
    "default_filters",
    "headline",
    "joint_report",
    "lead_quality_report",
    "parse_filters",
    "period_label",
]
