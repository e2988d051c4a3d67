"""Monitoring routes: a mentee's status, the open alerts, acknowledging or snoozing one.

The running app is read from ``request.app.state.core`` (what :func:`serving.api.attach`
set), so this module never imports the transport that includes it.
"""

from __future__ import annotations

from datetime import timezone
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import Response
from starlette.requests import Request

from catalog.errors import InvalidValueError, NotReadyError, UnknownUserError
from serving.access import principal_of, require_mentee
from serving.errors import FieldError
from serving.openapi import errors, security
from serving.schemas import ID_REGEX
from serving.schemas_monitoring import MAX_ALERTS_PAGE, AckRequest, AckResponse, AlertsResponse, StatusResponse
from serving.views.monitoring import MonitorView, parse_cohort

__all__ = ["router"]

router = APIRouter(tags=["monitoring"])
_JSON = "application/json"


def _monitor(request: Request):
    core = getattr(request.app.state, "core", None)
    if core is None:
        raise NotReadyError("the service has not started")
    monitor: MonitorView | None = getattr(core, "monitor", None)
    if monitor is None:
        raise NotReadyError("monitoring is off (monitoring.enabled); turn it on to keep statuses and alerts")
    return core, monitor


def _dump(model_cls, data: dict) -> Response:
    return Response(model_cls.model_validate(data).model_dump_json(), media_type=_JSON)


@router.get("/mentees/{user_id}/status", response_model=StatusResponse, summary="A mentee's status now",
            responses=errors(400, 401, 403, 404, 503), openapi_extra=security(write=False))
def mentee_status(request: Request, user_id: str = PathParam(pattern=ID_REGEX, description="The mentee.",
                                                             examples=["u00042"])) -> Response:
    """Engagement, assessments, goal progress, mentor contact, the at-risk probability and the current
    alerts, kept current as events arrive (docs/monitoring.md). A mentee key reads only itself, a mentor
    key its mentees."""
    core, monitor = _monitor(request)
    require_mentee(request, user_id, mentor_of=core.mentor_of, loc=("path", "user_id"))
    if user_id not in core.world.mentees and core.log.last_seq(user_id) == 0:
        raise UnknownUserError(user_id, "no profile and no events")
    return _dump(StatusResponse, monitor.status(user_id, core.clock()))


@router.get("/monitor/alerts", response_model=AlertsResponse, summary="Open alerts, with reasons and a next action",
            responses=errors(400, 401, 503), openapi_extra=security(write=False))
def monitor_alerts(
        request: Request,
        cohort: Annotated[str, Query(max_length=140, description="`mentor:<id>` (that mentor's mentees) or "
                                     "`YYYY-MM` (mentees whose first activity was in that month).",
                                     examples=["mentor:m026"])] = None,  # type: ignore[assignment]
        min_risk: Annotated[float, Query(ge=0, le=1, description="Only mentees the at-risk model puts at or "
                                         "above this probability (needs a model).", examples=[0.3])] = None,  # type: ignore[assignment]
        cursor: Annotated[str, Query(max_length=400, description="`next_cursor` of the previous page.",
                                     examples=["dTAwMDQyH2FsLTNmNWMwYTll"])] = None,  # type: ignore[assignment]
        limit: int = Query(1000, ge=1, le=MAX_ALERTS_PAGE, description=f"Alerts per page (1-{MAX_ALERTS_PAGE:,}).",
                           examples=[1000]),
        include_acknowledged: bool = Query(False, description="Also list acknowledged and snoozed alerts.",
                                           examples=[False])) -> Response:
    """Ordered by mentee then alert id; a mentee key sees its own alerts, a mentor key its mentees'."""
    core, monitor = _monitor(request)
    try:
        c = parse_cohort(cohort, core.world)
    except InvalidValueError as e:
        raise FieldError(["query", "cohort"], e) from None
    p = principal_of(request)
    visible = None
    if not p.sees_everyone:
        pairs = core.mentors.pairs()
        visible = lambda u: p.may_read_mentee(u, pairs.get)  # noqa: E731
    try:
        body = monitor.alerts_json(now=core.clock(), cohort=c, min_risk=min_risk, cursor=cursor, limit=limit,
                                   include_acknowledged=include_acknowledged, visible=visible)
    except InvalidValueError as e:
        raise FieldError(["query", e.field], e) from None
    return Response(body, media_type=_JSON)


@router.post("/monitor/alerts/{alert_id}/ack", response_model=AckResponse,
             summary="Acknowledge an alert or snooze it (needs a lead, mentor or admin key)",
             responses=errors(400, 401, 403, 404, 413, 415, 503), openapi_extra=security(write=True))
def ack_alert(req: AckRequest, request: Request,
              alert_id: str = PathParam(pattern=r"^al-[0-9a-f]{24}$", description="The alert's id.",
                                        examples=["al-3f5c0a9e1b2d4c6e8f7a9b0c"])) -> Response:
    """An acknowledged alert leaves the open list for good; a snoozed one until its date. A mentor key
    acts only on its mentees' alerts."""
    core, monitor = _monitor(request)
    p = principal_of(request)
    pairs = core.mentors.pairs()
    until = req.until
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=timezone.utc)
    try:
        out = monitor.ack(alert_id, action=req.action, until=until, note=req.note, by=p.label(), now=core.clock(),
                          may=None if p.sees_everyone else (lambda u: p.may_read_mentee(u, pairs.get)))
    except InvalidValueError as e:
        raise FieldError([e.field], e) from None
    return _dump(AckResponse, out)
