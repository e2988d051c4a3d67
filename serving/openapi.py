"""The one OpenAPI document of the service and its page at ``/docs``, served offline.

The document is FastAPI's, generated from the routes of :mod:`serving.api` and their
pydantic models (descriptions and examples on every field), completed with what FastAPI
cannot see: BentoML's health and metrics routes, the bearer-key scheme, and the error
answers (our 400 replaces FastAPI's 422). Swagger UI's script and stylesheet are served
from the ``swagger-ui-bundle-v2`` package (Swagger UI 5 renders OpenAPI 3.1), so the page
needs no network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from serving.schemas import ErrorResponse

__all__ = ["API_TITLE", "API_DESCRIPTION", "ASSETS", "errors", "security", "install_docs", "HEALTH_ROUTES"]

API_TITLE = "SkillPath"
API_DESCRIPTION = (
    "What each mentee should learn next, kept fresh: recommendations with reasons, durable "
    "event ingestion, learning paths, mentor matching and the curators' stale view. "
    "Write routes need `Authorization: Bearer <key>` (reads too when the server protects "
    "them). Every error is `{\"error\": \"<field>: <reason>\", \"detail\": [{\"loc\", \"msg\", "
    "\"type\"}]}`. Ids in the examples exist in the demo world (`skillpath data synth --seed 7`)."
)
ASSETS = "/docs/assets"

_ERROR_WHEN = {
    400: "A request that breaks the schema or names an unknown id; `error` names the field.",
    401: "A missing or wrong API key (write routes; reads with `protect_reads`).",
    403: "The key's role may not ask for this (a mentee key asks only for itself; writes need an admin key "
         "or a role allowed there).",
    404: "An unknown id in the URL path.",
    409: "A reload whose model fails verification; the old model keeps serving.",
    413: "A body over `serving.max_body_bytes`.",
    415: "A body that is not `application/json`.",
    503: "No model loaded yet (`/readyz` is 503 too).",
}
_BEARER = "bearer"

#: BentoML answers these before any SkillPath route; documented here so the one document lists every route.
HEALTH_ROUTES: dict[str, tuple[str, str, str]] = {
    "/livez": ("Liveness", "200 while the process serves requests.", "text/plain"),
    "/healthz": ("Liveness (alias of /livez)", "200 while the process serves requests.", "text/plain"),
    "/readyz": ("Readiness", "200 once a verified model is loaded, else 503.", "text/plain"),
    "/metrics": ("Prometheus metrics", "Request counts and latencies per route, in the Prometheus text format.",
                 "text/plain"),
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route: each status with the error model and when it happens."""
    return {code: {"model": ErrorResponse, "description": _ERROR_WHEN[code]} for code in codes}


def security(*, write: bool) -> dict[str, Any]:
    """``openapi_extra=`` of a route: writes need the bearer key; reads only with ``protect_reads``."""
    return {"security": [{_BEARER: []}] if write else [{}, {_BEARER: []}]}


def _document(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                      tags=[{"name": "recommendations"}, {"name": "learning paths"}, {"name": "events"},
                            {"name": "mentors"}, {"name": "assistant"}, {"name": "catalog"}, {"name": "admin"},
                            {"name": "health", "description": "Served by BentoML in front of the API."}])
    for item in doc["paths"].values():
        for op in item.values():
            op.get("responses", {}).pop("422", None)  # validation errors are our 400
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    doc["components"]["securitySchemes"] = {
        _BEARER: {"type": "http", "scheme": "bearer",
                  "description": "A key of `serving.api_keys` (`SKILLPATH_API_KEYS`)."}}
    core = getattr(app.state, "core", None)
    if core is not None:
        _bound_threshold(doc, core.settings.scoring.freshness_floor)
    for route, (summary, description, media) in HEALTH_ROUTES.items():
        doc["paths"][route] = {"get": {
            "tags": ["health"], "summary": summary, "description": description, "operationId": route.strip("/"),
            "responses": {"200": {"description": description, "content": {media: {"schema": {"type": "string"}}}},
                          **({"503": {"description": "Not ready yet."}} if route == "/readyz" else {})}}}
    return doc


def _bound_threshold(doc: dict[str, Any], floor: float) -> None:
    """``/catalog/stale``'s ``threshold`` must be above the running server's ``scoring.freshness_floor``."""
    for p in doc["paths"].get("/catalog/stale", {}).get("get", {}).get("parameters", []):
        if p["name"] == "threshold":
            p["schema"]["exclusiveMinimum"] = floor
            p["description"] = p["schema"]["description"] = (
                f"Stale below this freshness, above the freshness floor ({floor:g} on this server) and at most 1 "
                "(default: scoring.stale_threshold).")


def install_docs(app: FastAPI) -> None:
    """``/openapi.json`` (built on first use, again after :func:`serving.api.attach`) and ``/docs`` with local
    Swagger UI assets."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.mount(ASSETS, StaticFiles(directory=Path(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} API",
                                   swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS}/favicon-32x32.png")
