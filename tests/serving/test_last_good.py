"""Start on the last good model: a champion whose artifact fails its checksum does not take the service down.

Regression tests for issue #16: a corrupt champion made the next start a full outage
although the previous version verified; a corrupt registry-cache entry stuck until the
folder was deleted; the 409 body showed absolute server paths.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from catalog.errors import IntegrityError
from catalog.eventlog import EventLog
from training.registry import MlflowModelSource
from training.tracking import embedded_uri
from tests.serving.conftest import API_KEY
from tests.serving.mlflow_registry import register
from tests.serving.world import train_model


def _artifact_dir(uri: str, version: str) -> Path:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    src = client.get_model_version_download_uri("skillpath-recommender", version)
    return Path(src.removeprefix("file://"))


def _corrupt(model_dir: Path) -> None:
    arrays = model_dir / "arrays.npz"
    data = bytearray(arrays.read_bytes())
    data[len(data) // 2] ^= 0xFF
    arrays.write_bytes(bytes(data))


def _two_versions(served) -> tuple[str, str, str]:
    uri = embedded_uri(served.root)
    (served.root / "mlflow").mkdir()
    artifacts = served.root / "mlflow" / "artifacts"
    v1 = register(uri, artifacts, served.model_dir, served.sha256)
    with EventLog(served.root / "events.db") as log:
        events = log.read()
    other = served.root / "models" / "als-2"
    v2 = register(uri, artifacts, other, train_model(served.world, events, other, factors=6, seed=1))
    return uri, v1, v2


def test_cache_is_keyed_by_content_hash_and_a_corrupt_entry_is_fetched_again(served):
    uri = embedded_uri(served.root)
    (served.root / "mlflow").mkdir()
    register(uri, served.root / "mlflow" / "artifacts", served.model_dir, served.sha256)
    cache = served.root / "models" / "registry-cache"
    source = MlflowModelSource(uri, cache_dir=cache)
    assert source.load().sha256 == served.sha256
    assert [p.name for p in cache.iterdir() if not p.name.startswith(".")] == [served.sha256]
    cached = next((cache / served.sha256).rglob("arrays.npz")).parent
    _corrupt(cached)
    assert source.load().sha256 == served.sha256  # re-verified, fetched afresh: the corrupt copy did not stick
    assert source.load().version == "1"


def test_a_corrupt_source_is_refused_without_keeping_its_copy(served):
    uri, _, v2 = _two_versions(served)
    cache = served.root / "models" / "registry-cache"
    source = MlflowModelSource(uri, cache_dir=cache)
    _corrupt(_artifact_dir(uri, v2))
    with pytest.raises(IntegrityError, match=f"version {v2} does not verify") as e:
        source.load()
    assert str(served.root) not in str(e.value)
    assert not any(cache.iterdir())
    fallback = source.load_last_good(e.value)
    assert (fallback.version, fallback.champion) == ("1", v2)
    assert "does not verify" in (fallback.fallback_reason or "")


def test_service_starts_on_the_last_good_version_and_retries_the_champion(asgi_app, service_env, monkeypatch):
    from starlette.testclient import TestClient

    uri, v1, v2 = _two_versions(service_env)
    good = service_env.root / "good-copy"
    champion_dir = _artifact_dir(uri, v2)
    shutil.copytree(champion_dir, good)
    _corrupt(champion_dir)
    monkeypatch.delenv("SKILLPATH_MODEL_DIR")
    with TestClient(asgi_app, raise_server_exceptions=False) as c:
        c.headers.update({"authorization": f"Bearer {API_KEY}"})
        ready = c.get("/readyz")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert (body["model_version"], body["champion_version"]) == (v1, v2)
        assert "does not verify" in body["fallback_reason"]
        r = c.post("/recommend", json={"user_id": "u000"})
        assert r.status_code == 200 and r.json()["model_version"] == v1
        r = c.post("/admin/reload")  # the champion is tried again, still refused, nothing changes
        assert r.status_code == 409 and "does not verify" in r.json()["error"]
        assert "/" + service_env.root.parts[1] not in r.text  # no absolute server path in the body
        assert c.post("/recommend", json={"user_id": "u000"}).json()["model_version"] == v1
        shutil.rmtree(champion_dir)
        shutil.copytree(good, champion_dir)  # the source is fixed
        r = c.post("/admin/reload")
        assert r.status_code == 200 and r.json()["model_version"] == v2, r.text
        body = c.get("/readyz").json()
        assert (body["model_version"], body["champion_version"], body["fallback_reason"]) == (v2, v2, None)


def test_metrics_text_reports_the_fallback():
    from serving.health import metrics_text

    text = metrics_text({"ready": True, "model_version": "1", "champion_version": "2"}, {"x_depth": ("d", 3)})
    assert 'skillpath_model_fallback{serving="1",champion="2"} 1.0' in text and "x_depth 3.0" in text
    assert 'skillpath_model_fallback{serving="2",champion="2"} 0.0' in metrics_text(
        {"ready": True, "model_version": "2", "champion_version": "2"})
    assert "skillpath_model_ready 0.0" in metrics_text(None)
