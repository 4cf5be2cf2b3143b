"""Alignment API: api (work in progress)."""

from __future__ import annotations

urlpatterns: list = []
