"""ASGI middleware in front of every SkillPath route: API keys, body size, content type.

- write routes (``/events``, ``/mentors/assign``, ``/admin/*``, ``/monitor/alerts/*``, every PUT, PATCH, DELETE) need
  ``Authorization: Bearer <key>``, and read routes too when ``serving.protect_reads`` is set; a missing
  or wrong key is 401, a key whose role may not write there 403 (:mod:`serving.access`). A key sent
  on an open read is checked too, so the route knows who asks. The caller is left in
  ``request.state.principal``. Keys are compared in constant time, against every key, and never
  logged or echoed. With no key configured, write routes are closed (401 says how to configure one);
- bodies over ``serving.max_body_bytes`` are 413, whether announced by ``Content-Length``
  or streamed: bytes are counted as the route reads them, and the read that crosses the
  limit raises an ``HTTPException(413)`` that the app's handlers answer;
- request bodies must be JSON (``application/json``), else 415.

It answers its own refusals with :func:`serving.errors.error_response` and passes every
other response through untouched. Settings come from the running service (``settings``
is called per request), so a restarted service never keeps another start's keys.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from catalog.settings import ServingSettings
from serving.access import ANONYMOUS, Principal, authenticate
from serving.errors import error_response

__all__ = ["SecurityMiddleware", "WRITE_PREFIXES", "WRITE_METHODS", "OPEN_PATHS", "check_key"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WRITE_PREFIXES = ("/events", "/admin/", "/mentors/assign", "/monitor/alerts/")
WRITE_PREFIXES += ("/sessions",)  # mentoring sessions: admin, lead and mentor keys (serving.access.WRITE_ROLES)
#: The docs and their assets are never behind a key (humans need them); BentoML answers
#: health and metrics before any SkillPath route is reached.
OPEN_PATHS = ("/", "/docs", "/openapi.json", "/docs.json")
OPEN_PREFIXES = ("/docs/", "/ui", "/analytics/")  # the console authenticates itself (cookie or key)
_BODY_METHODS = ("POST", "PUT", "PATCH")
WRITE_METHODS = ("PUT", "PATCH", "DELETE")


def check_key(header: str, keys: tuple[str, ...]) -> str | None:
    """None if the ``Authorization`` header carries one of ``keys``, else why not (never the key)."""
    found = authenticate(header, keys)
    return None if isinstance(found, Principal) else found


def _refuse(status: int, problem: str) -> Any:
    kind = "unauthorized" if status == 401 else "forbidden"
    return error_response(status, problem, [{"loc": ["header", "authorization"], "msg": problem, "type": kind}],
                          headers={"www-authenticate": "Bearer"} if status == 401 else None)


class SecurityMiddleware:
    """See the module docstring; ``settings()`` gives the running service's ``serving`` section."""

    def __init__(self, app: ASGIApp, *, settings: Callable[[], ServingSettings]) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        s = self.settings()
        method: str = scope["method"]
        headers = {k: v for k, v in scope["headers"] if k in (b"authorization", b"content-length", b"content-type")}
        header = headers.get(b"authorization", b"").decode("latin-1")
        write = method in WRITE_METHODS or path.startswith(WRITE_PREFIXES)
        principal: Principal = ANONYMOUS
        if s.protect_reads or write or header:
            found = authenticate(header, s.api_keys)
            if not isinstance(found, Principal):
                await _refuse(401, found)(scope, receive, send)
                return
            principal = found
            if write and not principal.may_write(path):
                await _refuse(403, f"a {principal.role} key may not {method} {path}")(scope, receive, send)
                return
        scope.setdefault("state", {})["principal"] = principal
        if method in _BODY_METHODS:
            refusal = self._check_body(headers, s.max_body_bytes, admin=path.startswith("/admin/"))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
            receive = _limited(receive, s.max_body_bytes)
        await self.app(scope, receive, send)

    @staticmethod
    def _check_body(headers: dict[bytes, bytes], limit: int, *, admin: bool) -> Any:
        """The refusal of a body announced too large or not JSON, else None."""
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                return error_response(400, "content-length: not a number",
                                      [{"loc": ["header", "content-length"], "msg": "not a number",
                                        "type": "invalid_header"}])
            if int(length) > limit:
                return _too_large(f"body of {int(length)} bytes exceeds the limit of {limit} bytes")
        ctype = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        if not admin and ctype != "application/json":
            msg = f"content-type must be application/json, got {ctype or 'none'!r}"
            return error_response(415, msg, [{"loc": ["header", "content-type"], "msg": msg,
                                              "type": "unsupported_media_type"}])
        return None


def _too_large(msg: str) -> Any:
    return error_response(413, msg, [{"loc": ["body"], "msg": msg, "type": "too_large"}])


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises ``HTTPException(413)`` once the body read so far exceeds ``limit``."""
    seen = 0

    async def guarded() -> Message:
        nonlocal seen
        msg = await receive()
        if msg["type"] == "http.request":
            seen += len(msg.get("body", b""))
            if seen > limit:
                raise HTTPException(413, f"body exceeds the limit of {limit} bytes")
        return msg
    return guarded
