"""Fixtures for the feature-store tests: a small world, deterministic events, Redis.

Feast costs seconds to import, so it is imported once per session (``feast_imported``)
and each module applies and materialises once (module-scoped fixtures).
"""

from __future__ import annotations

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
