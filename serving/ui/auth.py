"""Who is using the console: a signed session cookie or an ``Authorization: Bearer`` key, and CSRF tokens.

Signing in posts a key once; the answer sets an HttpOnly, SameSite=Strict cookie holding a signed,
expiring token naming the key's id and role, never the key. The signing secret is derived from the
configured keys, so every worker verifies every other worker's cookies and changing the keys signs
everyone out; a token whose key id is no longer configured is refused. Forms and the chat panel's
``fetch`` carry a CSRF token bound to the session (or, before sign-in, to a random nonce cookie).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

from fastapi import FastAPI, HTTPException
from starlette.requests import Request
from starlette.responses import Response

from serving.access import Principal, authenticate
from serving.access import _parsed as parsed_keys
from serving.errors import error_response

__all__ = ["COOKIE", "NONCE_COOKIE", "SESSION_S", "sign_in", "session_principal", "console_principal",
           "csrf_token", "login_csrf", "check_csrf", "new_nonce", "SignInRequired", "install_handler"]

COOKIE = "skillpath_session"
NONCE_COOKIE = "skillpath_nonce"
SESSION_S = 8 * 3600


class SignInRequired(HTTPException):
    """No valid key or session: a 401 whose detail names the ``authorization`` header, like the middleware's."""

    def __init__(self, problem: str) -> None:
        super().__init__(401, problem, headers={"www-authenticate": "Bearer"})


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    text = str(getattr(exc, "detail", "unauthorized"))
    return error_response(401, text, [{"loc": ["header", "authorization"], "msg": text, "type": "unauthorized"}],
                          headers={"www-authenticate": "Bearer"})


def install_handler(app: FastAPI) -> None:
    app.add_exception_handler(SignInRequired, _sign_in_required)


def _secret(keys: tuple[str, ...]) -> bytes:
    return hashlib.sha256(b"skillpath-console\0" + "\0".join(sorted(keys)).encode()).digest()


def _mac(keys: tuple[str, ...], what: str) -> str:
    return hmac.new(_secret(keys), what.encode(), hashlib.sha256).hexdigest()


def sign_in(key: str, keys: tuple[str, ...], *, now: float | None = None) -> tuple[Principal, str] | str:
    """The principal of ``key`` and its session token, or why not."""
    found = authenticate(f"Bearer {key}", keys)
    if not isinstance(found, Principal):
        return found
    body = json.dumps({"k": found.key_id, "e": int((now or time.time()) + SESSION_S)}, separators=(",", ":"))
    payload = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
    return found, f"{payload}.{_mac(keys, payload)}"


def session_principal(token: str, keys: tuple[str, ...], *, now: float | None = None) -> Principal | None:
    """The principal a session token names, if its signature, expiry and key are all still good."""
    payload, _, mac = token.partition(".")
    if not keys or not payload or not hmac.compare_digest(mac, _mac(keys, payload)):
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        key_id, expires = str(body["k"]), int(body["e"])
    except (ValueError, KeyError, TypeError):
        return None
    if expires < (now or time.time()):
        return None
    return next((p for _, p in parsed_keys(keys) if p.key_id == key_id), None)


def console_principal(request: Request, keys: tuple[str, ...]) -> Principal:
    """The caller from a Bearer header, else from the session cookie; 401 without either."""
    header = request.headers.get("authorization", "")
    if header:
        found = authenticate(header, keys)
        if isinstance(found, Principal):
            return found
        raise SignInRequired(found)
    token = request.cookies.get(COOKIE, "")
    p = session_principal(token, keys) if token else None
    if p is None:
        raise SignInRequired("sign in at /ui/login or send 'Authorization: Bearer <key>'")
    return p


def csrf_token(request: Request, keys: tuple[str, ...]) -> str:
    """The CSRF token of this session (empty for Bearer callers, who have no cookie to abuse)."""
    token = request.cookies.get(COOKIE, "")
    return _mac(keys, "csrf:" + token)[:32] if token else ""


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def login_csrf(nonce: str, keys: tuple[str, ...]) -> str:
    return _mac(keys, "login:" + nonce)[:32]


def check_csrf(request: Request, keys: tuple[str, ...], sent: str) -> None:
    """403 unless ``sent`` is this session's CSRF token (Bearer callers need none)."""
    if request.headers.get("authorization"):
        return
    want = csrf_token(request, keys)
    if not want or not hmac.compare_digest(sent.encode(), want.encode()):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page")
