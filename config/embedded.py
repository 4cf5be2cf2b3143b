"""Embedded defaults: a PostgreSQL of our own and a broker that needs no server.

Used only when ``DATABASE_URL`` / ``CELERY_BROKER_URL`` are not set, so that a fresh machine runs the
project with nothing installed but Python. The data lives in a git-ignored folder of the checkout and
is kept between runs. Every process that imports the settings attaches to the same server; pgserver
counts the attached processes and stops the server when the last one exits.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

logger = logging.getLogger(__name__)

EMBEDDED_DB_NAME = "tandem"


def parse_database_url(url: str) -> dict:
    """Turn ``postgresql://user:pass@host:port/name?host=/socket&sslmode=...`` into Django settings."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ValueError(f"DATABASE_URL must be a postgresql:// URL, not {parsed.scheme!r}")
    query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    host = query.pop("host", None) or (unquote(parsed.hostname) if parsed.hostname else "")
    return {
        "NAME": unquote(parsed.path.lstrip("/")) or "postgres",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or ""),
        "OPTIONS": query,
    }


_hardened = False


def _harden_pgserver() -> None:
    """Make pgserver's list of attached processes survive processes that die mid-write.

    pgserver keeps the pids attached to a server in a JSON file and stops the server when the last one
    detaches. A process killed while rewriting that file left it empty, and every later start failed
    on it; a process killed outright left its pid behind, so the server was never stopped. Writes are
    made atomic, unreadable content counts as empty, and pids of processes that no longer exist are
    dropped when the list is read.
    """
    global _hardened
    if _hardened:
        return
    import json
    import os
    import tempfile

    import psutil
    from pgserver import utils

    def get(self) -> list[int]:
        try:
            values = json.loads(self.path.read_text() or "[]")
        except (FileNotFoundError, ValueError):
            return []
        return [pid for pid in values if isinstance(pid, int) and psutil.pid_exists(pid)]

    def put(self, values: list[int]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".handle_pids.")
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(values))
        os.replace(tmp, self.path)

    utils.DiskList.get = get
    utils.DiskList.put = put
    _hardened = True


def embedded_database_url(data_dir: Path) -> str:
    """Start (or attach to) the project's own PostgreSQL and return a URL for its ``tandem`` database."""
    import warnings

    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); pgserver then uses /tmp.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver
    import psycopg

    _harden_pgserver()
    pgdata = data_dir / "pg"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [EMBEDDED_DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{EMBEDDED_DB_NAME}"')
            logger.info("created embedded database %s in %s", EMBEDDED_DB_NAME, pgdata)
    return server.get_uri(EMBEDDED_DB_NAME)


def filesystem_broker_options(data_dir: Path) -> dict:
    """Kombu's filesystem transport: every process exchanges messages through one folder."""
    queue = data_dir / "broker" / "queue"
    processed = data_dir / "broker" / "processed"
    control = data_dir / "broker" / "control"  # broadcast (worker control) exchanges; default is ./control
    for folder in (queue, processed, control):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "processed_folder": str(processed),
        "control_folder": str(control),
        "store_processed": False,
    }
