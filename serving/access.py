"""Who is calling and what they may do: API keys carry a role.

``SKILLPATH_API_KEYS="k1:lead,k2:mentee:u00042,k3:mentor:m026,k4:curator,k5"`` gives each key a
role (the grammar is :func:`catalog.settings.split_key_spec`); a key without one is an ``admin``
key, as before roles existed. What each role may do:

- ``admin``: everything;
- ``lead``: read everything; acknowledge alerts and record sessions;
- ``curator``: read everything; write resources and skills;
- ``mentor:<id>``: read their own mentees (the persisted assignment) and themselves; record sessions
  and acknowledge alerts about their mentees;
- ``mentee:<id>``: read only themselves.

The middleware (:mod:`serving.security`) authenticates and checks the write table below; routes
that answer about one mentee call :func:`require_mentee` so a mentee key asks only for itself.
With reads open (``serving.protect_reads`` off) a request without a key reads as
:data:`ANONYMOUS`, who may read anything a read route answers.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from starlette.requests import Request

from catalog.settings import split_key_spec
from serving.errors import Forbidden

__all__ = ["Principal", "ANONYMOUS", "authenticate", "principal_of", "require_mentee", "require_mentor",
           "Forbidden", "WRITE_ROLES"]

#: Write paths (prefixes) that roles other than admin may use; every other write is admin-only.
WRITE_ROLES: dict[str, frozenset[str]] = {
    "/resources": frozenset({"curator"}),
    "/skills": frozenset({"curator"}),
    "/sessions": frozenset({"lead", "mentor"}),
    "/monitor/alerts": frozenset({"lead", "mentor"}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a role, the mentor or mentee id it is bound to, a printable key id (never the key)."""

    role: str
    subject: str | None = None
    key_id: str = "-"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def sees_everyone(self) -> bool:
        """Admins, leads, curators and anonymous readers (open reads) are not bound to one person."""
        return self.role in ("admin", "lead", "curator", "anonymous")

    def may_write(self, path: str) -> bool:
        if self.is_admin:
            return True
        return any(path.startswith(prefix) and self.role in roles for prefix, roles in WRITE_ROLES.items())

    def may_read_mentee(self, user_id: str, mentor_of: Callable[[str], str | None] | None = None) -> bool:
        if self.sees_everyone:
            return True
        if self.role == "mentee":
            return self.subject == user_id
        if self.role == "mentor":
            return mentor_of is not None and mentor_of(user_id) == self.subject
        return False

    def label(self) -> str:
        """``role`` or ``role:subject`` with the key id, for change logs and audit lines."""
        who = f"{self.role}:{self.subject}" if self.subject else self.role
        return f"{who} (key {self.key_id})"


ANONYMOUS = Principal("anonymous")


@lru_cache(maxsize=8)
def _parsed(keys: tuple[str, ...]) -> tuple[tuple[bytes, Principal], ...]:
    out = []
    for spec in keys:
        secret, role, subject = split_key_spec(spec)
        key_id = hashlib.sha256(secret.encode()).hexdigest()[:8]
        out.append((secret.encode(), Principal(role, subject, key_id)))
    return tuple(out)


def authenticate(header: str, keys: tuple[str, ...]) -> Principal | str:
    """The principal of the ``Authorization`` header's key, or why there is none (never the key)."""
    if not keys:
        return "no API keys are configured on the server (set SKILLPATH_API_KEYS)"
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "missing API key: send 'Authorization: Bearer <key>'"
    token_b = token.strip().encode()
    found: Principal | None = None
    for secret, principal in _parsed(keys):  # compare against every key: time does not depend on which matched
        if hmac.compare_digest(token_b, secret) and found is None:
            found = principal
    return found if found is not None else "invalid API key"


def principal_of(request: Request) -> Principal:
    """The caller the middleware authenticated (anonymous on open reads without a key)."""
    return getattr(request.state, "principal", ANONYMOUS)


def require_mentee(request: Request, user_id: str, *, mentor_of: Callable[[str], str | None] | None = None,
                   loc: tuple[str, ...] = ("body", "user_id")) -> Principal:
    """The caller, if it may read ``user_id``'s data; else :class:`Forbidden` naming the field."""
    p = principal_of(request)
    if not p.may_read_mentee(user_id, mentor_of):
        raise Forbidden(f"a {p.role} key may not read mentee {user_id!r}", loc)
    return p


def require_mentor(request: Request, mentor_id: str, *, loc: tuple[str, ...] = ("path", "mentor_id")) -> Principal:
    """The caller, if it may read mentor ``mentor_id``'s data (themselves, or anyone not bound to a person)."""
    p = principal_of(request)
    if not (p.sees_everyone or (p.role == "mentor" and p.subject == mentor_id)):
        raise Forbidden(f"a {p.role} key may not read mentor {mentor_id!r}", loc)
    return p
