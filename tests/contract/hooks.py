"""Schemathesis hooks of every contract run (SCHEMATHESIS_HOOKS=tests.contract.hooks).

``before_call``: schemathesis sometimes offers, as valid input, a body carrying an ``error`` member taken
from the schema's answers (our error body is ``{"error": {...}}``), although every request body in the schema
is closed (``additionalProperties: false``) and none has an ``error`` field; the API rightly refuses it with
a 400 naming ``error``. Such a member is dropped from a case meant to be valid before it is sent (schemathesis
then checks the case again against the schema). Every other case, valid or not, is sent as generated.
"""

from __future__ import annotations

import schemathesis


@schemathesis.hook
def before_call(ctx, case, kwargs) -> None:
    meta = case.meta
    positive = meta is not None and meta.generation.mode.is_positive
    if positive and isinstance(case.body, dict) and "error" in case.body:
        case.body = {name: value for name, value in case.body.items() if name != "error"}
