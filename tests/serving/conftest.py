"""Fixtures for the service tests: a served world built once, copied per test, one ASGI app.

BentoML registers Prometheus metrics when it builds an ASGI app, so a process may build
``SkillPathService.to_asgi()`` only once: the app is session-scoped, and each test's
``TestClient`` (inside ``with``) starts a fresh service instance that reads the
environment the test set.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving.world import Served, make_served

API_KEY = "test-key-0123456789"


@pytest.fixture(scope="session")
def served_base(tmp_path_factory) -> Served:
    return make_served(tmp_path_factory.mktemp("served"))


@pytest.fixture
def served(served_base: Served, tmp_path: Path) -> Served:
    """A private copy of the served world (tests append events and swap models)."""
    root = tmp_path / "data"
    shutil.copytree(served_base.root, root)
    return Served(root, root / "models" / "als", served_base.sha256, served_base.world, served_base.user_block,
                  served_base.item_block)


@pytest.fixture(scope="session")
def asgi_app():
    from serving.service import SkillPathService

    return SkillPathService.to_asgi()


@pytest.fixture
def roles_client_of(asgi_app, service_env, monkeypatch):
    """``roles_client_of(keys)`` opens a client on a service whose API keys are ``keys`` plus a mentor key
    ``mk-<id>`` for every mentor of the world, as the role tests sign in; each is closed at teardown."""
    from contextlib import ExitStack

    from starlette.testclient import TestClient

    with ExitStack() as stack:
        def open_client(keys: str) -> TestClient:
            mentor_keys = ",".join(f"mk-{m}:mentor:{m}" for m in service_env.world.mentors)
            monkeypatch.setenv("SKILLPATH_API_KEYS", f"{keys},{mentor_keys}")
            return stack.enter_context(TestClient(asgi_app, raise_server_exceptions=False))
        yield open_client


@pytest.fixture
def service_env(served: Served, monkeypatch) -> Served:
    monkeypatch.setenv("SKILLPATH_DATA_DIR", str(served.root))
    monkeypatch.setenv("SKILLPATH_MODEL_DIR", str(served.model_dir))
    monkeypatch.setenv("SKILLPATH_API_KEYS", API_KEY)
    monkeypatch.delenv("SKILLPATH_CONFIG", raising=False)
    monkeypatch.delenv("SKILLPATH_PROTECT_READS", raising=False)
    return served


@pytest.fixture
def client(asgi_app, service_env) -> Iterator:
    from starlette.testclient import TestClient

    with TestClient(asgi_app, raise_server_exceptions=False) as c:
        c.headers.update({"authorization": f"Bearer {API_KEY}"})
        yield c
