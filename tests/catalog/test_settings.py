from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from catalog.errors import ConfigError
from catalog.settings import ENV_NAMES, Settings, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """Each test sets the variables it means; none leak in from the machine."""
    for var in list(os.environ):
        if var.startswith("SKILLPATH_") or var in ENV_NAMES:
            monkeypatch.delenv(var)


def test_defaults_without_file_or_env():
    s = load_settings()
    assert s.data_dir == Path("skillpath-data")
    assert s.features.online_store == "sqlite" and s.serving.host == "127.0.0.1"
    assert s.model_dir is None and s.serving.workers == 1 and not s.serving.tracing


def test_example_config_is_valid_and_expands_env(monkeypatch):
    example = Path(__file__).resolve().parents[2] / "skillpath.example.yaml"
    monkeypatch.setenv("SKILLPATH_API_KEYS", "k1, k2")
    s = load_settings(example)
    assert s.serving.api_keys == ("k1", "k2")
    assert s.data_dir == Path("skillpath-data")


def test_precedence_env_then_overrides(tmp_path, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("serving:\n  port: 4000\nfeatures:\n  online_store: sqlite\n")
    monkeypatch.setenv("SKILLPATH_ONLINE_STORE", "redis://127.0.0.1:7000")
    s = load_settings(cfg, serving__port=5000)
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
        load_settings(cfg)
    assert str(cfg) in str(ei.value) and field in str(ei.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.yaml")


def test_config_file_from_the_environment(tmp_path, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("k: 7\nserving:\n  reload_interval_s: 0\n")
    monkeypatch.setenv("SKILLPATH_CONFIG", str(cfg))
    s = load_settings()
    assert s.config == cfg and s.k == 7 and s.serving.reload_interval_s == 0


@pytest.mark.parametrize(("var", "value", "read"), [
    ("SKILLPATH_DATA_DIR", "/srv/sp", lambda s: s.data_dir == Path("/srv/sp")),
    ("SKILLPATH_MODEL_DIR", "/srv/m", lambda s: s.model_dir == Path("/srv/m")),
    ("SKILLPATH_OULAD_DIR", "/srv/o", lambda s: s.oulad_dir == Path("/srv/o")),
    ("SKILLPATH_PROGRESS", "1", lambda s: s.progress is True),
    ("SKILLPATH_API_KEYS", "a,b", lambda s: s.serving.api_keys == ("a", "b")),
    ("SKILLPATH_PROTECT_READS", "true", lambda s: s.serving.protect_reads is True),
    ("SKILLPATH_WORKERS", "3", lambda s: s.serving.workers == 3),
    ("SKILLPATH_TRACING", "1", lambda s: s.serving.tracing is True),
    ("SKILLPATH_ACCESS_LOG", "yes", lambda s: s.serving.access_log is True),
    ("SKILLPATH_ONLINE_STORE", "redis://h:1", lambda s: s.features.online_store == "redis://h:1"),
    ("SKILLPATH_ONLINE_FEATURES", "1", lambda s: s.features.enabled is True),
    ("MLFLOW_TRACKING_URI", "http://m:5000", lambda s: s.tracking.uri == "http://m:5000"),
    ("SKILLPATH_SERVING__PORT", "8081", lambda s: s.serving.port == 8081),
    ("SKILLPATH_SERVING__API_KEYS", "x,y", lambda s: s.serving.api_keys == ("x", "y")),
    ("SKILLPATH_SCORING__ITEM_DTYPE", "float32", lambda s: s.scoring.item_dtype == "float32"),
])
def test_every_documented_variable_sets_its_field(monkeypatch, var, value, read):
    monkeypatch.setenv(var, value)
    assert read(load_settings())


def test_every_variable_is_documented():
    """docs/configuration.md lists every field's variable (short name or the nested form)."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    names = {f"SKILLPATH_{f.upper()}" for f, info in Settings.model_fields.items()
             if not (isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel))}
    names |= set(ENV_NAMES)
    missing = sorted(n for n in names if f"`{n}`" not in doc)
    assert not missing, missing


def test_a_bad_variable_names_itself(monkeypatch):
    monkeypatch.setenv("SKILLPATH_WORKERS", "0")
    with pytest.raises(ConfigError, match=r"\$SKILLPATH_WORKERS: serving.workers"):
        load_settings()
    monkeypatch.setenv("SKILLPATH_WORKERS", "1")
    monkeypatch.setenv("SKILLPATH_SCORING", "not json")
    with pytest.raises(ConfigError, match="scoring"):
        load_settings()


def test_no_module_outside_the_settings_reads_skillpath_variables():
    """The settings object is the one reader of ``SKILLPATH_*``: everything else is passed the object."""
    root = Path(__file__).resolve().parents[2]
    reads = re.compile(r"""(environ\.get\(|getenv\(|envvar=)\s*["']SKILLPATH_"""
                       r"""|environ\[\s*["']SKILLPATH_\w*["']\s*\](?!\s*=[^=])""")  # a write (a child's env) is fine
    offenders = []
    for package in ("catalog", "recommender", "features", "training", "serving", "skillpath_cli"):
        for path in (root / package).rglob("*.py"):
            if path.relative_to(root).as_posix() == "catalog/settings.py":
                continue
            offenders += [f"{path.relative_to(root)}:{n}: {line.strip()}"
                          for n, line in enumerate(path.read_text().splitlines(), 1) if reads.search(line)]
    assert not offenders, offenders


def test_monitoring_webhooks_need_a_secret_and_http_urls(monkeypatch):
    monkeypatch.setenv("SKILLPATH_MONITORING__WEBHOOKS", "http://127.0.0.1:9000/hook, https://ops.example.org/x")
    with pytest.raises(ConfigError, match="webhook_secret"):
        load_settings()
    monkeypatch.setenv("SKILLPATH_MONITORING__WEBHOOK_SECRET", "s3cret")
    assert load_settings().monitoring.webhooks == ("http://127.0.0.1:9000/hook", "https://ops.example.org/x")
    monkeypatch.setenv("SKILLPATH_MONITORING__WEBHOOKS", "ftp://x")
    with pytest.raises(ConfigError, match="monitoring.webhooks"):
        load_settings()
