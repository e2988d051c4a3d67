"""Checks schemathesis runs beside its own (``SCHEMATHESIS_HOOKS``; `--checks all` includes them).

The document says what a well-formed request is; it cannot say which ids exist or the
rules between fields of an event (an ``assess`` needs a score), so a well-formed request
may still be a 400 for those reasons, and only for those: the test lets
``positive_data_acceptance`` take a 400 and these checks hold it to that.
"""

from __future__ import annotations

from typing import Any

import schemathesis

#: Error types of a well-formed request that names something the server does not have.
STATE_REASONS = {"unknown_user", "unknown_skill", "unknown_item", "unknown_mentor", "invalid_event", "invalid_value"}
#: Statuses that answer something about the request, so their errors say where.
FIELD_STATUSES = {400, 401, 403, 404, 405, 413, 415}


def _detail(response: Any) -> list[dict[str, Any]]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not (isinstance(body, dict) and isinstance(body.get("error"), str) and isinstance(body.get("detail"), list)):
        raise AssertionError(f"{response.request.method} answered {response.status_code} without the error shape: "
                             f"{response.headers.get('content-type')} {response.text[:300]!r}")
    return body["detail"]


@schemathesis.check
def well_formed_requests_are_refused_only_for_state(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 400 to data the document calls valid names an unknown id or an event rule, never a type or a field."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    kinds = {d.get("type") for d in _detail(response)}
    if not kinds or not kinds <= STATE_REASONS:
        raise AssertionError(f"a request the document calls valid was refused for {sorted(map(str, kinds))}: "
                             f"{response.text[:300]}")
    return None


@schemathesis.check
def errors_name_the_field(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every refusal of a request is our error body, and each of its details says where (``loc``)."""
    if response.status_code not in FIELD_STATUSES or response.request.method == "HEAD":  # HEAD: no body
        return None
    detail = _detail(response)
    if not detail or any(not d.get("loc") for d in detail):
        raise AssertionError(f"{response.status_code} without a field: {response.text[:300]}")
    return None
