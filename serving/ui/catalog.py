"""The catalog browser: find resources (stalest first), open one, edit it or retire it.

Writes go through the platform's entity operations (``core.entity("patch" | "retire", ...)``: what
``PATCH /resources/{id}`` and ``DELETE /resources/{id}`` call), with the same request model, so the
validation, the version check (``If-Match`` from the version shown in the form: a concurrent edit is
refused, not overwritten) and the change log (the actor is the signed-in key's role and id) are the
API's. Curators and admins may write; leads may browse. Forms carry the session's CSRF token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from catalog.errors import SkillPathError
from catalog.schema import RESOURCE_TYPES
from serving.errors import status_of, validation_detail
from serving.schemas_entities import PATCH_MODELS, ResourceIn
from serving.ui import auth
from serving.ui.html import esc, section
from serving.ui.view import CURATORS, Page, open_page, read_form

__all__ = ["router", "PAGE_SIZE", "EDITABLE"]

router = APIRouter(prefix="/ui/catalog", include_in_schema=False)
PAGE_SIZE = 25
#: Form fields a curator edits here (skills and dates through the API: they need structured input).
EDITABLE = ("title", "url", "type", "difficulty", "duration_minutes", "provider", "language")
_INTS = ("difficulty", "duration_minutes")
_WRITERS = ("admin", "curator")


@router.get("")
def browse(request: Request, q: str = "", skill: str = "", show: str = "active", page: int = 0) -> Response:
    """Resources matching ``q`` (id or title) and ``skill``, stalest first, ``PAGE_SIZE`` a page."""
    pg = open_page(request, CURATORS, "the catalog")
    if not isinstance(pg, Page):
        return pg
    cat = pg.core.world.catalog
    fresh = pg.data.store.freshness() if cat is pg.data.store.world.catalog else None
    needle = q.strip().lower()
    rows = []
    for k, r in enumerate(cat.resources):
        if (show == "active" and not r.active) or (show == "retired" and r.active):
            continue
        if needle and needle not in r.item_id.lower() and needle not in r.title.lower():
            continue
        if skill and not any(s.skill_id == skill for s in r.skills):
            continue
        rows.append((None if fresh is None else float(fresh[cat.items.index(r.item_id)]), r))
    rows.sort(key=lambda t: (t[0] if t[0] is not None else 2.0, t[1].item_id))
    page = max(page, 0)
    shown = rows[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    body_rows = "".join(
        f'<tr><td><a href="/ui/catalog/{esc(r.item_id)}">{esc(r.item_id)}</a></td><td>{esc(r.title)}</td>'
        f"<td>{esc(r.type)}</td><td>{esc(', '.join(s.skill_id for s in r.skills))}</td>"
        f"<td>{'' if f is None else f'{f:.3f}'}</td><td>{'yes' if r.active else 'retired'}</td></tr>"
        for f, r in shown)
    opts = "".join(f'<option value="{v}"{" selected" if v == show else ""}>{v}</option>'
                   for v in ("active", "retired", "all"))
    search = (f'<form method="get" action="/ui/catalog" class="search"><input name="q" value="{esc(q)}" '
              f'placeholder="id or title" aria-label="search"><input name="skill" value="{esc(skill)}" '
              f'placeholder="skill id" aria-label="skill"><select name="show" aria-label="show">{opts}</select>'
              f'<button type="submit">Find</button></form>')

    def link(n: int, text: str) -> str:
        return f'<a href="/ui/catalog?{esc(urlencode({"q": q, "skill": skill, "show": show, "page": n}))}">{text}</a>'
    nav = " · ".join(([link(page - 1, "previous")] if page else [])
                     + ([link(page + 1, "next")] if (page + 1) * PAGE_SIZE < len(rows) else []))
    table = (f'<div class="table-wrap"><table data-rows="{len(rows)}"><thead><tr><th>item_id</th><th>title</th>'
             f"<th>type</th><th>skills</th><th>freshness</th><th>active</th></tr></thead><tbody>{body_rows}</tbody>"
             f'</table></div><p class="links">{len(rows)} resources; page {page + 1}. {nav}</p>')
    return pg.render("Catalog", section("Find resources", search + table, wide=True))


@router.get("/{item_id}")
async def resource(request: Request, item_id: str) -> Response:
    pg = open_page(request, CURATORS, "the catalog")
    if not isinstance(pg, Page):
        return pg
    return await _resource_page(pg, item_id, saved=request.query_params.get("saved", ""))


async def _resource_page(pg: Page, item_id: str, *, saved: str = "", error: str = "", status: int = 200,
                         sent: dict[str, str] | None = None) -> Response:
    try:
        got = await anyio.to_thread.run_sync(lambda: pg.core.entity("get", "resources", item_id))
    except SkillPathError as e:
        return pg.render("Unknown resource", f'<p class="error">{esc(e)}</p>', status_of(e, in_path=True))
    doc: dict[str, Any] = {**got.entity, **(sent or {})}
    can_write = pg.p.role in _WRITERS
    note = (f'<p class="error" role="alert">{esc(error)}</p>' if error else
            f'<p class="ok" role="status">{esc(saved)}.</p>' if saved else "")
    fields = []
    for name in EDITABLE:
        value = doc.get(name, "")
        if name == "type":
            opts = "".join(f'<option{" selected" if t == value else ""}>{esc(t)}</option>' for t in RESOURCE_TYPES)
            ctl = f'<select id="f-{name}" name="{name}">{opts}</select>'
        else:
            kind = "number" if name in _INTS else "text"
            ctl = f'<input id="f-{name}" name="{name}" type="{kind}" value="{esc(value)}">'
        fields.append(f'<label for="f-{name}">{esc(name)}</label>{ctl}')
    hidden = (f'<input type="hidden" name="csrf" value="{esc(pg.csrf)}">'
              f'<input type="hidden" name="version" value="{got.version}">')
    skills = ", ".join(f"{s['skill']}:{s['level']}" for s in doc.get("skills", []))
    facts = (f"<p>Skills {esc(skills)}; published {esc(doc.get('published_at'))}; version {got.version}; "
             f"{'active' if doc.get('active', True) else 'retired'}.</p>")
    if can_write:
        form = (f'<form method="post" action="/ui/catalog/{esc(item_id)}" class="edit">{"".join(fields)}{hidden}'
                f'<button type="submit">Save</button></form>')
        if doc.get("active", True):
            form += (f'<form method="post" action="/ui/catalog/{esc(item_id)}/retire" class="retire">{hidden}'
                     f'<button type="submit">Retire (never recommended again; history kept)</button></form>')
    else:
        form = '<p class="muted">A curator or admin key may edit and retire resources.</p>'
    body = section(f"{item_id}: {doc.get('title', '')}", note + facts + form, wide=True)
    body += '<p class="links"><a href="/ui/catalog">Back to the catalog</a></p>'
    return pg.render(f"Resource {item_id}", body, status)


async def _write(request: Request, item_id: str, op: str) -> Response:
    pg = open_page(request, _WRITERS, "catalog edits")
    if not isinstance(pg, Page):
        return pg
    form = await read_form(request)
    auth.check_csrf(request, pg.core.settings.serving.api_keys, form.get("csrf", ""))
    try:
        version = int(form.get("version", ""))
    except ValueError:
        return await _resource_page(pg, item_id, error="version: missing; reload the page", status=400)
    sent = {k: form[k] for k in EDITABLE if k in form}
    try:
        if op == "patch":
            values = {k: int(v) if k in _INTS and v.strip().lstrip("-").isdigit() else v for k, v in sent.items()}
            stored = await anyio.to_thread.run_sync(lambda: pg.core.entity("get", "resources", item_id))
            ResourceIn.model_validate({**stored.entity, **values})  # the whole result, as a PUT would check it
            args: tuple = (PATCH_MODELS["resources"](**values),)
        else:
            args = ()
        await anyio.to_thread.run_sync(lambda: pg.core.entity(op, "resources", item_id, *args, if_match=version,
                                                              actor=pg.p.label()))
    except ValidationError as e:
        d = validation_detail(e.errors())
        msg = "; ".join(f"{x['loc'][-1]}: {x['msg']}" for x in d)
        return await _resource_page(pg, item_id, error=msg, status=400, sent=sent)
    except SkillPathError as e:
        return await _resource_page(pg, item_id, error=str(e), status=status_of(e), sent=sent)
    pg.data.wake()  # the console's tables follow the catalog at once, not at the next tick
    done = "Saved" if op == "patch" else "Retired"
    return RedirectResponse(f"/ui/catalog/{item_id}?{urlencode({'saved': done})}", status_code=303)


@router.post("/{item_id}")
async def edit(request: Request, item_id: str) -> Response:
    return await _write(request, item_id, "patch")


@router.post("/{item_id}/retire")
async def retire(request: Request, item_id: str) -> Response:
    return await _write(request, item_id, "retire")
