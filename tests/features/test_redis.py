"""Redis as the online store: same reads as SQLite, and a soft landing when it dies."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest

from features.store import read_online
from features.tables import MENTEE_ENGAGEMENT, MENTEE_SKILL_STATE, RESOURCE_STATS
from serving.features_adapter import OnlineFeatures
from training.feature_store import materialize, open_store, push_engagement, tables_time_range
from tests.features.conftest import materialised_stores

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="module")
def stores(tmp_path_factory, feast_imported, redis_server, world, events):
    return materialised_stores(tmp_path_factory.mktemp("features-redis"), world, events, redis_server.url)


def _all_keys(frames):
    return {
        MENTEE_ENGAGEMENT: [*sorted(set(frames.mentee_engagement.user_id)), "ghost"],
        MENTEE_SKILL_STATE: [*sorted(set(zip(frames.mentee_skill_state.user_id, frames.mentee_skill_state.skill_id))),
                             ("ghost", "sql")],
        RESOURCE_STATS: [*sorted(set(frames.resource_stats.item_id)), "no-such-item"],
    }


def test_sqlite_and_redis_give_identical_reads(stores):
    for spec, keys in _all_keys(stores.frames).items():
        a, b = read_online(stores.sqlite, spec, keys), read_online(stores.redis, spec, keys)
        assert a == b, spec.name
        assert sum(v is not None for row in a.values() for v in row.values()) > 0   # not trivially empty
    assert read_online(stores.redis, MENTEE_ENGAGEMENT, ["ghost"])["ghost"]["events_7d"] is None


def test_a_push_reaches_both_stores_identically(stores, world, events):
    as_of = stores.hi + pd.Timedelta(hours=1)
    new = pd.DataFrame({"event_id": ["n1"], "user_id": ["u3"], "item_id": ["py-2"], "event_type": ["complete"],
                        "value": [np.nan], "timestamp": [as_of], "source": "test"})
    all_events = pd.concat([events, new], ignore_index=True)
    before = read_online(stores.redis, MENTEE_ENGAGEMENT, ["u3"])["u3"]
    for store in (stores.sqlite, stores.redis):
        push_engagement(store, "u3", all_events, as_of=as_of, catalog=world.catalog)
    a = read_online(stores.sqlite, MENTEE_ENGAGEMENT, ["u3"])
    assert a == read_online(stores.redis, MENTEE_ENGAGEMENT, ["u3"])
    assert a["u3"]["completions_30d"] == before["completions_30d"] + 1


def test_adapter_falls_back_while_redis_is_down_and_recovers(fresh_redis, stores):
    url = fresh_redis.url
    store = open_store(stores.dir, online=url)
    lo, hi = tables_time_range(stores.dir)
    materialize(store, lo, hi, views=[MENTEE_ENGAGEMENT.name])
    expected = read_online(stores.sqlite, MENTEE_ENGAGEMENT, ["u1", "u2"])
    adapter = OnlineFeatures(lambda: open_store(stores.dir, online=url), timeout_s=0.5,
                             failure_threshold=2, cooldown_s=0.3)
    feats, status = adapter.get_mentee_features(["u1", "u2"])
    assert status == "ok" and feats == expected

    results: list[tuple[str, float]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                _, st = adapter.get_mentee_features(["u1", "u2"])
            except BaseException as e:  # the adapter must never raise for a store failure
                errors.append(e)
                return
            results.append((st, time.monotonic() - t0))
            time.sleep(0.01)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    time.sleep(0.2)                          # reads in flight against a live Redis
    n_before = len(results)
    fresh_redis.stop()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and sum(s != "ok" for s, _ in results[n_before:]) < 5:
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    assert not errors
    down = [r for r in results[n_before:] if r[0] != "ok"]
    assert len(down) >= 5
    assert {s for s, _ in down} <= {"unavailable", "timeout"}
    assert max(d for _, d in down) < 3.0     # bounded: deadline 0.5 s, never the socket's hang
    assert adapter.state in ("open", "half-open")

    fresh_redis.start()                      # back, but empty (no persistence): reload it
    materialize(open_store(stores.dir, online=url), lo, hi, views=[MENTEE_ENGAGEMENT.name])
    deadline = time.monotonic() + 20
    status = None
    while time.monotonic() < deadline:
        feats, status = adapter.get_mentee_features(["u1", "u2"])
        if status == "ok":
            break
        time.sleep(0.1)
    assert status == "ok" and feats == expected
    assert adapter.state == "closed"
    adapter.close()
