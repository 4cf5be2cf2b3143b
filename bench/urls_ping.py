"""The workspace URLconf plus ``/bench/ping`` (a trivial view: two bytes, no query) for
``bench/web_bench.py``. Only the benchmark's settings (``bench.settings_ping``) use it."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import path

from config.urls_tenants import urlpatterns as workspace_urls


def ping(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("bench/ping", ping), *workspace_urls]
