from __future__ import annotations

from . import api, api_goals, api_reports

urlpatterns = [*api.urlpatterns, *api_reports.urlpatterns, *api_goals.urlpatterns]
