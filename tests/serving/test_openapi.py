"""The one OpenAPI document: every route, with summaries, described fields, real examples and errors."""

from __future__ import annotations

import re
from typing import Any

import pytest

from serving.api import api

#: (method, path) of every route the service answers: SkillPath's and BentoML's health/metrics.
ROUTES = {
    ("post", "/recommend"), ("post", "/events"), ("post", "/path"), ("post", "/mentors/match"),
    ("post", "/mentors/assign"), ("post", "/admin/reload"), ("post", "/assistant"), ("get", "/skills/{entity_id}"),
    ("get", "/items/{item_id}/similar"), ("get", "/catalog/stale"),
    ("get", "/analytics/programme/{table}"), ("get", "/analytics/content/{table}"),
    ("get", "/analytics/mentees/{user_id}/{table}"), ("get", "/analytics/mentors/{mentor_id}/{table}"),
    ("post", "/sessions"), ("get", "/mentees/{mentee_id}/sessions"), ("get", "/mentors/{mentor_id}/sessions"),
    ("get", "/mentors/{mentor_id}/feedback"), ("get", "/pairs/{mentor_id}/{mentee_id}/health"),
    ("get", "/mentees/{user_id}/status"), ("get", "/monitor/alerts"), ("post", "/monitor/alerts/{alert_id}/ack"),
    ("get", "/livez"), ("get", "/readyz"), ("get", "/healthz"), ("get", "/metrics"),
    ("get", "/admin/changes"),
    *{(m, f"/{kind}") for kind in ("skills", "resources", "mentees", "mentors") for m in ("get", "put")},
    *{(m, f"/{kind}/{{entity_id}}") for kind in ("skills", "resources", "mentees", "mentors")
      for m in ("put", "patch", "delete")},
    *{("get", f"/{kind}/{{entity_id}}") for kind in ("resources", "mentees", "mentors")},
}
WRITES = {("post", "/events"), ("post", "/mentors/assign"), ("post", "/admin/reload"), ("get", "/admin/changes"),
          ("post", "/sessions"), ("post", "/monitor/alerts/{alert_id}/ack"),
          *{(m, p) for m, p in ROUTES if m in ("put", "patch", "delete")}}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return api.openapi()


def _ops(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield method, path, op


def test_every_route_is_documented_with_a_summary(doc):
    assert doc["openapi"].startswith("3.1") and doc["info"]["title"] == "SkillPath"
    assert {(m, p) for m, p, _ in _ops(doc)} == ROUTES
    for method, path, op in _ops(doc):
        assert op.get("summary"), (method, path)
        assert op.get("description"), (method, path)


def test_errors_are_declared_with_the_error_model_and_never_422(doc):
    ref = "#/components/schemas/ErrorResponse"
    for method, path, op in _ops(doc):
        codes = set(op["responses"])
        assert "422" not in codes, path
        if path in {"/livez", "/readyz", "/healthz", "/metrics"}:
            continue
        assert {"401", "503"} <= codes, path
        if method in ("post", "put", "patch") and path != "/admin/reload":
            assert {"400", "413", "415"} <= codes, path
        if "{" in path and method != "put":  # PUT creates what the path names
            assert "404" in codes, path
        for code in codes - {"200", "204"}:
            assert op["responses"][code]["content"]["application/json"]["schema"]["$ref"] == ref, (path, code)
    assert "409" in doc["paths"]["/admin/reload"]["post"]["responses"]
    assert set(doc["components"]["schemas"]["ErrorDetail"]["required"]) == {"loc", "msg", "type"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_writes_declare_the_bearer_key(doc):
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for method, path, op in _ops(doc):
        if (method, path) in WRITES or path.startswith("/analytics/"):  # the console's tables always need a key
            assert op["security"] == [{"bearer": []}], path
        elif not path.endswith(("livez", "readyz", "healthz", "metrics")):
            assert {} in op["security"], path  # optional: only with protect_reads


def _properties(doc):
    for name, schema in doc["components"]["schemas"].items():
        for prop, p in schema.get("properties", {}).items():
            yield name, prop, p
    for _, path, op in _ops(doc):
        for p in op.get("parameters", []):
            yield path, p["name"], {**p["schema"], "description": p.get("description")}


def test_every_field_is_described_and_every_value_has_an_example(doc):
    for where, prop, p in _properties(doc):
        assert p.get("description"), (where, prop)
        is_container = p.get("type") in ("array", "object") or "$ref" in p or any(
            "$ref" in a or a.get("type") == "array" for a in p.get("anyOf", []))
        if not is_container:
            assert p.get("examples"), (where, prop)


def test_optional_values_are_declared_nullable(doc):
    from serving import schemas, schemas_assistant, schemas_entities, schemas_mentors, schemas_paths, schemas_sessions

    models = {n: getattr(m, n) for m in (schemas, schemas_mentors, schemas_paths, schemas_assistant, schemas_entities,
                                         schemas_sessions)
              for n in m.__all__
              if isinstance(getattr(m, n), type) and hasattr(getattr(m, n), "model_fields")}
    checked = 0
    for name, model in models.items():
        schema = doc["components"]["schemas"].get(name)
        if schema is None:
            continue
        for field, info in model.model_fields.items():
            if type(None) in getattr(info.annotation, "__args__", ()):
                p = schema["properties"][field]
                assert {"type": "null"} in p.get("anyOf", []), (name, field)
                checked += 1
    assert checked >= 10


_ID_FIELDS = {"user_id", "item_id", "skill_id", "mentor_id", "mentee_id", "skills_discussed", "skill", "goal", "freshest_item", "user_ids",
              "goal_skills", "exclude_item_ids", "all_prerequisites", "covered_skills", "partial_skills"}
_LEVELLED = {"skills", "next_skills"}  # skill:level strings


def test_example_ids_exist_in_the_demo_world(doc):
    """``skillpath data synth --seed 7`` has every id the examples use, so they can be tried as they are."""
    from catalog.synth import SynthConfig, generate

    world = generate(SynthConfig(seed=7, days=1)).world  # the same ids as the demo's 365 days
    known = {"user": set(world.mentees), "item": set(world.catalog.items.ids.tolist()),
             "skill": set(world.catalog.skills), "mentor": set(world.mentors)}
    everything = set().union(*known.values())
    seen = 0
    for where, prop, p in _properties(doc):
        values: list[Any] = []
        for ex in p.get("examples") or []:
            values += ex if isinstance(ex, list) else [ex]
        for v in values:
            if not isinstance(v, str):
                continue
            if prop in _LEVELLED:
                for part in re.split(r"[;]", v):
                    assert part.split(":")[0] in known["skill"], (where, prop, v)
                    seen += 1
            elif prop in _ID_FIELDS:
                assert v in everything, (where, prop, v)
                seen += 1
    assert seen >= 20
