"""The request contract, one rule at a time: strict JSON types, duplicate keys, NUL characters,
404/405 with ``Allow`` before keys and bodies, every refusal naming its field, one log line each."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from serving.api import api
from serving.schemas_base import BodyError, StrictModel, parse_json_body

JSON = {"content-type": "application/json"}
EVENT = {"event_id": "c-1", "user_id": "u001", "item_id": "b1-i01", "event_type": "complete",
         "timestamp": "2025-03-01T12:00:00Z"}


def _refused(r, loc: list, type_: str | None = None) -> dict:
    """A 400 in the error shape whose first detail names ``loc``."""
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["detail"][0]["loc"] == loc, body
    assert body["error"].startswith(".".join(map(str, loc))), body
    if type_ is not None:
        assert body["detail"][0]["type"] == type_, body
    return body


# ------------------------------------------------------------------ strict JSON types
@pytest.mark.parametrize("k", ["5", True, 5.5, [5], None])
def test_an_integer_is_a_json_integer(client, k):
    _refused(client.post("/recommend", json={"user_id": "u001", "k": k}), ["k"])


def test_an_integral_number_is_an_integer_as_json_schema_says(client):
    r = client.post("/recommend", json={"user_id": "u001", "k": 3.0})
    assert r.status_code == 200 and len(r.json()["items"]) == 3


@pytest.mark.parametrize("value", ["true", 1, 0, "false"])
def test_a_boolean_is_a_json_boolean(client, value):
    _refused(client.post("/recommend", json={"user_id": "u001", "include_stale": value}), ["include_stale"],
             "bool_type")


@pytest.mark.parametrize("user_id", [42, 4.2, True, ["u001"]])
def test_a_string_is_a_json_string(client, user_id):
    _refused(client.post("/recommend", json={"user_id": user_id}), ["user_id"])


@pytest.mark.parametrize("value", ["50", True])
def test_a_float_is_a_json_number(client, value):
    ev = {**EVENT, "event_id": "c-2", "event_type": "assess", "value": value}
    _refused(client.post("/events", json={"events": [ev]}), ["events", 0, "value"], "float_type")
    ok = client.post("/events", json={"events": [{**ev, "value": 50}]})  # an integer is a number
    assert ok.status_code == 200 and ok.json()["accepted"] == 1


@pytest.mark.parametrize("ts", [1740830400, "1740830400", "2025-03-01", True])
def test_a_timestamp_is_an_iso_date_and_time(client, ts):
    _refused(client.post("/events", json={"events": [{**EVENT, "timestamp": ts}]}), ["events", 0, "timestamp"])
    _refused_query = client.get("/catalog/stale", params={"as_of": ts})
    assert _refused_query.status_code == 400 and _refused_query.json()["detail"][0]["loc"] == ["query", "as_of"]


def test_nested_bodies_are_strict_too(client):
    r = client.post("/path", json={"user_id": "u001", "goals": [{"skill": "block1", "level": "4"}]})
    _refused(r, ["goals", 0, "level"], "int_type")


def test_every_request_body_is_a_strict_model():
    """Every route's body, and every model nested in it, derives from StrictModel (one shared base)."""
    seen: set[type] = set()

    def visit(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        assert issubclass(model, StrictModel), model
        for f in model.model_fields.values():
            for t in _types(f.annotation):
                if isinstance(t, type) and issubclass(t, BaseModel):
                    visit(t)

    for route in api.routes:
        if isinstance(route, APIRoute) and route.body_field is not None:
            for t in _types(route.body_field.field_info.annotation):
                visit(t)
    assert len(seen) >= 8, seen  # the bodies of /recommend, /events, /path, mentors, /assistant and nested ones


def _types(annotation):
    yield annotation
    for a in getattr(annotation, "__args__", ()) or ():
        yield from _types(a)


# ------------------------------------------------------------------ the JSON text itself
def test_duplicate_keys_are_refused_naming_the_key(client):
    _refused(client.post("/recommend", content=b'{"user_id": "u001", "k": 5, "k": 50}', headers=JSON), ["k"],
             "duplicate_key")
    body = json.dumps({"events": [EVENT]}).replace('"user_id": "u001"', '"user_id": "u001", "user_id": "u002"')
    _refused(client.post("/events", content=body.encode(), headers=JSON), ["events", 0, "user_id"],
             "duplicate_key")


@pytest.mark.parametrize("route, body, loc", [
    ("/recommend", {"user_id": "u0\u000001"}, ["user_id"]),
    ("/assistant", {"user_id": "u001", "message": "hello\u0000"}, ["message"]),
    ("/events", {"events": [{**EVENT, "source": "web\u0000"}]}, ["events", 0, "source"]),
])
def test_nul_characters_are_refused_naming_the_field(client, route, body, loc):
    _refused(client.post(route, json=body), loc, "invalid_character")


def test_a_nul_in_a_key_or_an_unpaired_surrogate_is_refused(client):
    _refused(client.post("/recommend", content=b'{"user_id": "u001", "k\\u0000": 5}', headers=JSON),
             ["k\\u0000"], "invalid_character")
    _refused(client.post("/assistant", content=b'{"user_id": "u001", "message": "hi \\ud800"}', headers=JSON),
             ["message"], "invalid_character")


@pytest.mark.parametrize("raw", [b"{", b'{"user_id": "u001", "k": NaN}', b'{"user_id": "u001", "k": 1e999}',
                                 b"[" * 50_000, b'{"user_id": "\xff"}'])
def test_text_that_is_not_json_is_a_400_on_the_body(client, raw):
    _refused(client.post("/recommend", content=raw, headers=JSON), ["body"], "json_invalid")


def test_the_reader_flags_only_what_it_must():
    assert parse_json_body(b'{"a": "\\\\u0000", "b": [1, {"c": "\\u00e9"}]}') == {"a": "\\u0000", "b": [1, {"c": "é"}]}
    with pytest.raises(BodyError) as e:
        parse_json_body(b'{"a": [{"b": {"c": 1, "c": 2}}]}')
    assert e.value.loc == ["a", 0, "b", "c"]


# ------------------------------------------------------------------ routes and methods
@pytest.mark.parametrize("method, path, allow", [
    ("PUT", "/livez", "GET, HEAD"), ("POST", "/readyz", "GET, HEAD"), ("DELETE", "/metrics", "GET, HEAD"),
    ("GET", "/events", "POST"), ("GET", "/recommend", "POST"), ("PUT", "/recommend", "POST"),
    ("OPTIONS", "/recommend", "POST"), ("QUERY", "/path", "POST"), ("POST", "/skills/block1", "GET"),
    ("DELETE", "/items/b1-i01/similar", "GET"), ("POST", "/openapi.json", "GET, HEAD"),
])
def test_a_wrong_method_is_a_405_with_allow(client, method, path, allow):
    r = client.request(method, path, content=b"{}", headers=JSON)
    assert r.status_code == 405, r.text
    assert r.headers["allow"] == allow
    assert r.json()["detail"][0]["loc"] == ["method"]


def test_a_wrong_method_is_405_before_the_key_and_the_body_checks(client):
    client.headers.pop("authorization")
    r = client.get("/events")  # a write route without a key: still the method's fault first
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert client.put("/livez", content=b"x", headers={"content-type": "text/plain"}).status_code == 405


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PATCH"])
def test_an_unknown_route_is_a_json_404(client, method):
    r = client.request(method, "/no/such/route")
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    assert r.json()["detail"][0]["loc"] == ["path"]


def test_the_health_routes_and_the_docs_still_answer(client):  # /metrics: in the real-server test
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200
    assert client.get("/docs/assets/no-such-file.js").status_code == 404
    assert client.post("/docs/assets/swagger-ui.css").headers["allow"] == "GET, HEAD"


def test_the_catch_all_route_is_last():
    """It takes every path: a route included after it would never be reached."""
    assert api.router.routes[-1].path == "/{rest:path}"


# ------------------------------------------------------------------ every refusal names its field
@pytest.mark.parametrize("request_kw, status, loc", [
    ({"method": "POST", "url": "/events", "json": {"events": [EVENT]}, "headers": {"authorization": "Bearer no"}},
     401, ["header", "authorization"]),
    ({"method": "POST", "url": "/recommend", "content": b"user_id=u001",
      "headers": {"content-type": "application/x-www-form-urlencoded"}}, 415, ["header", "content-type"]),
    ({"method": "POST", "url": "/recommend", "content": b'{"user_id": "' + b"x" * (2 << 20) + b'"}',
      "headers": JSON}, 413, ["body"]),
    ({"method": "GET", "url": "/skills/nope"}, 404, ["skill_id"]),
    ({"method": "GET", "url": "/items/nope/similar"}, 404, ["item_id"]),
    ({"method": "GET", "url": "/items/b1-i01/similar?k=0"}, 400, ["query", "k"]),
    ({"method": "POST", "url": "/recommend", "json": {"user_id": "u001", "extra": 1}}, 400, ["extra"]),
    ({"method": "POST", "url": "/recommend", "json": {"k": 5}}, 400, ["user_id"]),
    ({"method": "POST", "url": "/recommend", "json": [1]}, 400, ["body"]),
])
def test_every_refusal_names_its_field(client, request_kw, status, loc):
    r = client.request(**request_kw)
    assert r.status_code == status, r.text
    assert r.json()["detail"][0]["loc"] == loc, r.json()


def test_one_log_line_per_rejected_request_and_no_traceback(client, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    bad = [client.post("/recommend", json={"user_id": "u001", "k": "5"}),
           client.put("/livez"),
           client.get("/no/such/route"),
           client.post("/recommend", content=b'{"k": 1, "k": 2}', headers=JSON)]
    assert [r.status_code for r in bad] == [400, 405, 404, 400]
    assert client.post("/recommend", json={"user_id": "u001"}).status_code == 200
    lines = [r for r in caplog.records if r.name.startswith(("skillpath", "bentoml", "uvicorn"))]
    rejected = [r for r in lines if r.name == "skillpath.serving.rejected"]
    assert [r.getMessage().split(":")[0] for r in rejected] == [
        "rejected POST /recommend", "rejected PUT /livez", "rejected GET /no/such/route", "rejected POST /recommend"]
    assert "k: Input should be a valid integer" in rejected[0].getMessage()
    assert not any(r.exc_info for r in lines) and all(r.levelno < logging.WARNING for r in rejected)


# ------------------------------------------------------------------ the document says what the answers are
def _walk(node):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def test_the_document_is_openapi_3_1_throughout():
    doc = api.openapi()
    assert doc["openapi"].startswith("3.1")
    for node in _walk(doc):
        assert "nullable" not in node, node  # 3.0's keyword; 3.1 says anyOf [..., {"type": "null"}]
        for key in ("exclusiveMinimum", "exclusiveMaximum"):
            assert key not in node or isinstance(node[key], (int, float)) and not isinstance(node[key], bool), node


def test_the_document_declares_what_the_answers_are():
    doc = api.openapi()
    schemas = doc["components"]["schemas"]
    assert schemas["ErrorResponse"]["properties"]["detail"]["type"] == "array"
    assert {"type": "null"} in schemas["RecommendResponse"]["properties"]["fallback"]["anyOf"]
    assert {"400", "404"} <= set(doc["paths"]["/items/{item_id}/similar"]["get"]["responses"])
    for path, item in doc["paths"].items():
        for op in item.values():
            for p in op.get("parameters", []):
                if not p["required"]:  # optional parameters are left out, never sent as null
                    assert "anyOf" not in p["schema"] and p["schema"].get("type") != "null", (path, p)
    text = json.dumps(doc)
    assert '"pattern": "^[^\\\\x00]*$"' in text  # free text declares the NUL rule


def test_the_served_document_bounds_the_threshold_by_this_servers_floor(client):
    doc = client.get("/openapi.json").json()
    (threshold,) = [p for p in doc["paths"]["/catalog/stale"]["get"]["parameters"] if p["name"] == "threshold"]
    assert threshold["schema"]["exclusiveMinimum"] == 0.1 and threshold["schema"]["maximum"] == 1
    assert client.get("/catalog/stale", params={"threshold": 0.1}).status_code == 400
    assert client.get("/catalog/stale", params={"threshold": 0.11}).status_code == 200
