"""The online-feature adapter's deadline and circuit breaker, on fake stores (no Feast)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from features.tables import MENTEE_ENGAGEMENT
from serving.features_adapter import OnlineFeatures


class _Response:
    def __init__(self, data):
        self._data = data

    def to_dict(self):
        return self._data


class FakeStore:
    """Answers every requested mentee with events_7d = len(user id); can be slowed or broken."""

    def __init__(self) -> None:
        self.delay_s = 0.0
        self.broken = False
        self.calls = 0
        self.release = threading.Event()

    def get_online_features(self, features, entity_rows):
        self.calls += 1
        if self.delay_s:
            self.release.wait(self.delay_s)
        if self.broken:
            raise ConnectionError("store down")
        ids = [r["user_id"] for r in entity_rows]
        data = {"user_id": ids}
        for ref in features:
            name = ref.split(":")[1]
            data[name] = [len(u) if name == "events_7d" and u != "ghost" else None for u in ids]
        return _Response(data)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store():
    s = FakeStore()
    yield s
    s.release.set()


def test_ok_read_maps_every_mentee_including_unknown_ones(store):
    with OnlineFeatures(lambda: store, timeout_s=1.0) as of:
        feats, status = of.get_mentee_features(["u1", "u22", "ghost", "u1"])
    assert status == "ok"
    assert set(feats) == {"u1", "u22", "ghost"}
    assert feats["u22"]["events_7d"] == 3 and feats["ghost"]["events_7d"] is None
    assert set(feats["u1"]) == set(MENTEE_ENGAGEMENT.feature_names)


def test_slow_store_times_out_within_the_deadline(store):
    store.delay_s = 5.0
    with OnlineFeatures(lambda: store, timeout_s=0.05, failure_threshold=10) as of:
        t0 = time.monotonic()
        feats, status = of.get_mentee_features(["u1"])
        elapsed = time.monotonic() - t0
    assert (feats, status) == ({}, "timeout")
    assert elapsed < 2.0  # bounded: the caller is not held for the store's 5 s


def test_breaker_opens_after_failures_then_recovers_after_cooldown(store):
    clock = Clock()
    store.broken = True
    of = OnlineFeatures(lambda: store, timeout_s=1.0, failure_threshold=2, cooldown_s=10.0, clock=clock)
    assert of.get_mentee_features(["u1"])[1] == "unavailable"
    assert of.get_mentee_features(["u1"])[1] == "unavailable"
    assert of.state == "open"
    calls = store.calls
    assert of.get_mentee_features(["u1"]) == ({}, "unavailable")
    assert store.calls == calls                               # open: the store is left alone
    store.broken = False
    clock.now += 10.5
    assert of.state == "half-open"
    feats, status = of.get_mentee_features(["u1"])
    assert status == "ok" and feats["u1"]["events_7d"] == 2
    assert of.state == "closed" and of.counts == {"ok": 1, "timeout": 0, "unavailable": 3}
    of.close()


def test_failed_trial_reopens_the_breaker(store):
    clock = Clock()
    store.broken = True
    of = OnlineFeatures(lambda: store, timeout_s=1.0, failure_threshold=1, cooldown_s=5.0, clock=clock)
    of.get_mentee_features(["u1"])
    clock.now += 6
    assert of.get_mentee_features(["u1"])[1] == "unavailable"  # the trial failed
    assert of.state == "open"
    of.close()


def test_a_store_that_cannot_be_created_is_unavailable_and_retried():
    attempts = []

    def factory():
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("cannot open")
        return FakeStore()

    with OnlineFeatures(factory, timeout_s=1.0, failure_threshold=5) as of:
        assert of.get_mentee_features(["u1"])[1] == "unavailable"
        assert of.get_mentee_features(["u1"])[1] == "ok"
    assert len(attempts) == 2


def test_saturated_workers_answer_at_once_instead_of_queueing(store):
    store.delay_s = 5.0
    with OnlineFeatures(lambda: store, timeout_s=0.05, max_workers=1, failure_threshold=100) as of:
        assert of.get_mentee_features(["u1"])[1] == "timeout"   # still running in the worker
        assert of.get_mentee_features(["u2"])[1] == "timeout"   # not queued behind it
    assert store.calls == 1


def test_empty_request_and_bad_parameters():
    with OnlineFeatures(lambda: FakeStore()) as of:
        assert of.get_mentee_features([]) == ({}, "ok")
    with pytest.raises(ValueError):
        OnlineFeatures(lambda: None, timeout_s=0)


def test_importing_the_adapter_does_not_import_feast():
    code = "import sys, serving.features_adapter; sys.exit(1 if 'feast' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_status_reports_the_last_call_and_the_breaker_without_reading(store):
    clock = Clock()
    with OnlineFeatures(lambda: store, timeout_s=1.0, failure_threshold=1, cooldown_s=10, clock=clock) as of:
        assert of.status == "ok" and store.calls == 0  # nothing seen yet, nothing read
        of.get_mentee_features(["u1"])
        store.broken = True
        of.get_mentee_features(["u1"])  # fails: the breaker opens
        calls = store.calls
        assert of.status == "unavailable" and of.status == "unavailable" and store.calls == calls
        store.broken = False
        clock.now += 11  # cooldown over: still the last call's status until a call succeeds
        assert of.status == "unavailable" and store.calls == calls
        of.get_mentee_features(["u1"])
        assert of.status == "ok" and store.calls == calls + 1
