from __future__ import annotations

from . import api, api_exports, api_goals, api_objections, api_reports, api_schedules, api_scorecard, api_sla

urlpatterns = [
    *api.urlpatterns,
    *api_reports.urlpatterns,
    *api_goals.urlpatterns,
    *api_sla.urlpatterns,
    *api_schedules.urlpatterns,
    *api_objections.urlpatterns,
    *api_scorecard.urlpatterns,
    *api_exports.urlpatterns,
]
