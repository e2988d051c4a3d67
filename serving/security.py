"""ASGI middleware in front of every SkillPath route: API keys, body size, content type.

- write routes (``POST /events``, ``/mentors/assign``, ``/admin/*``, every non-GET entity route) need ``Authorization: Bearer <key>``,
  and read routes too when ``serving.protect_reads`` is set; a missing or wrong key is 401.
  Keys are compared in constant time, against every key, and never logged or echoed.
  With no key configured, write routes are closed (401 says how to configure one);
- bodies over ``serving.max_body_bytes`` are 413, whether announced by ``Content-Length``
  or streamed: bytes are counted as the route reads them, and the read that crosses the
  limit raises an ``HTTPException(413)`` that the app's handlers answer;
- request bodies must be JSON (``application/json``), else 415.

It answers its own refusals with :func:`serving.errors.error_response` and passes every
other response through untouched. Settings come from the running service (``settings``
is called per request), so a restarted service never keeps another start's keys.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from catalog.settings import ServingSettings
from serving.errors import error_response

__all__ = ["SecurityMiddleware", "WRITE_PREFIXES", "ENTITY_PREFIXES", "OPEN_PATHS", "check_key", "is_write",
           "actor_of"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WRITE_PREFIXES = ("/events", "/admin/", "/mentors/assign")
#: Entity routes: every method but GET writes (``POST /mentors/match`` is a read).
ENTITY_PREFIXES = ("/resources", "/skills", "/mentees", "/mentors")
READ_POSTS = ("/mentors/match",)
#: The docs and their assets are never behind a key (humans need them); BentoML answers
#: health and metrics before any SkillPath route is reached.
OPEN_PATHS = ("/", "/docs", "/openapi.json", "/docs.json")
OPEN_PREFIXES = ("/docs/",)
_BODY_METHODS = ("POST", "PUT", "PATCH")


def check_key(header: str, keys: tuple[str, ...]) -> str | None:
    """None if the ``Authorization`` header carries one of ``keys``, else why not (never the key)."""
    if not keys:
        return "no API keys are configured on the server (set SKILLPATH_API_KEYS)"
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "missing API key: send 'Authorization: Bearer <key>'"
    token_b = token.strip().encode()
    ok = False
    for k in keys:  # compare against every key: the time does not depend on which one matched
        ok |= hmac.compare_digest(token_b, k.encode())
    return None if ok else "invalid API key"


def is_write(method: str, path: str) -> bool:
    """Whether ``method path`` changes data (and so needs an API key)."""
    if path.startswith(WRITE_PREFIXES):
        return True
    return method not in ("GET", "HEAD") and path.startswith(ENTITY_PREFIXES) and path not in READ_POSTS


def actor_of(header: str) -> str:
    """Who wrote, for the change log: a digest of the API key (never the key itself)."""
    token = header.partition(" ")[2].strip()
    return "key:" + hashlib.sha256(token.encode()).hexdigest()[:12] if token else "anonymous"


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
        if s.protect_reads or is_write(method, path):
            problem = check_key(headers.get(b"authorization", b"").decode("latin-1"), s.api_keys)
            if problem:
                response = error_response(401, problem, [{"loc": ["header", "authorization"], "msg": problem,
                                                          "type": "unauthorized"}],
                                          headers={"www-authenticate": "Bearer"})
                await response(scope, receive, send)
                return
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
