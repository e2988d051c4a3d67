"""Every SkillPath HTTP route, in one FastAPI app that the BentoML service mounts at ``/``.

One mechanism for every route: FastAPI validates the request (400 naming the field
through :mod:`serving.errors`), calls one public method of the running
:class:`~serving.app.SkillPathApp`, and answers with its response model, which is also
what ``/openapi.json`` documents (:mod:`serving.openapi`). BentoML serves the app and
adds ``/livez``, ``/readyz``, ``/healthz`` and ``/metrics`` in front of it.

Where the work runs: list-mode ``/recommend`` is a short CPU-bound call that holds the GIL
anyway, so it runs on the event loop (a thread hand-off would add its cost and no
concurrency). Slow work (path planning, mentor assignment, the assistant's answers,
reloads) runs in a worker thread, one call at a time (:func:`_offload`), so the loop keeps
answering ``/recommend`` meanwhile; event writes run up to :data:`EVENTS_IN_FLIGHT` at once
so that their appends share one commit and one fsync (:func:`_offload_events`); the assistant's
optional LLM call waits on the network in a thread of its own. The GET routes run in FastAPI's
threadpool.

The running app is attached with :func:`attach` when the service starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import FastAPI, Query
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from starlette.requests import Request
from starlette.routing import Route

from catalog.errors import NotReadyError
from catalog.settings import ServingSettings
from serving.app import SkillPathApp
from serving.contract import JSONBodyGuard, NoRoute, RouteGuard
from serving.errors import install_handlers
from serving.openapi import API_DESCRIPTION, API_TITLE, HEALTH_ROUTES, errors, install_docs, security
from serving.schemas import (
    ID_REGEX, MAX_K, EventsRequest, EventsResponse, RecommendRequest, RecommendResponse, ReloadResponse,
    SimilarResponse, StaleResponse,
)
from serving.schemas_assistant import AssistantRequest, AssistantResponse
from serving.schemas_base import Timestamp
from serving.schemas_mentors import MentorAssignRequest, MentorAssignResponse, MentorMatchRequest, MentorMatchResponse
from serving.schemas_paths import PathRequest, PathResponse, SkillResponse
from serving.access import require_mentee
from serving.routes import entities as entity_routes
from serving.routes.sessions import router as sessions_router
from serving.routes.monitoring import router as monitoring_router
from serving.security import SecurityMiddleware

__all__ = ["api", "attach", "detach"]

T = TypeVar("T")
_JSON = "application/json"

api = FastAPI(title=API_TITLE, description=API_DESCRIPTION, version="1", docs_url=None, redoc_url=None,
              openapi_url="/openapi.json")


def attach(core: SkillPathApp) -> None:
    """Serve ``core`` (the service calls this when it starts)."""
    api.state.core = core
    api.state.limiter = None  # made on the event loop, at first use
    api.state.events_limiter = None
    api.openapi_schema = None  # rebuilt with this server's settings (the stale threshold's floor)
    _console_start(core)  # the console's tables build in a background thread


def detach() -> None:
    core = getattr(api.state, "core", None)
    if core is not None:
        _console_stop(core)
    api.state.core = None


def _core() -> SkillPathApp:
    core = getattr(api.state, "core", None)
    if core is None:
        raise NotReadyError("the service has not started")
    return core


def _serving_settings() -> ServingSettings:
    return _core().settings.serving


async def _offload(call: Callable[[], T]) -> T:
    """Run ``call`` in a worker thread, one at a time, so the event loop keeps serving."""
    if getattr(api.state, "limiter", None) is None:
        api.state.limiter = anyio.CapacityLimiter(1)
    return await anyio.to_thread.run_sync(call, limiter=api.state.limiter)


#: /events calls in flight at once: their appends share one transaction and one fsync (group commit).
EVENTS_IN_FLIGHT = 16


async def _offload_events(call: Callable[[], T]) -> T:
    """Run an /events call in a worker thread beside other /events calls (not behind the one-at-a-time
    worker), so concurrent appends can share a commit (:class:`catalog.eventlog.EventLog`)."""
    if getattr(api.state, "events_limiter", None) is None:
        api.state.events_limiter = anyio.CapacityLimiter(EVENTS_IN_FLIGHT)
    return await anyio.to_thread.run_sync(call, limiter=api.state.events_limiter)


def _json(model: Any) -> Response:
    """The answer as one JSON body with a Content-Length (the model is valid by construction)."""
    return Response(model.model_dump_json(), media_type=_JSON)


install_handlers(api)
# The last added runs first: routes and methods (404/405), then keys and body size/type, then the JSON body.
api.add_middleware(JSONBodyGuard)
api.add_middleware(SecurityMiddleware, settings=_serving_settings)
api.add_middleware(RouteGuard, routes=lambda: api.router.routes, fallback="/{rest:path}",
                   outer={path: frozenset({"GET", "HEAD"}) for path in HEALTH_ROUTES})
install_docs(api)


# ------------------------------------------------------------------ recommendations
@api.post("/recommend", response_model=RecommendResponse, tags=["recommendations"],
          summary="Top-k resources for a mentee, with reasons", responses=errors(400, 401, 403, 413, 415, 503),
          openapi_extra=security(write=False))
async def recommend(req: RecommendRequest, request: Request) -> Response:
    """Best first, never what the mentee already engaged with, dismissed or excluded; stale
    resources only with ``include_stale``. Unknown mentees get a cold-start answer
    (``fallback``). ``mode: path`` answers the next steps of the mentee's learning path."""
    core = _core()
    require_mentee(request, req.user_id, mentor_of=core.mentor_of)
    if req.mode == "path":  # planning takes milliseconds: off the loop
        return _json(await _offload(lambda: core.recommend(req)))
    return _json(core.recommend(req))


@api.post("/path", response_model=PathResponse, tags=["learning paths"],
          summary="A mentee's learning path towards their goals", responses=errors(400, 401, 403, 413, 415, 503),
          openapi_extra=security(write=False))
async def path(req: PathRequest, request: Request) -> Response:
    """Prerequisites first, with reasons, ETAs at the weekly study time and a mentor per step;
    re-planned from the event log on every call."""
    core = _core()
    require_mentee(request, req.user_id, mentor_of=core.mentor_of)
    return _json(await _offload(lambda: core.path(req)))


# One path template with the entity routes (PUT/PATCH/DELETE /skills/{entity_id}): one resource in the document.
@api.get("/skills/{entity_id}", response_model=SkillResponse, tags=["learning paths"],
         summary="A skill with its prerequisites and dependents", responses=errors(400, 401, 404, 503),
         openapi_extra=security(write=False))
def skill(skill_id: str = PathParam(alias="entity_id", pattern=ID_REGEX, description="A skill id.",
                                    examples=["python"])) -> Response:
    """Prerequisites with the level each is needed at, dependents, every transitive
    prerequisite in graph order and active resources per level. An unknown skill is a 404.
    The ``ETag`` is the skill's stored version, for ``If-Match`` on ``PUT``/``PATCH /skills/{entity_id}``."""
    resp = _core().skill(skill_id)
    return Response(resp.model_dump_json(), media_type=_JSON, headers={"etag": f'"{resp.version}"'})


@api.get("/items/{item_id}/similar", response_model=SimilarResponse, tags=["recommendations"],
         summary="Resources similar to one resource", responses=errors(400, 401, 404, 503),
         openapi_extra=security(write=False))
def similar(item_id: str = PathParam(pattern=ID_REGEX, description="A catalog resource id.", examples=["r01800"]),
            k: int = Query(10, ge=1, le=MAX_K, description="How many (1-100).", examples=[10])) -> Response:
    """Cosine of item factors (EASE: its column; content models: skill overlap); inactive
    resources are left out. An unknown item is a 404."""
    return _json(_core().similar(item_id, k))


# ------------------------------------------------------------------ events
@api.post("/events", response_model=EventsResponse, tags=["events"],
          summary="Store 1-1000 events durably (needs an API key)", responses=errors(400, 401, 403, 413, 415, 503),
          openapi_extra=security(write=True))
async def events(req: EventsRequest) -> Response:
    """All or nothing, fsynced before the answer, idempotent on ``event_id``; the next
    ``/recommend`` of these mentees reflects them, on any worker."""
    core = _core()
    return _json(await _offload_events(lambda: core.ingest(req)))


# ------------------------------------------------------------------ mentors
@api.post("/mentors/match", response_model=MentorMatchResponse, tags=["mentors"],
          summary="The best mentors with a free place for a mentee", responses=errors(400, 401, 403, 413, 415, 503),
          openapi_extra=security(write=False))
async def mentors_match(req: MentorMatchRequest, request: Request) -> Response:
    """Ranked by coverage of the mentee's next skills, urgency, free places, language, time
    zone and format, with reasons in skill names."""
    core = _core()
    require_mentee(request, req.user_id, mentor_of=core.mentor_of)
    return _json(await _offload(lambda: core.mentor_match(req)))


@api.post("/mentors/assign", response_model=MentorAssignResponse, tags=["mentors"],
          summary="Assign mentees to mentors within capacities (needs an API key)",
          responses=errors(400, 401, 403, 413, 415, 503), openapi_extra=security(write=True))
async def mentors_assign(req: MentorAssignRequest) -> Response:
    """Persists the assignment to ``reports/mentor_assignment.csv`` in the data dir; mentees
    outside the cohort keep their mentor and their places stay taken."""
    core = _core()
    return _json(await _offload(lambda: core.mentor_assign(req)))


# ------------------------------------------------------------------ assistant
@api.post("/assistant", response_model=AssistantResponse, tags=["assistant"],
          summary="Ask the virtual mentor a question, answered from SkillPath's own data",
          responses=errors(400, 401, 403, 413, 415, 503), openapi_extra=security(write=False))
async def assistant(req: AssistantRequest, request: Request) -> Response:
    """What to do next, a path to a goal, why a resource, a search, progress, a mentor, setting
    a goal (after a yes; needs a key with write access), freshness, or what it can do. The
    answer is composed from the cards it returns; `conversation_id` continues a conversation
    ("and shorter ones?"). With `assistant.llm_url` a language model may reword the text."""
    core = _core()
    who = require_mentee(request, req.user_id, mentor_of=core.mentor_of)
    can_write = who.is_admin or (who.role == "mentee" and who.subject == req.user_id)
    resp = await _offload(lambda: core.assistant.answer(req, can_write=can_write))
    if core.assistant.phraser is not None:  # a network call: a thread of its own, not the one-at-a-time worker
        resp = await anyio.to_thread.run_sync(lambda: core.assistant.phrase(resp))
    return _json(resp)


# ------------------------------------------------------------------ catalog
@api.get("/catalog/stale", response_model=StaleResponse, tags=["catalog"],
         summary="Stale resources and what decay costs them", responses=errors(400, 401, 503),
         openapi_extra=security(write=False))
def stale(as_of: Annotated[Timestamp, Query(description="Freshness at this time, an ISO-8601 date and time "
                                                      "(default: now).", examples=["2026-11-01T00:00:00Z"])] = None,
          threshold: Annotated[float, Query(gt=0, le=1, description="Stale below this freshness "
                                                                    "(default: scoring.stale_threshold).",
                                            examples=[0.5])] = None) -> Response:
    """Stale resources with their reach (mentees whose top-10 they enter with and without
    decay) and the skills left without fresh content."""
    return _json(_core().stale_reach.report(as_of, threshold))


# ------------------------------------------------------------------ admin
@api.post("/admin/reload", response_model=ReloadResponse, tags=["admin"],
          summary="Load the current champion now (needs an API key)", responses=errors(401, 403, 409, 503),
          openapi_extra=security(write=True))
async def reload() -> Response:
    """The old model serves until the new one is verified (checksum, shapes, item ids); a
    model that fails verification is a 409 and changes nothing."""
    core = _core()
    return _json(await _offload(core.reload))


# ------------------------------------------------------------------ console (/ui) and its tables (/analytics)
from serving.routes.analytics import router as _analytics_router  # noqa: E402
from serving.routes.analytics import start as _console_start, stop as _console_stop  # noqa: E402
from serving.ui.catalog import router as _ui_catalog_router  # noqa: E402
from serving.ui import auth as _console_auth  # noqa: E402
from serving.ui.pages import router as _ui_router, static_files as _ui_static  # noqa: E402

api.include_router(_analytics_router)
_console_auth.install_handler(api)  # its 401s name the authorization header
api.include_router(_ui_router)
api.include_router(_ui_catalog_router)
api.mount("/ui/static", _ui_static(), name="console-static")

# ------------------------------------------------------------------ sessions and entities
# The routers' routes themselves, not include_router: FastAPI 0.165 includes a router as one lazy
# entry that RouteGuard's 404/405 table and the routes' walkers (tests, tools) do not look into.
api.router.routes.extend(sessions_router.routes)
entity_routes.bind(_core, _offload)
api.router.routes.extend(entity_routes.router.routes)
# The routes themselves, not include_router: this FastAPI wraps an included router in one
# entry without a path or methods, which the RouteGuard's 405 table cannot read.
api.router.routes.extend(monitoring_router.routes)


# ------------------------------------------------------------------ pointers
@api.get("/", include_in_schema=False)
def index() -> RedirectResponse:
    return RedirectResponse("/docs")


@api.get("/docs.json", include_in_schema=False)
def docs_json() -> RedirectResponse:
    """BentoML's name for its OpenAPI document: ours is the one document."""
    return RedirectResponse("/openapi.json")


# Keep this route last: it takes every other path and method (a plain ASGI endpoint takes every method),
# so that BentoML hands them to this app, whose RouteGuard answers them (404, or 405 with Allow).
api.router.routes.append(Route("/{rest:path}", NoRoute(), include_in_schema=False))
