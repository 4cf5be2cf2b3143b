"""Developer settings: ``make run``. Plain HTTP on port 8000, a development key."""

from __future__ import annotations

import os

os.environ.setdefault("TANDEM_URL_SCHEME", "http")
os.environ.setdefault("TANDEM_URL_PORT", "8000")

from .base import *  # noqa: E402,F403
from .base import env  # noqa: E402

DEBUG = True
SECRET_KEY = env("SECRET_KEY") or "local-development-key-not-for-production-use-0123456789abcdef"  # noqa: S105
