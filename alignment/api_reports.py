"""Alignment API: api_reports (work in progress)."""

from __future__ import annotations

urlpatterns: list = []
