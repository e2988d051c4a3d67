"""SkillPath errors -> HTTP status and a JSON body naming the field and the reason.

The only place HTTP status codes are decided (DEVELOPERS.md, "Errors"):

| error | status |
| --- | --- |
| DataValidationError (bad events) | 400, one detail per event problem |
| UnknownSkillError, ConfigError, other input errors | 400 |
| UnknownItemError, UnknownSkillError, ... | 400 in a body field, 404 in a URL path |
| IntegrityError (a model that fails verification on reload) | 409 |
| NotReadyError (no model loaded yet) | 503 |

Body: ``{"error": "<one line>", "detail": [{"loc": [...], "msg": "..."}]}``, the shape
BentoML and pydantic use for validation errors, so clients parse one format.
"""

from __future__ import annotations

from typing import Any

from catalog.errors import (
    DataValidationError, IntegrityError, NotReadyError, SkillPathError, UnknownIdError,
)

__all__ = ["FieldError", "status_of", "error_body", "json_error"]


class FieldError(SkillPathError, ValueError):
    """A request value that passed the schema but not the catalog; ``loc`` names the field."""

    def __init__(self, loc: list[str | int], cause: SkillPathError) -> None:
        self.loc = list(loc)
        self.cause = cause
        super().__init__(f"{'.'.join(map(str, loc))}: {cause}")


def status_of(exc: SkillPathError, *, in_path: bool = False) -> int:
    inner = exc.cause if isinstance(exc, FieldError) else exc
    if isinstance(inner, NotReadyError):
        return 503
    if isinstance(inner, IntegrityError):
        return 409
    if isinstance(inner, UnknownIdError) and in_path:
        return 404
    return 400


def error_body(exc: SkillPathError) -> dict[str, Any]:
    """``{"error", "detail"}`` for ``exc``; event problems become one detail each."""
    if isinstance(exc, DataValidationError):
        detail = [{"loc": ["events", e.line - 1, e.column], "msg": e.reason} for e in exc.errors]
        n = len(exc.errors)
        first = f"events.{exc.errors[0].line - 1}.{exc.errors[0].column}: {exc.errors[0].reason}" if n else ""
        return {"error": f"{n} invalid event(s), nothing stored; {first}" + (" ..." if n > 1 else ""),
                "detail": detail}
    if isinstance(exc, FieldError):
        msg = str(exc.cause)
        return {"error": str(exc), "detail": [{"loc": exc.loc, "msg": msg}]}
    loc: list[str | int] = []
    if isinstance(exc, UnknownIdError):
        loc = [f"{exc.kind}_id"]
    return {"error": str(exc).splitlines()[0], "detail": [{"loc": loc, "msg": str(exc)}]}


def json_error(exc: SkillPathError, *, in_path: bool = False) -> tuple[int, dict[str, Any]]:
    return status_of(exc, in_path=in_path), error_body(exc)
