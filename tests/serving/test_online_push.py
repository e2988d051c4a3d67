"""POST /events pushes the mentee's engagement features to a real SQLite online store at once.

The served world's events are turned into feature tables, registered and materialised
once per module (Feast costs seconds); then the service runs with online features on.
"""

from __future__ import annotations

import shutil
import socket
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.serving.conftest import API_KEY

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def feature_dir(served_base, tmp_path_factory) -> Path:
    from catalog.eventlog import EventLog
    from training.feature_store import apply, materialize, open_store, tables_time_range
    from training.features import compute_feature_frames, write_feature_frames

    root = tmp_path_factory.mktemp("online") / "data"
    shutil.copytree(served_base.root, root)
    with EventLog(root / "events.db") as log:
        events = log.read()
    write_feature_frames(compute_feature_frames(events, served_base.world), root)
    store = open_store(root, online="sqlite")
    apply(store)
    materialize(store, *tables_time_range(root))
    return root


def _client(asgi_app, monkeypatch, root: Path, online_store: str | None = None):
    from starlette.testclient import TestClient

    monkeypatch.setenv("SKILLPATH_DATA_DIR", str(root))
    monkeypatch.setenv("SKILLPATH_MODEL_DIR", str(root / "models" / "als"))
    monkeypatch.setenv("SKILLPATH_API_KEYS", API_KEY)
    monkeypatch.setenv("SKILLPATH_ONLINE_FEATURES", "1")
    monkeypatch.delenv("SKILLPATH_CONFIG", raising=False)
    monkeypatch.delenv("SKILLPATH_PROTECT_READS", raising=False)
    if online_store is None:
        monkeypatch.delenv("SKILLPATH_ONLINE_STORE", raising=False)
    else:
        monkeypatch.setenv("SKILLPATH_ONLINE_STORE", online_store)
    c = TestClient(asgi_app, raise_server_exceptions=False)
    c.headers.update({"authorization": f"Bearer {API_KEY}"})
    return c


def _core():
    from serving.api import api

    return api.state.core


def _online(root: Path, user: str) -> dict:
    from features.store import open_store, read_online
    from features.tables import MENTEE_ENGAGEMENT

    return read_online(open_store(root, online="sqlite"), MENTEE_ENGAGEMENT, [user])[user]


def _brute_force(root: Path, user: str) -> dict:
    """Counts over the user's events in the log for the windows ending now."""
    import pandas as pd

    from catalog.eventlog import EventLog
    from features.engagement import ACTIVITY_TYPES

    with EventLog(root / "events.db") as log:
        ev = log.user_events(user)
    now = pd.Timestamp.now(tz="UTC")
    act = ev[ev["event_type"].isin(ACTIVITY_TYPES)]
    done = act[act["event_type"] == "complete"]
    return {"completions_7d": int((done["timestamp"] >= now - pd.Timedelta(days=7)).sum()),
            "completions_30d": int((done["timestamp"] >= now - pd.Timedelta(days=30)).sum()),
            "events_7d": int((act["timestamp"] >= now - pd.Timedelta(days=7)).sum())}


def _body(user: str, items: list[str], prefix: str) -> dict:
    now = datetime.now(timezone.utc).isoformat()
    return {"events": [{"event_id": f"{prefix}-{n}", "user_id": user, "item_id": item, "event_type": "complete",
                        "timestamp": now} for n, item in enumerate(items)]}


def test_events_update_online_engagement_at_once(asgi_app, feature_dir, monkeypatch):
    user = "u005"
    before = _online(feature_dir, user)
    assert before["completions_30d"] is not None  # materialised from the log
    with _client(asgi_app, monkeypatch, feature_dir) as c:
        body = _body(user, ["b1-i07", "b1-i08"], "push")
        r = c.post("/events", json=body)
        assert r.status_code == 200, r.text
        assert r.json() == {"accepted": 2, "duplicates": 0, "online_features": "queued"}
        assert _core().sync.flush(30)  # pushed in the background, off the request path
        after = _online(feature_dir, user)
        assert after != before
        expected = _brute_force(feature_dir, user)
        assert after["completions_7d"] == expected["completions_7d"] >= 2
        assert after["completions_30d"] == expected["completions_30d"]
        assert after["events_7d"] == expected["events_7d"]
        assert after["days_since_last_activity"] == pytest.approx(0.0, abs=0.01)
        # a replay stores nothing new, so there is nothing to push
        again = c.post("/events", json=body).json()
        assert again == {"accepted": 0, "duplicates": 2, "online_features": "unchanged"}
        # /recommend reads the same store within its deadline
        assert c.post("/recommend", json={"user_id": user, "k": 3}).json()["online_features"] in ("ok", "timeout")


def test_a_dead_store_never_fails_events(asgi_app, feature_dir, monkeypatch):
    from catalog.eventlog import EventLog

    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dead = f"redis://127.0.0.1:{port}/0?socket_timeout=0.1&socket_connect_timeout=0.1"
    with _client(asgi_app, monkeypatch, feature_dir, online_store=dead) as c:
        r = c.post("/events", json=_body("u006", ["b2-i07"], "dead"))
        assert r.status_code == 200, r.text
        assert r.json() == {"accepted": 1, "duplicates": 0, "online_features": "queued"}
    with EventLog(feature_dir / "events.db") as log:
        assert "dead-0" in set(log.user_events("u006")["event_id"])


def test_online_features_off_by_default(client, service_env):
    r = client.post("/events", json=_body("u007", ["b3-i07"], "off"))
    assert r.status_code == 200 and r.json()["online_features"] == "off"


def test_a_full_push_queue_drops_and_counts():
    from serving.online_sync import OnlineSync

    class Stuck:  # a store that never answers: nothing leaves the queue
        def push(self, *a):
            return "timeout"

        def get_mentee_features(self, ids):
            return {}, "timeout"

    import pandas as pd

    sync = OnlineSync(Stuck(), rows_for=lambda users: pd.DataFrame({"user_id": users}), users=list,
                      now=lambda: datetime.now(timezone.utc), max_pending=3, check_interval_s=0.05)
    try:
        assert sync.submit(["a", "b"]) == "queued"
        assert sync.submit(["c", "d"]) == "dropped"
        assert sync.counts["dropped"] == 2
        assert sync.gauges()["skillpath_online_push_dropped"][1] == 2
    finally:
        sync.close()


def test_pushes_gather_into_batches_and_flush_does_not_wait_for_the_linger():
    """Rows cost the same for one mentee as for twenty: single events arriving together share a push."""
    import time

    import pandas as pd

    from serving.online_sync import OnlineSync

    class Recorder:
        def __init__(self):
            self.batches = []

        def push(self, source, rows):
            self.batches.append(list(rows["user_id"]))
            return "ok"

        def get_mentee_features(self, ids):
            return {}, "timeout"

    rec = Recorder()
    sync = OnlineSync(rec, rows_for=lambda users: pd.DataFrame({"user_id": users}), users=list,
                      now=lambda: datetime.now(timezone.utc), check_interval_s=30, linger_s=0.3)
    try:
        for i in range(10):
            assert sync.submit([f"u{i}"]) == "queued"
            time.sleep(0.005)
        assert sync.flush(5.0)
        assert sorted(u for b in rec.batches for u in b) == [f"u{i}" for i in range(10)]
        assert len(rec.batches) <= 2  # not one push per event
        sync.submit(["late"])
        t0 = time.monotonic()
        assert sync.flush(5.0) and time.monotonic() - t0 < 0.25  # flush cuts the linger short
        assert rec.batches[-1] == ["late"]
        assert sync.gauges()["skillpath_online_sync_cpu_seconds"][1] > 0
    finally:
        sync.close()


@pytest.mark.integration
def test_redis_restarted_empty_is_rebuilt_in_the_background(asgi_app, feature_dir, monkeypatch):
    import time

    from features.store import open_store, read_online
    from features.tables import MENTEE_ENGAGEMENT
    from serving.online_sync import SENTINEL
    from tests.features.redis_server import RedisServer
    from training.feature_store import apply

    with RedisServer() as redis:
        url = f"{redis.url}/0?socket_timeout=0.5&socket_connect_timeout=0.5"
        apply(open_store(feature_dir, online=url))

        def engagement(user: str) -> dict:
            return read_online(open_store(feature_dir, online=url), MENTEE_ENGAGEMENT, [user])[user]

        def wait_rebuilt(c, deadline_s: float = 90) -> None:
            deadline = time.monotonic() + deadline_s
            while time.monotonic() < deadline:
                if _core().sync.counts["rebuilds"] >= rebuilds + 1 and not _core().sync.rebuilding:
                    return
                time.sleep(0.2)
            raise AssertionError("online store not rebuilt")

        with _client(asgi_app, monkeypatch, feature_dir, online_store=url) as c:
            rebuilds = 0
            wait_rebuilt(c)  # an empty store at start is rebuilt too
            assert engagement("u005")["events_30d"] is not None and engagement(SENTINEL)["events_7d"] == 0
            redis.stop()
            redis.start()  # back, empty: no persistence
            assert engagement("u005")["events_30d"] is None
            rebuilds = _core().sync.counts["rebuilds"]
            seen = set()
            deadline = time.monotonic() + 90
            while _core().sync.counts["rebuilds"] <= rebuilds and time.monotonic() < deadline:
                r = c.post("/recommend", json={"user_id": "u005", "k": 3})
                assert r.status_code == 200
                seen.add(r.json()["online_features"])
                time.sleep(0.05)
            assert _core().sync.counts["rebuilds"] == rebuilds + 1, seen
            assert engagement("u005")["events_30d"] is not None  # rebuilt without anyone re-materialising
            assert c.post("/recommend", json={"user_id": "u005", "k": 3}).json()["online_features"] == "ok"
