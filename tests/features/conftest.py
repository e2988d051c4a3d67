"""Fixtures for the feature-store tests: a small world, deterministic events, Redis.

Feast costs seconds to import, so it is imported once per session (``feast_imported``)
and each module applies and materialises once (module-scoped fixtures).
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from catalog.catalog import World
from tests.features.data import make_events, make_world
from tests.features.redis_server import RedisServer


@pytest.fixture(scope="session")
def feast_imported():
    """Import feast once per session (it costs seconds)."""
    import feast  # noqa: F401

    return feast


@pytest.fixture(scope="session")
def world() -> World:
    return make_world()


@pytest.fixture(scope="session")
def events() -> pd.DataFrame:
    return make_events()


def _start_redis() -> RedisServer:
    try:
        return RedisServer().start()
    except RuntimeError as e:  # not a skip: CI must have redis-server (`make redis`)
        pytest.fail(str(e))


@pytest.fixture(scope="module")
def redis_server():
    """A redis-server on a free loopback port for the whole module."""
    server = _start_redis()
    yield server
    server.close()


@pytest.fixture
def fresh_redis():
    """A redis-server of its own, for tests that stop and restart it."""
    server = _start_redis()
    yield server
    server.close()


def materialised_stores(d, world, events, redis_url: str) -> SimpleNamespace:
    """The feature tables of ``events`` written to ``d`` and materialised into a SQLite and a Redis
    online store (what the Redis and forgetting tests start from)."""
    from training.feature_store import apply, materialize, open_store, tables_time_range
    from training.features import compute_feature_frames, write_feature_frames

    frames = compute_feature_frames(events, world)
    write_feature_frames(frames, d)
    lo, hi = tables_time_range(d)
    sqlite, redis = open_store(d, online="sqlite"), open_store(d, online=redis_url)
    for store in (sqlite, redis):
        apply(store)
        materialize(store, lo, hi)
    return SimpleNamespace(dir=d, sqlite=sqlite, redis=redis, frames=frames, hi=hi, url=redis_url)
