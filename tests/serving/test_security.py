"""Keys, body limits and content types, in front of every route."""

from __future__ import annotations

import pytest

from serving.security import check_key
from tests.serving.conftest import API_KEY

EVENT = {"events": [{"event_id": "s-1", "user_id": "u000", "item_id": "b0-i08", "event_type": "view",
                     "timestamp": "2026-01-01T00:00:00Z"}]}


def test_writes_need_a_valid_key(client, service_env):
    for headers in ({"authorization": ""}, {"authorization": "Bearer wrong"}, {"authorization": API_KEY}):
        r = client.post("/events", json=EVENT, headers=headers)
        assert r.status_code == 401, r.text
        assert API_KEY not in r.text and "wrong" not in r.text
        assert r.json()["detail"][0]["loc"] == ["header", "authorization"]
    assert client.post("/admin/reload", headers={"authorization": "Bearer nope"}).status_code == 401
    assert client.post("/events", json=EVENT).status_code == 200  # the fixture's client sends the key


def test_reads_are_open_unless_protected(asgi_app, service_env, monkeypatch):
    from starlette.testclient import TestClient

    with TestClient(asgi_app, raise_server_exceptions=False) as c:
        assert c.post("/recommend", json={"user_id": "u000"}).status_code == 200
    monkeypatch.setenv("SKILLPATH_PROTECT_READS", "true")
    with TestClient(asgi_app, raise_server_exceptions=False) as c:
        assert c.post("/recommend", json={"user_id": "u000"}).status_code == 401
        assert c.get("/items/b0-i01/similar").status_code == 401
        assert c.get("/readyz").status_code == 200  # health stays open
        ok = c.post("/recommend", json={"user_id": "u000"}, headers={"authorization": f"Bearer {API_KEY}"})
        assert ok.status_code == 200


def test_no_configured_key_closes_writes(asgi_app, service_env, monkeypatch):
    from starlette.testclient import TestClient

    monkeypatch.delenv("SKILLPATH_API_KEYS")
    with TestClient(asgi_app, raise_server_exceptions=False) as c:
        r = c.post("/events", json=EVENT, headers={"authorization": "Bearer anything"})
        assert r.status_code == 401 and "SKILLPATH_API_KEYS" in r.json()["error"]


def test_oversized_bodies_are_413(client, service_env):
    big = b'{"user_id": "u000", "pad": "' + b"x" * (1 << 20) + b'"}'
    r = client.post("/recommend", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413

    def chunks():  # streamed, no content-length
        yield b'{"user_id": "u000", "pad": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    r = client.post("/recommend", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_json_only(client, service_env):
    r = client.post("/recommend", content=b"user_id=u000", headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and "application/json" in r.json()["error"]


@pytest.mark.parametrize(("header", "ok"), [("Bearer k1", True), ("bearer k2", True), ("Bearer k3", False),
                                             ("Basic k1", False), ("", False)])
def test_check_key(header, ok):
    assert (check_key(header, ("k1", "k2")) is None) == ok
