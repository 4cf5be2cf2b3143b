"""Schemathesis hooks of every contract run (SCHEMATHESIS_HOOKS=tests.contract.hooks).

``no_echoed_error_body``: schemathesis sometimes offers, as valid input, a body carrying an ``error`` object
taken from an earlier answer (our error body: ``{"error": {"status", "fields", ...}}``), although every
request body in the schema is closed (``additionalProperties: false``) and none has an ``error`` field. The
API rightly refuses it with a 400 naming ``error``; the case is not valid input, so it is not sent. Every
other body, valid or not, is.
"""

from __future__ import annotations

import schemathesis


@schemathesis.hook
def filter_body(ctx, body) -> bool:
    return not (isinstance(body, dict) and "error" in body)
