"""Alignment pages: settings (work in progress)."""

from __future__ import annotations

urlpatterns: list = []
