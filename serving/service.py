"""The BentoML service: a thin adapter over :class:`serving.app.SkillPathApp`.

Run it with ``skillpath serve`` (or ``python -m bentoml serve serving.service:SkillPathService
--host 127.0.0.1 --port 3000``). Configuration comes from the environment, read once per
worker: ``SKILLPATH_DATA_DIR``, ``SKILLPATH_CONFIG``, ``SKILLPATH_MODEL_DIR`` (a local
model directory instead of the MLflow registry), ``SKILLPATH_API_KEYS``,
``SKILLPATH_WORKERS`` and ``SKILLPATH_ONLINE_FEATURES=1`` (read engagement features from
the online store and report its status).

POST endpoints are BentoML APIs with flat JSON bodies; GET routes live in a mounted
FastAPI app. Every :class:`~catalog.errors.SkillPathError` becomes a 4xx (503 while no
model is loaded) through :mod:`serving.errors`; see docs/serving.md.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import anyio.to_thread
import bentoml
from fastapi import FastAPI, Query
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from catalog.errors import SkillPathError
from catalog.settings import Settings, load_settings
from serving.app import SkillPathApp
from serving.errors import json_error
from serving.schemas import (
    ID_REGEX, MAX_K, EventsRequest, EventsResponse, RecommendRequest, RecommendResponse, ReloadResponse,
    SimilarResponse, StaleResponse,
)
from serving.schemas_mentors import MentorAssignRequest, MentorAssignResponse, MentorMatchRequest, MentorMatchResponse
from serving.schemas_paths import PathRequest, PathResponse, SkillResponse
from serving.security import SecurityMiddleware, validation_error_body

__all__ = ["SkillPathService", "routes"]

log = logging.getLogger("skillpath.serving")
SERVICE_NAME = "skillpath"

routes = FastAPI(title="SkillPath read routes")


@routes.exception_handler(RequestValidationError)
async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    detail = [{"loc": [str(x) for x in e.get("loc", ())], "msg": e.get("msg", "")} for e in exc.errors()]
    error = "; ".join(f"{'.'.join(d['loc'])}: {d['msg']}" for d in detail[:5])
    return JSONResponse({"error": error, "detail": detail}, status_code=400)


@routes.exception_handler(SkillPathError)
async def _skillpath_error(request: Request, exc: SkillPathError) -> JSONResponse:
    status, body = json_error(exc, in_path=request.url.path.startswith(("/items/", "/skills/")))
    return JSONResponse(body, status_code=status)


def _app() -> SkillPathApp:
    return bentoml.get_current_service().app


@routes.get("/items/{item_id}/similar", response_model=SimilarResponse,
            summary="Resources similar to one resource")
def similar(item_id: str = PathParam(pattern=ID_REGEX, description="A catalog resource id.", examples=["res-0123"]),
            k: int = Query(10, ge=1, le=MAX_K, description="How many (1-100).", examples=[10])) -> SimilarResponse:
    return _app().similar(item_id, k)


@routes.get("/catalog/stale", response_model=StaleResponse, summary="Stale resources and what decay costs them")
def stale(as_of: datetime | None = Query(None, description="Freshness at this time (default: now).",
                                         examples=["2025-03-01T00:00:00Z"]),
          threshold: float | None = Query(None, gt=0, le=1, description="Stale below this freshness "
                                                                        "(default: scoring.stale_threshold).",
                                          examples=[0.5])) -> StaleResponse:
    return _app().stale_reach.report(as_of, threshold)


@routes.get("/skills/{skill_id}", response_model=SkillResponse,
            summary="A skill with its prerequisites and dependents")
def skill(skill_id: str = PathParam(pattern=ID_REGEX, description="A skill id.", examples=["python"])
          ) -> SkillResponse:
    return _app().skill(skill_id)


def _answer(ctx: bentoml.Context, call: Callable[[], Any]) -> Any:
    """Run a plain method; its answer as one JSON body, a SkillPathError as its status and JSON body.

    The answer is serialised here (as BentoML would: ``model_dump_json``) and returned as a
    plain response with a Content-Length: BentoML's own response streams a model as a
    chunked body (three socket writes, and the client waits for the last one).
    """
    try:
        out = call()
    except SkillPathError as e:
        status, body = json_error(e)
        ctx.response.status_code = status
        return JSONResponse(body, status_code=status)
    if isinstance(out, BaseModel):
        return Response(out.model_dump_json(), media_type="application/json")
    return out


def _online_features(settings: Settings) -> object | None:
    """The online-feature adapter when ``features.enabled`` (or ``SKILLPATH_ONLINE_FEATURES=1``), else None."""
    if not settings.features.enabled:
        return None
    from features.store import open_store
    from serving.features_adapter import OnlineFeatures

    online = OnlineFeatures(lambda: open_store(settings.data_dir, online=settings.features.online_store),
                            timeout_s=settings.features.timeout_s, push_timeout_s=settings.features.push_timeout_s)
    if not online.warm_up():
        log.warning("online feature store not reachable at start; requests will report it")
    return online


def _tracing() -> bool:
    return os.environ.get("SKILLPATH_TRACING", "") in ("1", "true", "yes")


def _untraced_paths() -> list[str] | None:
    """URL patterns BentoML's OpenTelemetry middleware skips: the hot paths, unless ``SKILLPATH_TRACING=1``.

    Tracing is off by default anyway (BentoML's sample rate is 0 and no exporter is set),
    but the middleware still opens five non-recording spans per request: about 0.3 ms of
    CPU on /recommend, a third of the HTTP layer's cost. Set ``SKILLPATH_TRACING=1`` (and
    BentoML's ``tracing`` options) to trace every route.
    """
    if _tracing():
        return None
    return [r"/(recommend|events)(\?|$)"]


def _recommend_now(body: bytes) -> tuple[int, bytes] | None:
    """``POST /recommend`` answered here: ``(status, JSON body)``, or None to let BentoML answer.

    The same validation (``RecommendRequest``, unknown fields refused), the same answer
    bytes (``model_dump_json``) and the same error bodies as the BentoML route
    (:func:`serving.security.validation_error_body`, :mod:`serving.errors`). Path mode
    (milliseconds of planning, run in a thread) and a process without a started service
    go through BentoML.
    """
    try:
        svc = bentoml.get_current_service()
    except Exception:  # no service started in this process (BentoML raises)
        return None
    if svc is None:
        return None
    try:
        req = RecommendRequest.model_validate_json(body if body.strip() else b"{}")  # as BentoML reads b""
    except ValidationError as e:
        problem = validation_error_body(e.errors(include_url=False, include_context=False, include_input=False))
        return 400, _json(problem or {"error": "body: invalid request", "detail": []})
    if req.mode == "path":
        return None
    try:
        out = svc.app.recommend(req)
    except SkillPathError as e:
        status, payload = json_error(e)
        return status, _json(payload)
    except Exception:  # what BentoML's route answers: a 500 now, the traceback in the log
        log.exception("POST /recommend failed")
        return 500, _json({"error": "An unexpected error has occurred, please check the server log."})
    return 200, out.model_dump_json().encode()


def _json(body: dict[str, Any]) -> bytes:
    """Compact JSON, as Starlette's ``JSONResponse`` (the BentoML route's error bodies) writes it."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


class RecommendFastPath:
    """ASGI middleware, inside :class:`~serving.security.SecurityMiddleware`: answers
    ``POST /recommend`` (list mode) itself, on the event loop.

    Why: behind the security checks, BentoML's router, context middleware and API layer
    (request IO descriptor, context object, response conversion) cost about as much CPU
    per request as scoring 100k items (benchmarks/rest.md). BentoML's own middlewares
    around ours (metrics, timeout, concurrency limit) still see every request, and the
    route, its OpenAPI schema and every other endpoint stay BentoML's. Off with
    ``SKILLPATH_TRACING=1``, so that traced requests take the instrumented path.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.enabled = not _tracing()
        self.server = f"BentoML Service/{SERVICE_NAME}".encode()  # the header BentoML's route sets

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "lifespan":  # like the settings: each start reads its environment
            self.enabled = not _tracing()
        elif (self.enabled and scope["type"] == "http" and scope["path"] == "/recommend"
                and scope["method"] == "POST"):
            chunks = []
            while True:  # SecurityMiddleware has read and size-checked it: one replayed message
                msg = await receive()
                if msg["type"] != "http.request":
                    return  # client went away
                chunks.append(msg.get("body", b""))
                if not msg.get("more_body"):
                    break
            body = b"".join(chunks)
            out = _recommend_now(body)
            if out is not None:
                status, data = out
                await send({"type": "http.response.start", "status": status,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(data)).encode()), (b"server", self.server)]})
                await send({"type": "http.response.body", "body": data})
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)


def _replay(body: bytes, receive: Callable[..., Any]) -> Callable[..., Any]:
    sent = False

    async def again() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return again


@bentoml.service(
    name=SERVICE_NAME,
    workers=int(os.environ.get("SKILLPATH_WORKERS", "1")),
    traffic={"timeout": 30},
    logging={"access": {"enabled": os.environ.get("SKILLPATH_ACCESS_LOG", "") in ("1", "true", "yes")}},
    tracing={"excluded_urls": _untraced_paths()},
)
@bentoml.asgi_app(routes, path="/")
class SkillPathService:
    """SkillPath recommendations over HTTP (see docs/serving.md)."""

    def __init__(self) -> None:
        settings = load_settings()
        self.app = SkillPathApp.from_settings(settings, model_dir=os.environ.get("SKILLPATH_MODEL_DIR") or None,
                                              online=_online_features(settings))
        self._stop = threading.Event()
        self._path_limiter: anyio.CapacityLimiter | None = None  # made on the event loop, at first use
        interval = settings.serving.reload_interval_s
        if interval > 0:
            threading.Thread(target=self._timer, args=(interval,), name="skillpath-reload", daemon=True).start()

    def _timer(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.app.tick()
            except Exception:  # the timer must survive anything; the model in place keeps serving
                log.exception("background refresh failed")

    def __is_ready__(self) -> bool:
        return self.app.ready

    @bentoml.on_shutdown
    def _shutdown(self) -> None:
        self._stop.set()
        self.app.close()

    @bentoml.api(input_spec=RecommendRequest, output_spec=RecommendResponse, route="/recommend")
    async def recommend(self, ctx: bentoml.Context, **kw: Any) -> RecommendResponse:
        """Top-k resources for a mentee, best first, with reasons."""
        # On the event loop, on purpose: the call is ~1 ms of CPU that holds the GIL anyway,
        # and BentoML runs sync APIs one at a time (threads=1), so a thread hand-off would
        # add its cost (~0.3 ms with the spans) and no concurrency. Slow work (event writes,
        # path planning, reloads) stays in sync APIs, off the loop, and the event-log reads
        # made here use the log's reader connection, which never waits for a writer.
        req = RecommendRequest.model_construct(**kw)
        if req.mode == "path":  # planning takes milliseconds: off the loop, one at a time like sync APIs
            if self._path_limiter is None:
                self._path_limiter = anyio.CapacityLimiter(1)
            return await anyio.to_thread.run_sync(_answer, ctx, lambda: self.app.recommend(req),
                                                  limiter=self._path_limiter)
        return _answer(ctx, lambda: self.app.recommend(req))

    @bentoml.api(input_spec=EventsRequest, output_spec=EventsResponse, route="/events")
    def events(self, ctx: bentoml.Context, **kw: Any) -> EventsResponse:
        """Store 1-1000 events durably (all or nothing, idempotent on event_id); needs an API key."""
        return _answer(ctx, lambda: self.app.ingest(EventsRequest.model_construct(**kw)))

    @bentoml.api(input_spec=MentorMatchRequest, output_spec=MentorMatchResponse, route="/mentors/match")
    def mentors_match(self, ctx: bentoml.Context, **kw: Any) -> MentorMatchResponse:
        """The k best mentors with a free place for a mentee's next skills, with reasons in skill names."""
        return _answer(ctx, lambda: self.app.mentor_match(MentorMatchRequest.model_construct(**kw)))

    @bentoml.api(input_spec=MentorAssignRequest, output_spec=MentorAssignResponse, route="/mentors/assign")
    def mentors_assign(self, ctx: bentoml.Context, **kw: Any) -> MentorAssignResponse:
        """Assign mentees to mentors within capacities, persist it (reports/mentor_assignment.csv); needs an API key."""
        return _answer(ctx, lambda: self.app.mentor_assign(MentorAssignRequest.model_construct(**kw)))

    @bentoml.api(input_spec=PathRequest, output_spec=PathResponse, route="/path")
    def path(self, ctx: bentoml.Context, **kw: Any) -> PathResponse:
        """The mentee's learning path towards their goals: prerequisites first, reasons, ETAs, mentors."""
        return _answer(ctx, lambda: self.app.path(PathRequest.model_validate(kw)))

    @bentoml.api(output_spec=ReloadResponse, route="/admin/reload")
    def reload(self, ctx: bentoml.Context) -> ReloadResponse:
        """Load the current champion; the old model serves until the new one is verified. Needs an API key."""
        return _answer(ctx, lambda: self.app.reload())


SkillPathService.add_asgi_middleware(SecurityMiddleware)  # added first: outermost of the two
SkillPathService.add_asgi_middleware(RecommendFastPath)
