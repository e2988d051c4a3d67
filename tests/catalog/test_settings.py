from __future__ import annotations

from pathlib import Path

import pytest

from catalog.errors import ConfigError
from catalog.settings import load_settings


def test_defaults_without_file_or_env():
    s = load_settings(env={})
    assert s.data_dir == Path("skillpath-data")
    assert s.features.online_store == "sqlite" and s.serving.host == "127.0.0.1"


def test_example_config_is_valid_and_expands_env():
    example = Path(__file__).resolve().parents[2] / "skillpath.example.yaml"
    s = load_settings(example, env={"SKILLPATH_API_KEYS": "k1, k2"})
    assert s.serving.api_keys == ("k1", "k2")
    assert s.data_dir == Path("skillpath-data")


def test_precedence_env_then_overrides(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("serving:\n  port: 4000\nfeatures:\n  online_store: sqlite\n")
    s = load_settings(cfg, env={"SKILLPATH_ONLINE_STORE": "redis://127.0.0.1:7000"}, serving__port=5000)
    assert s.serving.port == 5000
    assert s.features.online_store == "redis://127.0.0.1:7000"


@pytest.mark.parametrize("text, field", [
    ("serving:\n  port: 0\n", "serving.port"),
    ("nope: 1\n", "nope"),
    ("features:\n  online_store: mysql\n", "features.online_store"),
])
def test_errors_name_file_and_field(tmp_path, text, field):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as ei:
        load_settings(cfg, env={})
    assert str(cfg) in str(ei.value) and field in str(ei.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.yaml", env={})
