"""``GET /analytics/...``: every table behind the console, as JSON or CSV, for the roles that may read it.

Programme tables are for leads and admins; content tables for curators too; a mentee's tables for that
mentee, their mentor, leads, curators and admins; a mentor's for that mentor, leads and admins. The
caller is a Bearer key or the console's session cookie (:mod:`serving.ui.auth`); without either, 401.
"""

from __future__ import annotations

import csv
import io
import threading
import weakref
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from catalog.datadir import DataDir
from catalog.errors import NotReadyError
from catalog.eventlog import EventLog
from serving.access import Forbidden, Principal
from serving.analytics.console import ConsoleData
from serving.analytics.store import Table, start_log_copy
from serving.openapi import errors, security
from serving.schemas import ID_REGEX
from serving.schemas_analytics import AnalyticsTable
from serving.ui.auth import console_principal

__all__ = ["router", "console_of", "caller", "table_response", "may_read_mentor", "start", "stop"]

router = APIRouter(prefix="/analytics", tags=["analytics"])
_DATA: weakref.WeakKeyDictionary[Any, ConsoleData] = weakref.WeakKeyDictionary()  # one per running core
_START = threading.Lock()
Format = Literal["json", "csv"]
_FORMAT = Query("json", description="`json` (default) or `csv` (a download with a header row).", examples=["csv"])


def console_of(request: Request) -> tuple[Any, ConsoleData]:
    """The running core and its console data (built on first use, warmed in the background)."""
    core = getattr(request.app.state, "core", None)
    if core is None:
        raise NotReadyError("the service has not started")
    return core, start(core)


def start(core: Any) -> ConsoleData:
    """The console data of ``core`` (made once per core; its refresher starts building at once, in a thread
    ``core`` owns: ``core.close()`` stops and joins it)."""
    with _START:
        data = _DATA.get(core)
        if data is None:
            s = core.settings
            data = ConsoleData(lambda: core.world, DataDir(s.data_dir).events_db, pairs=core.mentors.pairs,
                               clock=core.clock, stale=lambda: core.stale_reach.report(),
                               floor=s.scoring.freshness_floor, threshold=s.scoring.stale_threshold,
                               monitor=lambda: core.monitor, model=lambda: getattr(core._bundle, "version", None),
                               fetch=_pg_fetch(core.log), snapshot_dir=DataDir(s.data_dir).root / "console",
                               monitor_opening=_monitor_opening(core))
            core.forgetters.register("console", data.forget)
            _DATA[core] = data
            data.start(core.background.start)
    return data


def prefetch(settings: Any) -> bool:
    """Start the console's first copy of the SQLite log before the service loads its model (a first start
    on a data dir; :func:`serving.analytics.store.start_log_copy`). Whether one was started."""
    if settings.database_url is not None:
        return False
    dd = DataDir(settings.data_dir)
    return start_log_copy(dd.events_db, dd.root / "console")


def _monitor_opening(core: Any) -> Callable[[], bool]:
    """Whether ``core``'s monitor is still being built; the first time it is, its build is started in a
    thread ``core`` owns (the service's own build after readiness may already be under way: the monitor's
    lock makes the two one build). People tables read it then instead of waiting on the request path."""
    started = threading.Event()

    def opening() -> bool:
        if core._monitor_open:
            return False
        if not started.is_set():
            started.set()
            core.background.start("console-monitor", lambda stop: core.warm_background(("monitor",)))
        return True
    return opening


def stop(core: Any) -> None:
    """Stop ``core``'s console refresher (the service is shutting down)."""
    data = _DATA.get(core)
    if data is not None:
        data.stop()


def _pg_fetch(log: Any) -> Any:
    """The PostgreSQL log's own read (its pool, its retry) when the service runs on one; None for SQLite."""
    fetch = getattr(log, "_fetch", None)  # PgEventLog: the SQLite log's SQL, translated to its dialect
    return None if isinstance(log, EventLog) or fetch is None else fetch


def caller(request: Request, core: Any) -> Principal:
    return console_principal(request, core.settings.serving.api_keys)


def may_read_mentor(p: Principal, mentor_id: str) -> bool:
    return p.role in ("admin", "lead") or (p.role == "mentor" and p.subject == mentor_id)


def _require(ok: bool, p: Principal, what: str, loc: tuple[str, ...]) -> None:
    if not ok:
        raise Forbidden(f"a {p.role} key may not read {what}", loc)


def table_response(table: Table, as_of: str, fmt: str) -> Response:
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(table.columns)
        w.writerows(table.rows)
        return Response(buf.getvalue(), media_type="text/csv",
                        headers={"content-disposition": f'attachment; filename="{table.name}.csv"'})
    body = AnalyticsTable(name=table.name, as_of=as_of, columns=table.columns, rows=table.rows, notes=table.notes)
    return Response(body.model_dump_json(), media_type="application/json")


_OK = {200: {"content": {"text/csv": {"schema": {"type": "string"}}},
             "description": "The table (JSON), or CSV with `format=csv`."}}


@router.get("/programme/{table}", response_model=AnalyticsTable, summary="A programme table (leads)",
            responses={**_OK, **errors(400, 401, 403, 404, 503)}, openapi_extra=security(write=True))
def programme(request: Request,
              table: Literal["active-weekly", "funnel", "goals", "at-risk", "mentor-load", "skills-demand",
                             "cohorts"] = PathParam(description="Which table.", examples=["funnel"]),
              format: Format = _FORMAT) -> Response:
    """Active mentees per week, the completion funnel, goal attainment, at-risk mentees with reasons,
    mentor load against capacity, skills in demand against mentor supply, cohorts with 95% intervals."""
    core, data = console_of(request)
    p = caller(request, core)
    _require(p.role in ("admin", "lead"), p, "programme analytics", ("path", "table"))
    return table_response(data.programme(table), core.clock().isoformat(), format)


@router.get("/content/{table}", response_model=AnalyticsTable, summary="A content table (curators, leads)",
            responses={**_OK, **errors(400, 401, 403, 404, 503)}, openapi_extra=security(write=True))
def content(request: Request,
            table: Literal["stale", "coverage", "freshness", "effectiveness"] = PathParam(
                description="Which table.", examples=["stale"]),
            format: Format = _FORMAT) -> Response:
    """Stale resources with their reach and a replacement, skills lacking fresh content per level, the
    freshness histogram, and content effectiveness (observational; the notes say why)."""
    core, data = console_of(request)
    p = caller(request, core)
    _require(p.role in ("admin", "lead", "curator"), p, "content analytics", ("path", "table"))
    return table_response(data.content(table), core.clock().isoformat(), format)


@router.get("/mentees/{user_id}/{table}", response_model=AnalyticsTable, summary="A mentee's table",
            responses={**_OK, **errors(400, 401, 403, 404, 503)}, openapi_extra=security(write=True))
def mentee(request: Request,
           user_id: str = PathParam(pattern=ID_REGEX, description="A mentee id.", examples=["u00001"]),
           table: Literal["activity", "alerts"] = PathParam(description="Which table.", examples=["activity"]),
           format: Format = _FORMAT) -> Response:
    """The mentee's recent activity or open alerts: for the mentee, their mentor, leads, curators, admins."""
    core, data = console_of(request)
    p = caller(request, core)
    _require(p.may_read_mentee(user_id, core.mentor_of), p, f"mentee {user_id!r}", ("path", "user_id"))
    return table_response(data.mentee(user_id, table), core.clock().isoformat(), format)


@router.get("/mentors/{mentor_id}/{table}", response_model=AnalyticsTable, summary="A mentor's table",
            responses={**_OK, **errors(400, 401, 403, 404, 503)}, openapi_extra=security(write=True))
def mentor(request: Request,
           mentor_id: str = PathParam(pattern=ID_REGEX, description="A mentor id.", examples=["m001"]),
           table: Literal["caseload", "alerts", "talking-points"] = PathParam(description="Which table.",
                                                                              examples=["caseload"]),
           format: Format = _FORMAT) -> Response:
    """The mentor's mentees and capacity, their alerts, and talking points (skills a mentee is stuck on)."""
    core, data = console_of(request)
    p = caller(request, core)
    _require(may_read_mentor(p, mentor_id), p, f"mentor {mentor_id!r}", ("path", "mentor_id"))
    return table_response(data.mentor(mentor_id, table), core.clock().isoformat(), format)
