"""ASGI middleware that keeps the HTTP contract before any route runs: routes, methods, JSON bodies.

Around the app, outermost first:

- :class:`RouteGuard` answers a path no route serves with a JSON 404 and a known path
  asked with another method with a 405 carrying ``Allow`` (also BentoML's ``/livez``,
  ``/readyz``, ``/healthz`` and ``/metrics``, whose other methods fall through to this
  app), before the key and body checks, so ``PUT /livez`` is a 405 and not a 415. It
  also writes the one log line of every rejected request (4xx): method, path, status
  and the error's first line, never the body or a traceback.
- :class:`~serving.security.SecurityMiddleware` (keys, body size, content type).
- :class:`JSONBodyGuard` reads a JSON body with :func:`serving.schemas_base.parse_json_body`
  and answers 400 naming the field for duplicate keys, NUL characters, unpaired
  surrogates, non-finite numbers and text that is not JSON; the route then reads the
  same bytes.

Every refusal is built by :func:`serving.errors.error_response`; other responses pass
through untouched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, Mount

from serving.errors import error_response
from serving.schemas_base import BodyError, parse_json_body

__all__ = ["RouteGuard", "JSONBodyGuard", "NoRoute", "rejected_log"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: One INFO line per rejected request (the service turns it on: BentoML leaves other loggers at WARNING).
rejected_log = logging.getLogger("skillpath.serving.rejected")

_STATIC_METHODS = frozenset({"GET", "HEAD"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_MAX_LOGGED = 200


class RouteGuard:
    """404/405 before anything else, and one log line per rejected request (module docstring).

    ``routes()`` gives the app's routes (read at the first request, when every router is
    included); ``fallback`` is the path of the catch-all route, which this guard never lets run;
    ``outer`` maps paths answered in front of the app (BentoML's health routes) to their methods.
    """

    def __init__(self, app: ASGIApp, *, routes: Callable[[], Iterable[BaseRoute]], fallback: str,
                 outer: dict[str, frozenset[str]]) -> None:
        self.app = app
        self._routes = routes
        self._fallback = fallback
        self._outer = outer
        self._table: tuple[dict[str, frozenset[str]], list[BaseRoute]] | None = None

    def _tables(self) -> tuple[dict[str, frozenset[str]], list[BaseRoute]]:
        """Exact paths -> their methods (the fast path), and the routes with parameters or mounts."""
        if self._table is None:
            exact: dict[str, set[str]] = {}
            dynamic: list[BaseRoute] = []
            for r in self._routes():
                if getattr(r, "path", None) == self._fallback:
                    continue
                path, methods = getattr(r, "path", None), getattr(r, "methods", None)
                if isinstance(r, Mount) or not path or "{" in path or not methods:
                    dynamic.append(r)
                else:
                    exact.setdefault(path, set()).update(methods)
            self._table = ({p: frozenset(m) for p, m in exact.items()}, dynamic)
        return self._table

    def allowed(self, scope: Scope) -> frozenset[str] | None:
        """None if a route serves this method and path, else the methods this path takes (empty: no route)."""
        path, method = scope["path"], scope["method"]
        exact, dynamic = self._tables()
        methods = exact.get(path)
        if methods is not None:
            return None if method in methods else methods
        found: set[str] = set()
        for r in dynamic:
            if isinstance(r, Mount):  # static files: GET and HEAD
                if r.matches(scope)[0] is not Match.NONE:
                    return None if method in _STATIC_METHODS else _STATIC_METHODS
                continue
            match, _ = r.matches(scope)
            if match is Match.FULL:
                return None
            if match is Match.PARTIAL:
                found.update(getattr(r, "methods", None) or ())
        if not found and path in self._outer:
            found.update(self._outer[path])
        return frozenset(found)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _logging_send(scope, send)
        methods = self.allowed(scope)
        if methods is None:
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if methods:
            allow = ", ".join(sorted(methods))
            msg = f"{method} is not allowed on {path}; allowed: {allow}"
            response = error_response(405, msg, [{"loc": ["method"], "msg": msg, "type": "method_not_allowed"}],
                                      headers={"allow": allow})
        else:
            msg = f"no route {path}; see /docs for the routes"
            response = error_response(404, msg, [{"loc": ["path"], "msg": msg, "type": "not_found"}])
        await response(scope, receive, send)


class NoRoute:
    """The endpoint of the catch-all route (a plain ASGI app, so the route takes every method): a JSON 404.

    BentoML hands a path to this app only when one of its routes takes it whole; the
    catch-all does, so :class:`RouteGuard` answers every other path and method here.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        msg = f"no route {scope['path']}; see /docs for the routes"
        await error_response(404, msg, [{"loc": ["path"], "msg": msg, "type": "not_found"}])(scope, receive, send)


def _logging_send(scope: Scope, send: Send) -> Send:
    """``send`` that logs one line when the answer is a 4xx: method, path, status, the error's first line."""
    status = 0

    async def logged(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif status and 400 <= status < 500 and message["type"] == "http.response.body":
            rejected_log.info("rejected %s %s: %d %s", scope["method"], scope["path"], status, _error_line(message))
            status = 0
        await send(message)
    return logged


def _error_line(message: Message) -> str:
    """The ``error`` of an error body (our bodies are one chunk), shortened for the log."""
    try:
        text = str(json.loads(message.get("body", b"")).get("error", ""))
    except (ValueError, AttributeError):
        text = ""
    text = text.replace("\n", " ")
    return text if len(text) <= _MAX_LOGGED else text[:_MAX_LOGGED] + "..."


class JSONBodyGuard:
    """Refuses a JSON body that breaks :func:`~serving.schemas_base.parse_json_body` with a 400 naming the field."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        try:
            while more:
                message = await receive()
                if message["type"] != "http.request":  # the client left: nothing to answer
                    return
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
        except HTTPException as e:  # the size limit of SecurityMiddleware, crossed while streaming
            await error_response(e.status_code, str(e.detail), [{"loc": ["body"], "msg": str(e.detail),
                                                                 "type": "too_large"}])(scope, receive, send)
            return
        body = b"".join(chunks)
        if body:
            try:
                parse_json_body(body)
            except BodyError as e:
                await error_response(400, str(e), [{"loc": e.loc, "msg": e.msg, "type": e.type}])(
                    scope, receive, send)
                return
        await self.app(scope, _replay(body, receive), send)


def _is_json(scope: Scope) -> bool:
    for k, v in scope["headers"]:
        if k == b"content-type":
            media = v.decode("latin-1").split(";")[0].strip().lower()
            return media == "application/json" or media.endswith("+json")
    return False


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` that gives the body read already, then whatever the client sends next (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replay
