"""Choosing the online store by configuration alone (no Feast import needed)."""

from __future__ import annotations

import pytest

from catalog.errors import ConfigError
from catalog.settings import load_settings
from features.store import online_store_config, repo_config_dict


def test_sqlite_is_the_default_and_lives_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("SKILLPATH_ONLINE_STORE", raising=False)
    cfg = online_store_config(None, tmp_path)
    assert cfg == {"type": "sqlite", "path": str(tmp_path.resolve() / "features" / "online.db")}
    full = repo_config_dict(tmp_path)
    assert full["project"] == "skillpath" and full["offline_store"] == {"type": "duckdb"}
    assert full["registry"]["path"] == str(tmp_path.resolve() / "features" / "registry.db")


def test_environment_switches_to_redis_with_socket_timeouts(tmp_path, monkeypatch):
    # the variable reaches the store through the settings (the one reader of SKILLPATH_*)
    monkeypatch.setenv("SKILLPATH_ONLINE_STORE", "redis://127.0.0.1:6390")
    cfg = online_store_config(load_settings().features.online_store, tmp_path)
    assert cfg["type"] == "redis"
    assert cfg["connection_string"] == "127.0.0.1:6390,socket_connect_timeout=0.25,socket_timeout=0.25"
    assert online_store_config("sqlite", tmp_path)["type"] == "sqlite"      # the argument wins


def test_redis_url_parts_become_connection_parameters(tmp_path):
    cs = online_store_config("redis://:s3cret@cache.local:7000/2?socket_timeout=0.1", tmp_path)["connection_string"]
    assert cs.startswith("cache.local:7000,")
    assert set(cs.split(",")[1:]) == {"db=2", "password=s3cret", "socket_timeout=0.1", "socket_connect_timeout=0.25"}


@pytest.mark.parametrize("spec, message", [
    ("memcached://x", "not supported"),
    ("redis://127.0.0.1:6379?socket_timeout=0", "positive"),
    ("redis://127.0.0.1:6379?socket_timeout=abc", "positive"),
    ("redis://127.0.0.1:6379?retry=3", "unknown Redis URL parameter"),
])
def test_bad_online_store_specs_are_config_errors(tmp_path, spec, message):
    with pytest.raises(ConfigError, match=message):
        online_store_config(spec, tmp_path)
