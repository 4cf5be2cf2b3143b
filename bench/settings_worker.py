"""Settings of the Celery fan-out benchmark's worker (``bench/celery_bench.py``): the project's own with
DEBUG off, as deployed (DEBUG on keeps a log of every query and wraps every cursor to time it)."""

from __future__ import annotations

from config.settings.local import *  # noqa: F403

DEBUG = False
