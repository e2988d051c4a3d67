"""Routes of mentoring sessions: record, list per mentee and mentor, mentor feedback, pair health.

Each route calls :class:`serving.views.sessions.SessionsView` through the running app
(``request.app.state.core.sessions``); writes (analysis, fsync) run in the app's one worker
thread, reads in FastAPI's threadpool. Who may ask is checked here (:mod:`serving.access`);
which texts an answer carries, in the view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import Response
from starlette.requests import Request

from catalog.errors import NotReadyError
from serving.access import principal_of, require_mentor
from serving.errors import Forbidden
from serving.openapi import errors, security
from serving.schemas import ID_REGEX
from serving.schemas_sessions import (
    MentorFeedbackResponse, PairHealthResponse, SessionListResponse, SessionsRequest, SessionsResponse,
)

__all__ = ["router"]

T = TypeVar("T")
router = APIRouter(tags=["sessions"])

_MENTEE = PathParam(pattern=ID_REGEX, description="A mentee id.", examples=["u00042"])
_MENTOR = PathParam(pattern=ID_REGEX, description="A mentor id.", examples=["m026"])


def _view(request: Request) -> Any:
    core = getattr(request.app.state, "core", None)
    if core is None:
        raise NotReadyError("the service has not started")
    return core


async def _offload(request: Request, call: Callable[[], T]) -> T:
    """Run ``call`` in the app's one worker thread (shared with the other writes), so the loop keeps serving."""
    state = request.app.state
    if getattr(state, "limiter", None) is None:
        state.limiter = anyio.CapacityLimiter(1)
    return await anyio.to_thread.run_sync(call, limiter=state.limiter)


def _json(model: Any) -> Response:
    return Response(model.model_dump_json(), media_type="application/json")


@router.post("/sessions", response_model=SessionsResponse, summary="Record mentoring sessions (needs a key)",
             responses=errors(400, 401, 403, 409, 413, 415, 503), openapi_extra=security(write=True))
async def post_sessions(req: SessionsRequest, request: Request) -> Response:
    """One session or a batch, all or nothing, fsynced before the answer, idempotent on `session_id`
    (the same id with another body is a 409). Unknown mentors and mentees are a 400 naming them; a
    transcript or notes over its limit a 413. Each session is analysed as it is stored (tone, talk
    balance, action items, skills); with `sessions.store_text: false` only that analysis is kept.
    Admin and lead keys record any session, a mentor key only its own."""
    core = _view(request)
    who = principal_of(request)
    if who.role == "mentor":
        for i, s in enumerate(req.sessions):
            if s.mentor_id != who.subject:
                raise Forbidden(f"a mentor key records only its own sessions, not mentor {s.mentor_id!r}'s",
                                ["sessions", i, "mentor_id"])
    records = [s.model_dump(mode="json", exclude_none=True) for s in req.sessions]

    def record() -> Any:  # the first call opens the store (a write lock): off the loop too
        view = core.sessions
        res = view.record(view.parse(records, collection="sessions"))
        if getattr(core, "monitor", None) is not None and res.accepted:
            core.monitor.mark_dirty({r["mentee_id"] for r in records})   # contact changed: re-evaluate them
        return res
    return _json(await _offload(request, record))


@router.get("/mentees/{mentee_id}/sessions", response_model=SessionListResponse,
            summary="A mentee's mentoring sessions with their analysis", responses=errors(400, 401, 403, 404, 503),
            openapi_extra=security(write=False))
def mentee_sessions(request: Request, mentee_id: str = _MENTEE) -> Response:
    """Oldest first. The mentee's own key, their mentor's key (the assigned mentor, or one they met),
    leads and admins may ask; texts only for the pair, leads and admins (`texts: withheld` otherwise).
    An unknown mentee is a 404."""
    core = _view(request)
    return _json(core.sessions.for_mentee(mentee_id, principal_of(request), core.mentor_of))


@router.get("/mentors/{mentor_id}/sessions", response_model=SessionListResponse,
            summary="A mentor's mentoring sessions with their analysis", responses=errors(400, 401, 403, 404, 503),
            openapi_extra=security(write=False))
def mentor_sessions(request: Request, mentor_id: str = _MENTOR) -> Response:
    """Oldest first. The mentor's own key, leads, curators and admins may ask (texts only for the
    mentor, leads and admins). An unknown mentor is a 404."""
    who = require_mentor(request, mentor_id)
    return _json(_view(request).sessions.for_mentor(mentor_id, who))


@router.get("/mentors/{mentor_id}/feedback", response_model=MentorFeedbackResponse,
            summary="Feedback for a mentor on each of their pairs", responses=errors(400, 401, 403, 404, 503),
            openapi_extra=security(write=False))
def mentor_feedback(request: Request, mentor_id: str = _MENTOR) -> Response:
    """Every mentee the mentor had sessions with, weakest pair first: health score, status and plain
    words ("3 sessions without an action item", "follow-through on Docker: 0 of 2")."""
    require_mentor(request, mentor_id)
    return _json(_view(request).sessions.feedback(mentor_id))


@router.get("/pairs/{mentor_id}/{mentee_id}/health", response_model=PairHealthResponse,
            summary="A mentor-mentee pair's health, its signals and feedback",
            responses=errors(400, 401, 403, 404, 503), openapi_extra=security(write=False))
def pair_health(request: Request, mentor_id: str = _MENTOR, mentee_id: str = _MENTEE) -> Response:
    """A score in [0, 1] from cadence, ratings, tone, engagement, follow-through on action items and
    progress, each signal with its reason; `no data` before the pair's first session. The mentor's
    key, leads, curators and admins may ask."""
    require_mentor(request, mentor_id)
    return _json(_view(request).sessions.pair_health(mentor_id, mentee_id))
