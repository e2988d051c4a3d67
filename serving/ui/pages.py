"""The console's pages under ``/ui``: sign-in, Programme, Content, Mentee, Mentor, Models, and the chat panel.

Each page reads the same tables as ``GET /analytics/...`` (:mod:`serving.routes.analytics`), so its numbers
are the endpoint's. A page without a signed-in caller redirects to the sign-in form; a caller whose role
may not read it gets a 403 page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from serving.routes.analytics import caller, console_of, may_read_mentor
from serving.schemas import RecommendRequest
from serving.schemas_assistant import AssistantRequest
from serving.schemas_paths import PathRequest
from serving.ui import auth
from serving.ui.html import bar_chart, esc, frame, line_chart, section, table_html
from serving.ui.mentee import mentee_body
from serving.ui.view import CURATORS, LEADS, Page, html, open_page, read_form

__all__ = ["router", "STATIC", "static_files"]

router = APIRouter(prefix="/ui", include_in_schema=False)
STATIC = Path(__file__).parent / "static"


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC)


def _stamp(data: Any) -> str:
    """When the tables on the page were built (they are rebuilt in the background as the log grows)."""
    at = data.built_at
    return "" if at is None else (f'<p class="notes">Tables built {esc(at.strftime("%Y-%m-%d %H:%M"))} UTC from the '
                                  f"event log; rebuilt in the background as events arrive.</p>")


# ------------------------------------------------------------------ sign-in
@router.get("/login")
def login_form(request: Request, error: str = "") -> HTMLResponse:
    core, _ = console_of(request)
    nonce = request.cookies.get(auth.NONCE_COOKIE) or auth.new_nonce()
    token = auth.login_csrf(nonce, core.settings.serving.api_keys)
    msg = f'<p class="error">{esc(error)}</p>' if error else ""
    body = (f'<div class="card login">{msg}<form method="post" action="/ui/login"><label for="key">API key</label>'
            f'<input id="key" name="key" type="password" autocomplete="current-password" required>'
            f'<input type="hidden" name="csrf" value="{esc(token)}"><button type="submit">Sign in</button></form>'
            f'<p class="muted">Your key stays in this form: the console keeps a signed session cookie, '
            f"never the key.</p></div>")
    resp = html(frame("Sign in", body, principal=None))
    resp.set_cookie(auth.NONCE_COOKIE, nonce, httponly=True, samesite="strict", path="/ui")
    return resp


@router.post("/login")
async def login(request: Request) -> Response:
    core, _ = console_of(request)
    keys = core.settings.serving.api_keys
    form = await read_form(request)
    nonce = request.cookies.get(auth.NONCE_COOKIE, "")
    if not nonce or form.get("csrf", "") != auth.login_csrf(nonce, keys):
        return login_form(request, "The form expired: please sign in again.")
    found = auth.sign_in(form.get("key", ""), keys)
    if isinstance(found, str):
        resp = login_form(request, found)
        resp.status_code = 401
        return resp
    resp = RedirectResponse("/ui", status_code=303)
    resp.set_cookie(auth.COOKIE, found[1], httponly=True, samesite="strict", path="/", max_age=auth.SESSION_S)
    resp.delete_cookie(auth.NONCE_COOKIE, path="/ui")
    return resp


@router.post("/logout")
async def logout(request: Request) -> Response:
    core, _ = console_of(request)
    form = await read_form(request)
    auth.check_csrf(request, core.settings.serving.api_keys, form.get("csrf", ""))
    resp = RedirectResponse("/ui/login", status_code=303)
    resp.delete_cookie(auth.COOKIE, path="/")
    return resp


@router.get("")
def home(request: Request) -> Response:
    pg = open_page(request, lambda p: True, "the console")
    if not isinstance(pg, Page):
        return pg
    p = pg.p
    target = {"lead": "/ui/programme", "admin": "/ui/programme", "curator": "/ui/content",
              "mentor": f"/ui/mentors/{p.subject}", "mentee": f"/ui/mentees/{p.subject}"}.get(p.role, "/ui/models")
    return RedirectResponse(target, status_code=303)


# ------------------------------------------------------------------ pages
@router.get("/programme")
def programme_page(request: Request) -> Response:
    pg = open_page(request, LEADS, "the programme page")
    if not isinstance(pg, Page):
        return pg
    return pg.render("Programme", pg.data.page(("programme",), lambda: _programme_body(pg.data), people=True))


def _programme_body(data: Any) -> str:
    t = {name: data.programme(name) for name in ("active-weekly", "funnel", "goals", "at-risk", "mentor-load",
                                                   "skills-demand", "cohorts")}
    ep = "/analytics/programme/"
    aw, fu, co = t["active-weekly"], t["funnel"], t["cohorts"]
    body = '<div class="grid">' + "".join([
        section("Active mentees per week", line_chart(aw.column("week"), aw.column("active_mentees"),
                                                      title="active mentees per week")
                + table_html(aw, ep + "active-weekly", limit=8)),
        section("Funnel: recommended → started → completed → mastered",
                bar_chart(fu.column("stage"), fu.column("pairs"), title="funnel") + table_html(fu, ep + "funnel")),
        section("At-risk and stalled mentees", table_html(t["at-risk"], ep + "at-risk", limit=25), wide=True),
        section("Goal attainment and time to mastery", table_html(t["goals"], ep + "goals", limit=15)),
        section("Mentor load vs capacity", bar_chart(t["mentor-load"].column("mentor_id")[:16],
                                                     t["mentor-load"].column("load")[:16], title="mentor load",
                                                     fmt="{:.2f}")
                + table_html(t["mentor-load"], ep + "mentor-load", limit=15)),
        section("Skills in demand vs mentor supply", table_html(t["skills-demand"], ep + "skills-demand", limit=15)),
        section("Cohorts by start month (95% intervals)",
                bar_chart([str(c)[:7] for c in co.column("cohort")], co.column("mean_completed"), title="mean completed per cohort",
                          fmt="{:.1f}") + table_html(co, ep + "cohorts"), wide=True),
    ]) + "</div>" + _stamp(data)
    return body


@router.get("/content")
def content_page(request: Request) -> Response:
    pg = open_page(request, CURATORS, "the content page")
    if not isinstance(pg, Page):
        return pg
    return pg.render("Content", pg.data.page(("content",), lambda: _content_body(pg.data)))


def _content_body(data: Any) -> str:
    ep = "/analytics/content/"
    fr = data.content("freshness")
    stale = ('<p class="notes">On this first start the stale report (every mentee ranked, for each stale '
             'resource\'s reach) is still being computed: reload in a minute, or read '
             f'<a href="{ep}stale">{ep}stale</a>, which waits for it.</p>' if data.pending("stale")
             else table_html(data.content("stale"), ep + "stale", limit=25))
    body = '<div class="grid">' + "".join([
        section("Freshness of active resources", bar_chart([f"{x:.1f}" for x in fr.column("from")],
                                                          fr.column("resources"), title="freshness histogram")
                + table_html(fr, ep + "freshness")),
        section("Coverage gaps per skill", table_html(data.content("coverage"), ep + "coverage", limit=15)),
        section("Stale resources: reach and replacement", stale, wide=True),
        section("Content effectiveness", table_html(data.content("effectiveness"), ep + "effectiveness", limit=15),
                wide=True),
        section("Catalog", '<p>Browse, edit and retire resources in the <a href="/ui/catalog">catalog browser</a> '
                '(curators; the same validation and change log as <code>PATCH</code> and <code>DELETE '
                '/resources/{id}</code>, <a href="/docs">API docs</a>).</p>'),
    ]) + "</div>" + _stamp(data)
    return body


@router.get("/mentees/{user_id}")
async def mentee_page(request: Request, user_id: str) -> Response:
    pg = open_page(request, lambda p: p.may_read_mentee(user_id, request.app.state.core.mentor_of),
                   f"mentee {user_id}'s page")
    if not isinstance(pg, Page):
        return pg
    core, data = pg.core, pg.data
    if user_id not in core.world.mentees:
        return pg.render("Unknown mentee", f"<p>No mentee {esc(user_id)}.</p>", 404)

    def build() -> str:
        nxt = core.recommend(RecommendRequest(user_id=user_id, k=5, mode="path"))
        plan = core.path(PathRequest(user_id=user_id), mentors=False)
        return mentee_body(core, data, user_id, nxt, plan)
    # the same page until the mentee's events, the model, the mentor assignment, the monitor or the day change
    key = ("mentee", user_id, core.log.last_seq(user_id), core.bundle.version, core.mentor_of(user_id))
    body = await anyio.to_thread.run_sync(lambda: data.page(key, build, people=True))
    return pg.render(f"Mentee {user_id}", body)


@router.post("/mentees/{user_id}/ask")
async def ask(request: Request, user_id: str) -> Response:
    """The chat panel's message to the assistant (JSON; the session's CSRF token in ``X-CSRF-Token``)."""
    core, _ = console_of(request)
    p = caller(request, core)
    auth.check_csrf(request, core.settings.serving.api_keys, request.headers.get("x-csrf-token", ""))
    if not p.may_read_mentee(user_id, core.mentor_of):
        raise HTTPException(403, f"a {p.role} key may not ask for mentee {user_id!r}")
    raw = await request.body()
    if len(raw) > 16_384:
        raise HTTPException(413, "message over 16384 bytes")
    try:
        sent = json.loads(raw)
        req = AssistantRequest(user_id=user_id, message=sent.get("message", ""),
                               conversation_id=sent.get("conversation_id"))
    except (ValueError, AttributeError) as e:
        raise HTTPException(400, f"message: {str(e).splitlines()[0]}") from None
    resp = await anyio.to_thread.run_sync(lambda: core.assistant.answer(req, can_write=False))
    return Response(resp.model_dump_json(), media_type="application/json")


@router.get("/mentors/{mentor_id}")
def mentor_page(request: Request, mentor_id: str) -> Response:
    pg = open_page(request, lambda p: may_read_mentor(p, mentor_id), f"mentor {mentor_id}'s page")
    if not isinstance(pg, Page):
        return pg
    m = pg.core.world.mentors.get(mentor_id)
    if m is None:
        return pg.render("Unknown mentor", f"<p>No mentor {esc(mentor_id)}.</p>", 404)
    body = pg.data.page(("mentor", mentor_id, m.name, m.capacity), lambda: _mentor_body(pg.data, m), people=True)
    return pg.render(f"Mentor {m.name or mentor_id}", body)


def _mentor_body(data: Any, m: Any) -> str:
    ep = f"/analytics/mentors/{m.mentor_id}/"
    case = data.mentor(m.mentor_id, "caseload")
    links = "".join(f'<li><a href="/ui/mentees/{esc(u)}">{esc(u)}</a></li>' for u in case.column("user_id"))
    return (f'<div class="kpis"><div class="kpi"><b>{len(case.rows)} / {m.capacity}</b>places taken</div>'
            f'<div class="kpi"><b>{esc(m.name)}</b>mentor</div></div><div class="grid">'
            + section("Mentees", table_html(case, ep + "caseload") + f"<ul>{links}</ul>")
            + section("Alerts", table_html(data.mentor(m.mentor_id, "alerts"), ep + "alerts", limit=25))
            + section("Talking points", table_html(data.mentor(m.mentor_id, "talking-points"), ep + "talking-points"))
            + "</div>")


@router.get("/models")
def models_page(request: Request) -> Response:
    pg = open_page(request, lambda p: True, "the models page")
    if not isinstance(pg, Page):
        return pg
    core = pg.core
    rows = []
    b = core._bundle
    if b is not None:
        rows = [("version", b.version), ("sha256", b.sha256), ("kind", type(b.model).__name__),
                ("items", core.world.catalog.n_items)]
        rows += [(f"param {k}", v) for k, v in sorted(getattr(b.model, "get_params", dict)().items())][:20]
    else:
        rows = [("status", f"no model loaded yet: {core.last_error or 'starting'}")]
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    body = (section("Champion", f'<div class="table-wrap"><table class="kv">{table}</table></div>')
            + section("Offline metrics and plots",
                      "<p>Each training run logs its offline metrics (recall, NDCG, coverage per split) and plots "
                      "to MLflow; open them in the MLflow UI: <code>make mlflow-ui</code>, then "
                      '<a href="http://127.0.0.1:5000" rel="noopener">http://127.0.0.1:5000</a>.</p>'))
    return pg.render("Models", body)
