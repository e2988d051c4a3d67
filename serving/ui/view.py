"""What every console page does first: find the caller, refuse those whose role may not see it, and
answer HTML with the console's headers. One place, so each page states only who may open it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import parse_qs

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from serving.access import Principal
from serving.routes.analytics import caller, console_of
from serving.ui import auth
from serving.ui.html import esc, frame

__all__ = ["Page", "open_page", "html", "LEADS", "CURATORS", "read_form"]

LEADS = ("admin", "lead")
CURATORS = ("admin", "lead", "curator")
_MAX_FORM = 4096


def html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store", "x-frame-options": "DENY",
                                                            "referrer-policy": "same-origin"})


class Page(NamedTuple):
    """A signed-in caller allowed on the page: the service, its console data, who, their CSRF token."""

    core: Any
    data: Any
    p: Principal
    csrf: str

    def render(self, title: str, body: str, status: int = 200) -> HTMLResponse:
        return html(frame(title, body, principal=self.p, csrf=self.csrf), status)

    def forbidden(self, what: str) -> HTMLResponse:
        return self.render("Not allowed", f'<p class="error">A {esc(self.p.role)} key may not open {esc(what)}.</p>',
                           403)


def open_page(request: Request, allowed: Callable[[Principal], bool] | tuple[str, ...], what: str) -> Page | Response:
    """The page's caller, or the answer instead: the sign-in form (no key, no cookie) or a 403 page."""
    core, data = console_of(request)
    try:
        p = caller(request, core)
    except HTTPException as e:
        if request.headers.get("authorization") or e.status_code != 401:
            raise
        return RedirectResponse("/ui/login", status_code=303)
    page = Page(core, data, p, auth.csrf_token(request, core.settings.serving.api_keys))
    ok = p.role in allowed if isinstance(allowed, tuple) else allowed(p)
    return page if ok else page.forbidden(what)


async def read_form(request: Request) -> dict[str, str]:
    """A posted form (at most 4 KiB), first value of each field."""
    raw = await request.body()
    if len(raw) > _MAX_FORM:
        raise HTTPException(413, f"form over {_MAX_FORM} bytes")
    return {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}
