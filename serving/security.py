"""ASGI middleware in front of every route: body size, content type, API keys, error shape.

- Bodies over ``max_body_bytes`` are refused with 413, whether announced by
  ``Content-Length`` or streamed (bytes are counted as they arrive);
- request bodies must be JSON (``application/json``), else 415;
- write routes (``POST /events``, ``/mentors/assign``, ``/admin/*``) need ``Authorization: Bearer <key>``,
  and read routes too when ``protect_reads`` is set; a missing or wrong key is 401.
  Keys are compared in constant time and never logged. With no key configured, write
  routes are closed (401 says how to configure one) rather than open;
- BentoML's validation errors (``{"error": "1 validation error for ...", "detail": [...]}``)
  are rewritten so ``error`` names the field and the reason, like every other 4xx here.

Settings are read when the app starts (the ASGI lifespan), so each worker, and each
in-process test client, picks up the environment of its own start.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from catalog.settings import Settings, load_settings

__all__ = ["SecurityMiddleware", "WRITE_PREFIXES", "OPEN_PATHS", "validation_error_body"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

WRITE_PREFIXES = ("/events", "/admin/", "/mentors/assign")
#: Health, metrics and API docs are never behind a key (orchestrators and humans need them).
OPEN_PATHS = ("/livez", "/readyz", "/healthz", "/metrics", "/docs", "/docs.json", "/openapi.json", "/",
              "/schema.json")
_API_PATHS = ("/recommend", "/events", "/mentors/match", "/mentors/assign", "/path")  # BentoML endpoints whose validation errors we reword


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": data})


def validation_error_body(errors: Sequence[Any]) -> dict[str, Any] | None:
    """pydantic's error list -> ``{"error": "k: Input should be ...; ...", "detail": [{loc, msg, type}]}``.

    ``None`` when no entry is a dict (nothing to name). The one shape of every 400 from
    a validation error, whether BentoML or :mod:`serving.service`'s fast path validated.
    """
    detail = [d for d in errors if isinstance(d, dict)]
    if not detail:
        return None
    parts = [f"{'.'.join(str(x) for x in d.get('loc', [])) or 'body'}: {d.get('msg', 'invalid')}" for d in detail]
    error = "; ".join(parts[:5]) + (f"; and {len(parts) - 5} more" if len(parts) > 5 else "")
    return {"error": error, "detail": [{"loc": list(d.get("loc", [])), "msg": d.get("msg", ""), "type": d.get("type", "")}
                                       for d in detail]}


def _reword(body: bytes) -> bytes:
    """``1 validation error for XIODescriptor`` -> ``k: Input should be ...`` (keeps ``detail``)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict) or not isinstance(data.get("detail"), list) or not data["detail"]:
        return body
    new = validation_error_body(data["detail"])
    if new is None:
        return body
    data.update(new)
    return json.dumps(data).encode()


class SecurityMiddleware:
    """See the module docstring. ``settings_loader`` is called at each lifespan startup."""

    def __init__(self, app: Callable[..., Awaitable[None]],
                 settings_loader: Callable[[], Settings] = load_settings) -> None:
        self.app = app
        self.settings_loader = settings_loader
        self.settings: Settings | None = None

    def _configure(self) -> Settings:
        self.settings = self.settings_loader()
        return self.settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            self._configure()
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        s = self.settings or self._configure()
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}

        if path not in OPEN_PATHS:
            is_write = path.startswith(WRITE_PREFIXES)
            if is_write or s.serving.protect_reads:
                problem = self._check_key(headers.get("authorization", ""), s.serving.api_keys)
                if problem:
                    await _send_json(send, 401, {"error": problem, "detail": [{"loc": ["header", "authorization"],
                                                                               "msg": problem}]},
                                     [(b"www-authenticate", b"Bearer")])
                    return

        limit = s.serving.max_body_bytes
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await _send_json(send, 400, {"error": "content-length: not a number", "detail": []})
                return
            if int(length) > limit:
                await _send_json(send, 413, {"error": f"body of {length} bytes exceeds the limit of {limit} bytes",
                                             "detail": [{"loc": ["body"], "msg": "too large"}]})
                return
        if method in ("POST", "PUT", "PATCH") and not path.startswith("/admin/"):
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "application/json":
                await _send_json(send, 415, {"error": f"content-type must be application/json, got {ctype or 'none'!r}",
                                             "detail": [{"loc": ["header", "content-type"], "msg": "JSON only"}]})
                return

        if method in ("POST", "PUT", "PATCH"):
            # Read the body here (it is at most `limit` bytes) so a streamed body that
            # grows past the limit is refused before any handler sees it.
            chunks, seen = [], 0
            while True:
                msg = await receive()
                if msg["type"] != "http.request":
                    return  # client went away
                seen += len(msg.get("body", b""))
                if seen > limit:
                    await _send_json(send, 413, {"error": f"body exceeds the limit of {limit} bytes",
                                                 "detail": [{"loc": ["body"], "msg": "too large"}]})
                    return
                chunks.append(msg.get("body", b""))
                if not msg.get("more_body"):
                    break
            body, replayed = b"".join(chunks), False

            async def replay() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()
            receive = replay

        reword = path in _API_PATHS
        pending: dict[str, Any] = {}

        async def guarded_send(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                if reword and msg["status"] == 400:
                    pending["start"] = msg  # hold it: the body may be rewritten
                    pending["body"] = b""
                    return
            elif msg["type"] == "http.response.body" and "start" in pending:
                pending["body"] += msg.get("body", b"")
                if msg.get("more_body"):
                    return
                body = _reword(pending["body"])
                start = pending.pop("start")
                start["headers"] = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                start["headers"].append((b"content-length", str(len(body)).encode()))
                await send(start)
                await send({"type": "http.response.body", "body": body})
                return
            await send(msg)

        await self.app(scope, receive, guarded_send)

    @staticmethod
    def _check_key(header: str, keys: tuple[str, ...]) -> str | None:
        """None if ``header`` carries a valid key, else why not (never echoes the key)."""
        if not keys:
            return "no API keys are configured on the server (set SKILLPATH_API_KEYS)"
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "missing API key: send 'Authorization: Bearer <key>'"
        token_b = token.strip().encode()
        ok = False
        for k in keys:  # compare against every key: time does not depend on which one matched
            ok |= hmac.compare_digest(token_b, k.encode())
        return None if ok else "invalid API key"
