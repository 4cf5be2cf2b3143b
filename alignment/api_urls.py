from __future__ import annotations

from . import api, api_reports

urlpatterns = [*api.urlpatterns, *api_reports.urlpatterns]
