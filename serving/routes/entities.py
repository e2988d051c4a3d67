"""The entity routes: ``/resources``, ``/skills``, ``/mentees``, ``/mentors`` (docs/serving.md, docs/store.md).

Each kind has a paged, filtered list (``GET /<kind>``), one entity (``GET``), an
idempotent create-or-replace (``PUT``), a partial change (``PATCH``), ``DELETE`` (a
resource is retired: inactive, history kept; a mentee is forgotten everywhere), and an
all-or-nothing batch of up to 1,000 (``PUT /<kind>``). Answers carry ``ETag: "<version>"``;
a write with ``If-Match`` naming a stale version is a 412. ``GET /skills/{skill_id}`` is
the learning-path route of :mod:`serving.api` (it also carries the ETag).

This module does not use postponed annotations: FastAPI reads the body models from the
closures' annotations.
"""

from typing import Annotated, Any, Callable

import anyio.to_thread
from fastapi import APIRouter, Header, Query
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.requests import Request

from catalog.errors import InvalidValueError
from serving.openapi import errors, security
from serving.schemas import ID_REGEX, RESOURCE_TYPES
from serving.schemas_entities import (
    BATCH_MODELS, PATCH_MODELS, BatchResponse, ChangesResponse, EntityListResponse, EntityResponse, ForgetResponse,
    MenteeIn, MentorIn, ResourceIn, SkillIn,
)
from serving.access import principal_of, require_mentee
from serving.errors import Forbidden

__all__ = ["router", "etag", "parse_if_match"]

router = APIRouter()
_JSON = "application/json"
_SINGULAR = {"skills": "skill", "resources": "resource", "mentees": "mentee", "mentors": "mentor"}
_EXAMPLE_ID = {"skills": "python", "resources": "r01800", "mentees": "u00042", "mentors": "m007"}
_IN = {"skills": SkillIn, "resources": ResourceIn, "mentees": MenteeIn, "mentors": MentorIn}
_core: Callable[[], Any] = lambda: None  # set by :func:`bind`
_offload: Callable[..., Any] = anyio.to_thread.run_sync


def bind(core: Callable[[], Any], offload: Callable[..., Any]) -> None:
    """Where the running app comes from and how writes leave the event loop (:mod:`serving.api`)."""
    global _core, _offload
    _core, _offload = core, offload


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(value: str | None) -> int | None:
    """``"3"``, ``W/"3"`` or ``3`` -> 3; None or ``*`` -> None (any version)."""
    if value is None or value.strip() == "*":
        return None
    v = value.strip().removeprefix("W/").strip('"')
    if not v.isdigit():
        raise InvalidValueError("if-match", f"{value!r} is not an entity version; send the ETag of a GET")
    return int(v)


def _answer(model: BaseModel, version: int | None = None) -> Response:
    headers = {} if version is None else {"etag": etag(version)}
    return Response(model.model_dump_json(), media_type=_JSON, headers=headers)


def _actor(request: Request) -> str:
    """Who writes, for the change log: the key's role and id (a digest, never the key)."""
    return principal_of(request).label()


_IF_MATCH = Header(alias="if-match", description="Only write if the stored version is this ETag (else 412).",
                   examples=['"3"'])
IfMatch = Annotated[str, _IF_MATCH]


def _add_kind(kind: str) -> None:
    one, body_in, body_patch, body_batch = _SINGULAR[kind], _IN[kind], PATCH_MODELS[kind], BATCH_MODELS[kind]
    id_param = PathParam(pattern=ID_REGEX, description=f"The {one} id.", examples=[_EXAMPLE_ID[kind]])
    tags = ["entities"]

    def list_(request: Request,
              cursor: Annotated[str, Query(description="From the previous page's next_cursor.",
                                           examples=["r00050"])] = None,
              limit: int = Query(100, ge=1, le=1000, description="Page size (1-1000).", examples=[100]),
              skill: Annotated[str, Query(pattern=ID_REGEX, description="Only those with this skill "
                                          "(mentees: a goal on it).", examples=["python"])] = None,
              type: Annotated[str, Query(description="Resources only: this type.", examples=["video"])] = None,
              active: Annotated[bool, Query(description="Resources only: active (true) or retired (false).",
                                            examples=[True])] = None,
              domain: Annotated[str, Query(description="Skills only: this domain.", examples=["llm"])] = None,
              ) -> Response:
        given = {"skill": skill, "type": type, "active": active, "domain": domain}
        allowed = {"skills": ("domain",), "resources": ("skill", "type", "active"), "mentees": ("skill",),
                   "mentors": ("skill",)}[kind]
        bad = [k for k, v in given.items() if v is not None and k not in allowed]
        if bad:
            raise InvalidValueError(bad[0], f"not a filter of {kind} (filters: {', '.join(allowed)})")
        if type is not None and type not in RESOURCE_TYPES:
            raise InvalidValueError("type", f"unknown resource type {type!r} (one of {', '.join(RESOURCE_TYPES)})")
        filters = {k: v for k, v in given.items() if k in allowed}
        p = principal_of(request)
        if kind == "mentees" and not p.sees_everyone:
            raise Forbidden(f"a {p.role} key may not list mentees", ("header", "authorization"))
        return _answer(_core().entity("list", kind, cursor=cursor, limit=limit, **filters))

    router.add_api_route(f"/{kind}", list_, methods=["GET"], response_model=EntityListResponse, tags=tags,
                         summary=f"List {kind}, paged, with filters",
                         description=f"{kind.capitalize()} in creation order, `limit` per page; pass `next_cursor` "
                                     f"back as `cursor` for the next page. Filters: "
                                     + {"skills": "`domain`", "resources": "`skill`, `type`, `active`",
                                        "mentees": "`skill` (a goal on it)", "mentors": "`skill`"}[kind] + ".",
                         responses=errors(400, 401, 503),
                         openapi_extra=security(write=False))

    if kind != "skills":  # GET /skills/{skill_id} is the learning-path answer (serving.api)
        def get_(request: Request, entity_id: str = id_param) -> Response:
            if kind == "mentees":  # a mentee key reads only itself, a mentor key its mentees
                require_mentee(request, entity_id, mentor_of=_core().mentor_of, loc=("path", "entity_id"))
            s = _core().entity("get", kind, entity_id)
            return _answer(s, s.version)
        router.add_api_route(f"/{kind}/{{entity_id}}", get_, methods=["GET"], response_model=EntityResponse,
                             tags=tags, summary=f"One {one} with its version (ETag)",
                             description=f"The {one} as stored, with `ETag: \"<version>\"` for `If-Match`. "
                                         f"An unknown id is a 404.",
                             responses=errors(400, 401, 404, 503), openapi_extra=security(write=False))

    async def put_(request: Request, body: body_in, entity_id: str = id_param,  # type: ignore[valid-type]
                   if_match: IfMatch = None) -> Response:
        expected, actor = parse_if_match(if_match), _actor(request)
        s = await _offload(lambda: _core().entity("put", kind, entity_id, body, if_match=expected, actor=actor))
        return _answer(s, s.version)

    router.add_api_route(f"/{kind}/{{entity_id}}", put_, methods=["PUT"], response_model=EntityResponse, tags=tags,
                         summary=f"Create or replace a {one} (idempotent; needs an API key)",
                         description=f"Validated fully before anything is stored (unknown skills are a 400 naming "
                                     f"them{'; a prerequisite cycle is a 409 naming it' if kind == 'skills' else ''}); "
                                     f"the same body again changes nothing. With `If-Match` a stale version is a 412. "
                                     f"The next answer of every route reflects the write.",
                         responses=errors(400, 401, 409, 412, 413, 415, 503), openapi_extra=security(write=True))

    async def patch_(request: Request, body: body_patch, entity_id: str = id_param,  # type: ignore[valid-type]
                     if_match: IfMatch = None) -> Response:
        expected, actor = parse_if_match(if_match), _actor(request)
        s = await _offload(lambda: _core().entity("patch", kind, entity_id, body, if_match=expected, actor=actor))
        return _answer(s, s.version)

    router.add_api_route(f"/{kind}/{{entity_id}}", patch_, methods=["PATCH"], response_model=EntityResponse,
                         tags=tags, summary=f"Change some fields of a {one} (needs an API key)",
                         description="Only the fields sent change; the result is validated like a PUT. "
                                     "With `If-Match` a stale version is a 412.",
                         responses=errors(400, 401, 404, 409, 412, 413, 415, 503), openapi_extra=security(write=True))

    async def batch_(request: Request, body: body_batch) -> Response:  # type: ignore[valid-type]
        actor = _actor(request)
        return _answer(await _offload(lambda: _core().entity("batch", kind, body, actor=actor)))

    router.add_api_route(f"/{kind}", batch_, methods=["PUT"], response_model=BatchResponse, tags=tags,
                         summary=f"Create or replace up to 1,000 {kind}, all or nothing (needs an API key)",
                         description="Every item is validated first; one bad item stores nothing and the 400 lists "
                                     "each bad item by index and field (`[\"items\", 3, \"skills\"]`).",
                         responses=errors(400, 401, 409, 413, 415, 503), openapi_extra=security(write=True))


for _kind in ("skills", "resources", "mentees", "mentors"):
    _add_kind(_kind)


@router.delete("/resources/{entity_id}", response_model=EntityResponse, tags=["entities"],
               summary="Retire a resource: never recommended again, history kept (needs an API key)",
               responses=errors(400, 401, 404, 412, 503), openapi_extra=security(write=True))
async def retire_resource(request: Request, entity_id: str = PathParam(pattern=ID_REGEX, description="The resource id.",
                                                                        examples=["r01800"]),
                          if_match: IfMatch = None) -> Response:
    """The resource stays listed (``active: false``) with its events; it leaves every answer at once."""
    expected, actor = parse_if_match(if_match), _actor(request)
    s = await _offload(lambda: _core().entity("retire", "resources", entity_id, if_match=expected, actor=actor))
    return _answer(s, s.version)


def _delete_route(kind: str) -> None:
    one = _SINGULAR[kind]

    async def delete_(request: Request, entity_id: str = PathParam(pattern=ID_REGEX, description=f"The {one} id.",
                                                                    examples=[_EXAMPLE_ID[kind]]),
                      if_match: IfMatch = None) -> Response:
        expected, actor = parse_if_match(if_match), _actor(request)
        await _offload(lambda: _core().entity("delete", kind, entity_id, if_match=expected, actor=actor))
        return Response(status_code=204)

    router.add_api_route(f"/{kind}/{{entity_id}}", delete_, methods=["DELETE"], status_code=204, tags=["entities"],
                         summary=f"Delete a {one} (needs an API key)" + (
                             "; refused while a resource, mentee, mentor or skill uses it" if kind == "skills" else ""),
                         description=f"Removes the {one}; the change log keeps the trace. With `If-Match` a stale "
                                     f"version is a 412.",
                         responses={204: {"description": "Deleted."}, **errors(400, 401, 404, 412, 503)},
                         openapi_extra=security(write=True))


_delete_route("skills")
_delete_route("mentors")


@router.delete("/mentees/{entity_id}", response_model=ForgetResponse, tags=["entities"],
               summary="Forget a mentee: events, profile, assignment, features, conversations (needs an API key)",
               responses=errors(400, 401, 404, 503), openapi_extra=security(write=True))
async def forget_mentee(request: Request, entity_id: str = PathParam(pattern=ID_REGEX, description="The mentee id.",
                                                                      examples=["u00042"])) -> Response:
    """A tombstone keeps replayed old events from bringing them back; the served model keeps their
    trained vector until the next training (``note``)."""
    actor = _actor(request)
    return _answer(await _offload(lambda: _core().forget(entity_id, actor=actor)))


@router.get("/admin/changes", response_model=ChangesResponse, tags=["admin"],
            summary="The change log of entity writes (needs an API key)", responses=errors(400, 401, 503),
            openapi_extra=security(write=True))
def changes(since: int = Query(0, ge=0, description="Changes after this sequence number.", examples=[0]),
            limit: int = Query(100, ge=1, le=1000, description="At most this many.", examples=[100]),
            kind: Annotated[str, Query(description="Only this kind.", examples=["resources"])] = None) -> Response:
    """Which key (a digest), when, what: every admin write, oldest first."""
    return _answer(_core().entity("changes", kind, since=since, limit=limit))


