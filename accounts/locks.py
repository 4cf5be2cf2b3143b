"""Advisory locks for jobs that must not run twice at once in one workspace.

PostgreSQL's advisory locks are database-wide, so a lock with one constant key would also stop the same
job in every other workspace. The two-key form takes the job's class and a hash of the current schema:
the same job in two workspaces never waits on each other, and these keys never meet the single-key
locks of tenant provisioning (a separate key space).
"""

from __future__ import annotations

JOBS = {
    "marketing.rescore": 1,
    "alignment.engine": 2,
    "alignment.recompute_request": 3,
    "alignment.objection_digest": 4,
}


def try_workspace_lock(cursor, job: str) -> bool:
    """Take the job's lock for the current schema until the transaction ends; False if another holds it."""
    job_key = JOBS[job]  # an unknown job is a programming error, not a lock
    cursor.execute("SELECT pg_try_advisory_xact_lock(%s, hashtext(current_schema()))", [job_key])
    return bool(cursor.fetchone()[0])


def workspace_lock(cursor, job: str) -> None:
    """Wait for the job's lock for the current schema; held until the transaction ends."""
    job_key = JOBS[job]
    cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))", [job_key])
