"""Public routes of a workspace host, included under ``f/``: the hosted lead form and its submit endpoint."""

from __future__ import annotations

from django.urls import path

from . import public_views

urlpatterns = [
    path("<str:key>/", public_views.form_public, name="form_public"),
]
