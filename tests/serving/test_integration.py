"""The real server: `python -m bentoml serve` with two workers on a free loopback port.

Registers a model in an embedded MLflow store, starts the service in a new session,
and checks readiness, adaptation to events, 4xx on bad requests, an assistant conversation
continued across workers, and a champion swap
under continuous traffic with zero failed requests. The whole process group is killed
at the end, whatever happens.
"""

from __future__ import annotations

import subprocess
import threading
import time
from datetime import datetime, timezone

import httpx
import pytest

from catalog.eventlog import EventLog
from training.tracking import embedded_uri
from skillpath_cli.serve import serve_command
from tests.serving.conftest import API_KEY
from tests.serving.live import free_port as _free_port
from tests.serving.live import stop_group
from tests.serving.live import wait_ready as _wait_ready
from tests.serving.mlflow_registry import register
from tests.serving.world import train_model

pytestmark = pytest.mark.integration


def test_real_server(served, tmp_path):
    uri = embedded_uri(served.root)
    artifacts = served.root / "mlflow" / "artifacts"
    (served.root / "mlflow").mkdir()
    v1 = register(uri, artifacts, served.model_dir, served.sha256)
    config = tmp_path / "skillpath.yaml"
    config.write_text("serving:\n  reload_interval_s: 1\n")
    port = _free_port()
    argv, env = serve_command(served.root, host="127.0.0.1", port=port, workers=2, model_dir=None)
    env.pop("SKILLPATH_MODEL_DIR", None)
    env.update(SKILLPATH_API_KEYS=API_KEY, SKILLPATH_CONFIG=str(config))
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    auth = {"authorization": f"Bearer {API_KEY}"}
    try:
        _wait_ready(base, proc, log_path)
        with httpx.Client(base_url=base, timeout=30) as c:
            first = c.post("/recommend", json={"user_id": "u001", "k": 10}).json()
            assert first["model_version"] == v1 and len(first["items"]) == 10
            top = first["items"][0]["item_id"]
            now = datetime.now(timezone.utc).isoformat()
            ev = {"events": [{"event_id": "it-1", "user_id": "u001", "item_id": top, "event_type": "complete",
                              "timestamp": now}]}
            assert c.post("/events", json=ev, headers=auth).json() == {"accepted": 1, "duplicates": 0, "online_features": "off"}
            # whichever worker answers, the completion is reflected (the log is shared)
            for _ in range(6):
                got = [i["item_id"] for i in c.post("/recommend", json={"user_id": "u001"}).json()["items"]]
                assert top not in got
            assert c.post("/events", json=ev).status_code == 401
            assert c.post("/recommend", content=b"{", headers={"content-type": "application/json"}).status_code == 400
            assert c.post("/recommend", json={"user_id": "u001", "k": 1000}).status_code == 400
            big = b'{"user_id": "' + b"x" * (2 << 20) + b'"}'
            assert c.post("/recommend", content=big, headers={"content-type": "application/json"}).status_code == 413
            assert c.get("/items/nope/similar").status_code == 404
            # the virtual mentor: a conversation continues whichever worker gets the next message
            said = c.post("/assistant", json={"user_id": "u003", "message": "find me resources on Block 2"}).json()
            cid = said["conversation_id"]
            for _ in range(4):
                more = c.post("/assistant", json={"user_id": "u003", "message": "what about videos?",
                                                  "conversation_id": cid})
                assert more.status_code == 200, more.text
                assert more.json()["entities"]["skills"] == ["block2"] and more.json()["entities"]["types"] == ["video"]
            assert c.post("/assistant", json={"user_id": "u003", "message": ""}).status_code == 400
            # the one OpenAPI document and its page are ours, not BentoML's generic ones
            doc = c.get("/openapi.json").json()
            assert doc["info"]["title"] == "SkillPath" and "/recommend" in doc["paths"] and "/livez" in doc["paths"]
            page = c.get("/docs")
            assert page.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in page.text
            assert c.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
            assert c.get("/").headers["location"] == "/docs" and c.get("/docs.json").headers["location"] == "/openapi.json"
            metrics = c.get("/metrics")
            assert metrics.status_code == 200
            # BentoML's request metrics wrap the mounted FastAPI app: every route is counted
            ok = [float(line.rsplit(" ", 1)[1]) for line in metrics.text.splitlines()
                  if line.startswith("bentoml_service_request_total{") and 'endpoint="/recommend"' in line
                  and 'http_response_code="200"' in line]
            assert ok == [7.0], metrics.text[:3000]  # the seven answered above

            # a new champion under continuous traffic
            failures, versions, stop = [], set(), threading.Event()

            def traffic() -> None:
                with httpx.Client(base_url=base, timeout=30) as t:
                    while not stop.is_set():
                        r = t.post("/recommend", json={"user_id": "u002", "k": 5})
                        if r.status_code != 200:
                            failures.append((r.status_code, r.text))
                        else:
                            versions.add(r.json()["model_version"])

            worker = threading.Thread(target=traffic)
            worker.start()
            try:
                with EventLog(served.root / "events.db") as log:
                    events = log.read()
                v2_dir = tmp_path / "als-v2"
                sha2 = train_model(served.world, events, v2_dir, factors=6, seed=5)
                v2 = register(uri, artifacts, v2_dir, sha2)
                r = c.post("/admin/reload", headers=auth)
                assert r.status_code == 200, r.text
                deadline = time.monotonic() + 60
                seen: set[str] = set()
                while time.monotonic() < deadline:  # the other worker's timer picks it up too
                    seen = {c.post("/recommend", json={"user_id": "u003"}).json()["model_version"] for _ in range(6)}
                    if seen == {v2}:
                        break
                    time.sleep(0.5)
                assert seen == {v2}
                settle = time.monotonic() + 30  # let the traffic thread see the new version too
                while v2 not in versions and time.monotonic() < settle and worker.is_alive():
                    time.sleep(0.2)
            finally:
                stop.set()
                worker.join(30)
            assert not failures, failures[:3]
            assert v2 in versions
    finally:
        stop_group(proc)
