"""The second contract run's check (SCHEMATHESIS_HOOKS=tests.contract.other_workspace): with another
workspace's key, every answer of every operation is a 401 in the one error body. Kept out of the first run,
where ``--checks all`` would apply it too."""

from __future__ import annotations

import re

import schemathesis

from tests.contract import hooks  # noqa: F401 - the hooks of every run

# What the URL converters match: <int:pk> (the schema's "id") and <slug:...>.
ROUTE_VALUES = {"id": re.compile(r"[0-9]+")}
SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def _route_value(name: str) -> re.Pattern:
    return ROUTE_VALUES["id"] if name == "id" or name.endswith("_pk") else SLUG


@schemathesis.check
def another_workspace_is_401(ctx, response, case):
    if response.status_code == 414:  # the web server refused the request line before the API saw a key
        return None
    # A path parameter no route takes ("null,null" for an id) reaches no operation: the URL resolver answers
    # 404 to everyone before any view (or key) is looked at, and says nothing about this workspace.
    values = (case.path_parameters or {}).items()
    if any(not _route_value(name).fullmatch(str(value)) for name, value in values):
        return None
    if response.status_code != 401:
        raise AssertionError(
            f"{case.method} {case.path} answered {response.status_code} to another workspace's key, not 401"
        )
    body = response.json()
    error = body.get("error", {}) if isinstance(body, dict) else {}
    if error.get("status") != 401 or error.get("code") not in ("authentication_failed", "not_authenticated"):
        raise AssertionError(
            f"{case.method} {case.path}: a 401 without the error body: {response.text[:200]!r}"
        )
    return None
