"""HTTP errors: the status of each failure and the one JSON body every error answer has.

The only place HTTP status codes are decided (DEVELOPERS.md, "Errors"):

| error | status |
| --- | --- |
| a request that breaks the schema (pydantic) | 400, one detail per problem |
| DataValidationError (bad events) | 400, one detail per event problem |
| UnknownSkillError, ConfigError, other input errors | 400 |
| InvalidValueError (one bad value, e.g. an empty ``message``) | 400, ``loc`` = its ``field`` |
| UnknownItemError, UnknownSkillError, ... | 400 in a body field, 404 in a URL path |
| Forbidden (a valid key whose role may not ask for this) | 403 |
| TextTooLongError (a text over its size limit) | 413 |
| IntegrityError (a model that fails verification on reload) | 409 |
| SessionConflictError (a session id stored with another body) | 409 |
| CycleError (a skill graph edit that closes a cycle) | 409, naming the cycle |
| VersionConflictError (``If-Match`` names a stale version) | 412 |
| BatchValidationError (bad entities) | 400, one detail per bad field: ``["items", index, field]`` |
| NotReadyError (no model loaded yet) | 503 |
| StorageUnavailableError (the shared database is down) | 503 with ``Retry-After`` |
| anything unexpected | 500, nothing about the server in the body |

Body: ``{"error": "<one line: field and reason>", "detail": [{"loc": [...], "msg": "...",
"type": "..."}]}`` (:class:`serving.schemas.ErrorResponse`), built only by :func:`error_response`,
so the security middleware, the exception handlers and every route answer in one shape.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from catalog.errors import (
    BatchValidationError, CycleError, DataValidationError, IntegrityError, InvalidValueError, NotReadyError,
    SessionConflictError, SkillPathError, TextTooLongError, UnknownIdError, VersionConflictError,
)
from training.registry import public_reason

if TYPE_CHECKING:  # the web stack loads with the routes, not with FieldError (the CLI's answers raise it too)
    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.responses import JSONResponse

__all__ = ["FieldError", "Forbidden", "status_of", "error_body", "error_response", "validation_detail", "install_handlers"]

log = logging.getLogger("skillpath.serving")
_MAX_LISTED = 5


class FieldError(SkillPathError, ValueError):
    """A request value that passed the schema but not the catalog; ``loc`` names the field."""

    def __init__(self, loc: list[str | int], cause: SkillPathError) -> None:
        self.loc = list(loc)
        self.cause = cause
        super().__init__(f"{'.'.join(map(str, loc))}: {cause}")


class Forbidden(SkillPathError, PermissionError):
    """A valid key asking for what its role does not allow (403); ``loc`` names the field that asked."""

    def __init__(self, message: str, loc: Sequence[str | int] = ("header", "authorization")) -> None:
        super().__init__(message)
        self.loc = list(loc)


def status_of(exc: SkillPathError, *, in_path: bool = False) -> int:
    """The status of a SkillPath error; an unknown id named in the URL path is a 404."""
    inner = exc.cause if isinstance(exc, FieldError) else exc
    if isinstance(inner, Forbidden):
        return 403
    if isinstance(inner, TextTooLongError):
        return 413
    if isinstance(inner, NotReadyError):
        return 503
    if isinstance(inner, (IntegrityError, SessionConflictError, CycleError)):
        return 409
    if isinstance(inner, VersionConflictError):
        return 412
    if isinstance(inner, UnknownIdError) and in_path:
        return 404
    return 400


def _detail(loc: Sequence[str | int], msg: str, type_: str) -> dict[str, Any]:
    return {"loc": list(loc), "msg": msg, "type": type_}


def error_body(exc: SkillPathError) -> dict[str, Any]:
    """``{"error", "detail"}`` for ``exc``; event problems become one detail each."""
    if isinstance(exc, BatchValidationError):
        where = [] if exc.collection == "body" else [exc.collection]
        detail = [_detail([*where, *([] if not where else [e.line]), e.column], e.reason, "invalid_entity")
                  for e in exc.errors]
        first = ".".join(map(str, detail[0]["loc"])) + f": {detail[0]['msg']}" if detail else ""
        return {"error": f"{len(exc.errors)} invalid value(s), nothing stored; {first}"
                         + (" ..." if len(detail) > 1 else ""), "detail": detail}
    if isinstance(exc, DataValidationError):
        # ``collection``: the body's list the rows came in (a session batch sets "sessions"), events by default
        where = getattr(exc, "collection", "events")
        what = where[:-1] if where.endswith("s") else where
        detail = [_detail([where, e.line - 1, e.column], e.reason, f"invalid_{what}") for e in exc.errors]
        n = len(exc.errors)
        first = f"{where}.{exc.errors[0].line - 1}.{exc.errors[0].column}: {exc.errors[0].reason}" if n else ""
        return {"error": f"{n} invalid {what}(s), nothing stored; {first}" + (" ..." if n > 1 else ""),
                "detail": detail}
    if isinstance(exc, SessionConflictError):
        return {"error": str(exc), "detail": [_detail(["session_id"], str(exc), "session_conflict")]}
    if isinstance(exc, FieldError):
        return {"error": str(exc), "detail": [_detail(exc.loc, str(exc.cause), _kind(exc.cause))]}
    if isinstance(exc, Forbidden):
        return {"error": str(exc), "detail": [_detail(exc.loc, str(exc), "forbidden")]}
    if isinstance(exc, InvalidValueError):
        loc: list[str | int] = [int(p) if p.isdigit() else p for p in exc.field.split(".")]
        return {"error": str(exc).splitlines()[0], "detail": [_detail(loc, exc.reason, _kind(exc))]}
    loc = [f"{exc.kind}_id"] if isinstance(exc, UnknownIdError) else []
    return {"error": str(exc).splitlines()[0], "detail": [_detail(loc, str(exc), _kind(exc))]}


def _kind(exc: BaseException) -> str:
    """``UnknownSkillError`` -> ``unknown_skill``: a stable machine-readable ``type``."""
    name = type(exc).__name__.removesuffix("Error")
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_") or "error"


def validation_detail(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic's (or FastAPI's) error list in our detail shape.

    A body field's ``loc`` is its path inside the JSON body (``["events", 0, "item_id"]``,
    no leading ``"body"``); query and path parameters keep their place (``["query", "k"]``).
    """
    out = []
    for e in errors:
        if not isinstance(e, dict):
            continue
        loc = list(e.get("loc", ()))
        if loc[:1] == ["body"] and len(loc) > 1:
            loc = loc[1:]
        out.append(_detail(loc, str(e.get("msg", "invalid")), str(e.get("type", "value_error"))))
    return out


def _summary(detail: list[dict[str, Any]]) -> str:
    """``k: Input should be ...; user_id: Field required`` (the first few, then a count)."""
    parts = []
    for d in detail:
        loc = [str(x) for x in d["loc"] if x not in ("query", "path")] or ["body"]
        parts.append(f"{'.'.join(loc)}: {d['msg']}")
    extra = f"; and {len(parts) - _MAX_LISTED} more" if len(parts) > _MAX_LISTED else ""
    return "; ".join(parts[:_MAX_LISTED]) + extra


def error_response(status: int, error: str, detail: list[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """The one builder of error answers: ``{"error": ..., "detail": [...]}`` with ``status``."""
    from starlette.responses import JSONResponse

    return JSONResponse({"error": error, "detail": detail or []}, status_code=status, headers=headers)


async def _skillpath_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, SkillPathError):  # registered for SkillPathError only
        return await _unexpected(request, exc)
    body = error_body(exc)
    status = status_of(exc, in_path=bool(request.path_params))
    if status in (409, 503):  # model and store failures: name files, never the server's paths
        body["error"] = public_reason(ValueError(body["error"]))
        for d in body["detail"]:
            d["msg"] = public_reason(ValueError(d["msg"]))
    retry = getattr(exc, "retry_after_s", None)
    return error_response(status, body["error"], body["detail"], headers={"retry-after": str(retry)} if retry else None)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    from fastapi.exceptions import RequestValidationError

    detail = validation_detail(exc.errors() if isinstance(exc, RequestValidationError) else [])
    return error_response(400, _summary(detail) or "invalid request", detail)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    from starlette.exceptions import HTTPException

    status = exc.status_code if isinstance(exc, HTTPException) else 500
    text = str(exc.detail) if isinstance(exc, HTTPException) else "error"
    headers = getattr(exc, "headers", None)
    return error_response(status, text, [_detail([], text, f"http_{status}")], headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    msg = "internal error; the server log has the details"
    return error_response(500, msg, [_detail([], msg, "internal_error")])


def install_handlers(app: FastAPI) -> None:
    """The one set of exception handlers: every error raised under ``app`` answers in our shape."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    app.add_exception_handler(SkillPathError, _skillpath_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
