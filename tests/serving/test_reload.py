"""Model reloads: a verified new model swaps in; a bad one changes nothing and says why."""

from __future__ import annotations

import json
import shutil

from catalog.eventlog import EventLog
from tests.serving.world import train_model


def _version(client) -> str:
    return client.post("/recommend", json={"user_id": "u000"}).json()["model_version"]


def test_reload_swaps_in_a_new_model(client, service_env):
    old = _version(client)
    assert client.post("/admin/reload").json()["changed"] is False
    with EventLog(service_env.root / "events.db") as log:
        events = log.read()
    new_dir = service_env.root / "models" / "als-2"
    sha = train_model(service_env.world, events, new_dir, factors=6, seed=1)
    shutil.rmtree(service_env.model_dir)
    new_dir.rename(service_env.model_dir)
    r = client.post("/admin/reload")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {"changed": True, "model_version": f"local:{sha[:12]}", "previous_version": old, "sha256": sha}
    assert _version(client) == body["model_version"]


def test_failed_reload_keeps_the_old_model(client, service_env):
    old = _version(client)
    manifest = service_env.model_dir / "model.json"
    data = json.loads(manifest.read_text())
    data["arrays_sha256"] = "0" * 64  # tampered: the arrays no longer match
    manifest.write_text(json.dumps(data))
    r = client.post("/admin/reload")
    assert r.status_code == 409
    assert "sha256" in r.json()["error"] and "does not match" in r.json()["error"]
    assert _version(client) == old
    assert client.post("/recommend", json={"user_id": "u000"}).status_code == 200


def test_reload_aligns_a_model_trained_on_another_catalog(client, service_env):
    """A model never breaks on a catalog change: the item it never saw is scored cold, by its content."""
    old = _version(client)
    with EventLog(service_env.root / "events.db") as log:
        events = log.read()
    world = service_env.world
    from catalog.catalog import World

    fewer = World.build(list(world.catalog.skills.values()), world.catalog.resources[:-1],
                        list(world.mentees.values()))
    events = events[events["item_id"].isin(fewer.catalog.items.ids.tolist())]
    shutil.rmtree(service_env.model_dir)
    train_model(fewer, events, service_env.model_dir)
    r = client.post("/admin/reload")
    assert r.status_code == 200 and r.json()["changed"], r.text
    assert _version(client) != old
    unseen = world.catalog.resources[-1]
    skill = unseen.skills[0].skill_id
    rec = client.post("/recommend", json={"user_id": "u000", "k": 100, "goal_skills": [skill], "mode": "model"})
    assert rec.status_code == 200 and unseen.item_id in [i["item_id"] for i in rec.json()["items"]]


def test_not_ready_without_a_model(asgi_app, service_env, monkeypatch, tmp_path):
    from starlette.testclient import TestClient

    monkeypatch.setenv("SKILLPATH_MODEL_DIR", str(tmp_path / "missing"))
    with TestClient(asgi_app, raise_server_exceptions=False) as c:
        assert c.get("/readyz").status_code == 503
        r = c.post("/recommend", json={"user_id": "u000"})
        assert r.status_code == 503 and "no model" in r.json()["error"]
        assert c.get("/livez").status_code == 200
