"""SkillPath configuration: one pydantic model, loaded once at an entry point.

Precedence: explicit overrides (CLI options) > environment variables > config file >
defaults. ``${VAR}`` and ``${VAR:-default}`` are expanded in the file. Errors name the
file and the field. See ``skillpath.example.yaml`` for a commented example.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from catalog.errors import ConfigError

__all__ = ["Settings", "ScoringSettings", "ServingSettings", "TrackingSettings",
           "FeatureStoreSettings", "load_settings"]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoringSettings(_Strict):
    freshness_floor: float = Field(0.1, gt=0.0, le=1.0, description="Lowest freshness multiplier (> 0: log-freshness must stay finite).")
    freshness_weight: float = Field(
        1.0, ge=0.0, description="λ in score = model score + λ·log(freshness); 0 disables decay.")
    stale_threshold: float = Field(0.5, gt=0.0, le=1.0, description="Freshness below this is 'stale'.")
    item_dtype: Literal["float32", "bfloat16", "float16"] = Field(
        "bfloat16", description="Storage the service scans for top-k. bfloat16 (default): the factors in a "
                                "half-size panel with a proven error bound, bias and freshness exact, "
                                "candidates re-scored in float32: the float32 answers at about half the memory "
                                "traffic (1.5x the matrix's memory). float32: a float32 panel copy (2x). "
                                "float16: a row-major half-size copy. If near-ties that the reduced copy cannot "
                                "separate overflow the candidate buffer, a request falls back to a float32 "
                                "panel, built on first use.")


class TrackingSettings(_Strict):
    uri: str | None = Field(None, description="MLflow tracking URI; default: SQLite inside the data dir.")
    experiment: str = "skillpath"
    registered_model: str = "skillpath-recommender"


class FeatureStoreSettings(_Strict):
    online_store: str = Field(
        "sqlite", description="'sqlite' (default, inside the data dir) or 'redis://HOST:PORT[/DB]'.")
    timeout_s: float = Field(0.05, gt=0, description="Budget for one online read before falling back.")
    enabled: bool = Field(False, description="The service reads engagement features on /recommend and pushes "
                                             "them on /events (SKILLPATH_ONLINE_FEATURES=1).")
    push_timeout_s: float = Field(0.5, gt=0, description="Budget for one online write on /events; the event "
                                                         "is durable before it, so past it only the store lags.")

    @field_validator("online_store")
    @classmethod
    def _check_store(cls, v: str) -> str:
        if v != "sqlite" and not v.startswith(("redis://", "rediss://")):
            raise ValueError("must be 'sqlite' or a redis:// URL")
        return v


class ServingSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(3000, ge=1, le=65535)
    api_keys: tuple[str, ...] = Field((), description="Bearer keys for write endpoints.")
    protect_reads: bool = Field(False, description="Require a key for read endpoints too.")
    reload_interval_s: float = Field(60.0, ge=0, description="Poll the registry for a new champion; 0 = off.")
    max_body_bytes: int = Field(1 << 20, gt=0)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, v: Any) -> Any:
        if isinstance(v, str):
            return tuple(k.strip() for k in v.split(",") if k.strip())
        return v


class Settings(_Strict):
    data_dir: Path = Path("skillpath-data")
    default_model: str = "bpr"
    k: int = Field(10, ge=1, le=100)
    scoring: ScoringSettings = ScoringSettings()
    tracking: TrackingSettings = TrackingSettings()
    features: FeatureStoreSettings = FeatureStoreSettings()
    serving: ServingSettings = ServingSettings()


# environment variable -> dotted path in Settings
ENV_VARS: dict[str, str] = {
    "SKILLPATH_DATA_DIR": "data_dir",
    "MLFLOW_TRACKING_URI": "tracking.uri",
    "SKILLPATH_ONLINE_STORE": "features.online_store",
    "SKILLPATH_ONLINE_FEATURES": "features.enabled",
    "SKILLPATH_API_KEYS": "serving.api_keys",
    "SKILLPATH_PROTECT_READS": "serving.protect_reads",
}


def _expand(obj: Any, env: dict[str, str]) -> Any:
    if isinstance(obj, str):
        return _ENV_REF.sub(lambda m: env.get(m.group(1), m.group(2) or ""), obj)
    if isinstance(obj, dict):
        return {k: _expand(v, env) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_expand(v, env) for v in obj]
    return obj


def _set(d: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for p in parents:
        d = d.setdefault(p, {})
    d[leaf] = value


def load_settings(path: str | Path | None = None, *, env: dict[str, str] | None = None,
                  **overrides: Any) -> Settings:
    """Load settings from ``path`` (YAML; optional), the environment, then ``overrides``.

    ``overrides`` use dotted keys with ``__`` for dots (``serving__port=8080``); None values
    are ignored so CLI options that were not given fall through.
    """
    env = dict(os.environ) if env is None else env
    raw: dict[str, Any] = {}
    where = "settings"
    path = path or env.get("SKILLPATH_CONFIG")
    if path:
        where = str(path)
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML: {e}".splitlines()[0]) from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping at the top level")
        raw = _expand(raw, env)
    for var, dotted in ENV_VARS.items():
        if env.get(var):
            _set(raw, dotted, env[var])
    for key, value in overrides.items():
        if value is not None:
            _set(raw, key.replace("__", "."), value)
    try:
        return Settings.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{where}: {field}: {first['msg']}") from None
