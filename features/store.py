"""Build the Feast configuration in code, open a store, read online features.

The same ``RepoConfig`` as ``feature_store.yaml``, but from a data dir passed in, so the
CLI, training jobs, tests and the service never depend on the current directory. The
online store is chosen by configuration alone: ``online="sqlite"`` (default) or a Redis
URL, which callers take from ``settings.features.online_store`` (``$SKILLPATH_ONLINE_STORE``)::

    SKILLPATH_ONLINE_STORE=redis://127.0.0.1:6379/0?socket_timeout=0.1

Redis connections always carry ``socket_timeout`` and ``socket_connect_timeout``: without
them a dead Redis hangs every request. ``feast`` is imported only inside the functions
that need it (``import feast`` costs seconds). ``.feastignore`` keeps this file out of
``feast apply``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from catalog.errors import ConfigError, NotReadyError
from features.tables import PROJECT, TABLES, TIMESTAMP, TableSpec, table_path

if TYPE_CHECKING:  # pragma: no cover
    from feast import FeatureStore

__all__ = ["tables_time_range", "rebuild_online", 
    "DEFAULT_REDIS_TIMEOUT_S",
    "online_store_config",
    "repo_config_dict",
    "open_store",
    "data_dir_of",
    "read_online",
]

DEFAULT_REDIS_TIMEOUT_S = 0.25
_REDIS_PARAMS = {"socket_timeout", "socket_connect_timeout", "db", "password", "username", "ssl"}


def online_store_config(online: str | None, data_dir: str | Path) -> dict[str, Any]:
    """The ``online_store`` section for ``"sqlite"`` (or None) or a ``redis://`` URL."""
    spec = (online or "").strip() or "sqlite"
    if spec == "sqlite":
        return {"type": "sqlite", "path": str(_features_dir(data_dir) / "online.db")}
    if spec.startswith(("redis://", "rediss://")):
        return {"type": "redis", "redis_type": "redis", "connection_string": _redis_connection_string(spec)}
    raise ConfigError(f"online store {spec!r} is not supported; use 'sqlite' or 'redis://HOST:PORT[/DB]'")


def _redis_connection_string(url: str) -> str:
    """``redis://[:pw@]host:port[/db][?socket_timeout=s]`` -> Feast's ``host:port,key=value`` form."""
    u = urlsplit(url)
    try:
        host, port = u.hostname or "127.0.0.1", u.port or 6379
    except ValueError as e:
        raise ConfigError(f"bad Redis URL {url!r}: {e}") from None
    params: dict[str, str] = {k: v[-1] for k, v in parse_qs(u.query).items()}
    unknown = set(params) - _REDIS_PARAMS
    if unknown:
        raise ConfigError(f"unknown Redis URL parameter(s) {sorted(unknown)} in {url!r}; allowed: {sorted(_REDIS_PARAMS)}")
    for key in ("socket_timeout", "socket_connect_timeout"):
        value = params.setdefault(key, str(DEFAULT_REDIS_TIMEOUT_S))
        try:
            ok = math.isfinite(float(value)) and float(value) > 0
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(f"{key}={value!r} in {url!r} must be a positive number of seconds")
    if u.path.strip("/"):
        params.setdefault("db", u.path.strip("/"))
    if u.password:
        params.setdefault("password", unquote(u.password))
    if u.scheme == "rediss":
        params.setdefault("ssl", "true")
    return ",".join([f"{host}:{port}", *(f"{k}={v}" for k, v in sorted(params.items()))])


def _features_dir(data_dir: str | Path) -> Path:
    return Path(data_dir).expanduser().resolve() / "features"


def repo_config_dict(data_dir: str | Path, *, online: str | None = None,
                     registry_cache_ttl_s: int = 60) -> dict[str, Any]:
    """The configuration of ``features/feature_store.yaml`` for ``data_dir``, as a dict."""
    return {
        "project": PROJECT,
        "provider": "local",
        "registry": {"registry_type": "file", "path": str(_features_dir(data_dir) / "registry.db"),
                     "cache_ttl_seconds": registry_cache_ttl_s},
        "offline_store": {"type": "duckdb"},  # the `file` store silently drops rows
        "online_store": online_store_config(online, data_dir),
        "entity_key_serialization_version": 3,
    }


def open_store(data_dir: str | Path, *, online: str | None = None) -> "FeatureStore":
    """A ``FeatureStore`` on ``<data_dir>/features`` (registry, Parquet, SQLite online store).

    ``online``: ``"sqlite"`` (or None) or ``"redis://HOST:PORT[/DB]"``.
    """
    from feast import FeatureStore, RepoConfig

    # feast installs warnings.simplefilter("once", DeprecationWarning) at import; its own
    # dependencies' deprecations (ibis, duckdb) are noise for our users and logs.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(ibis|feast|duckdb)")
    fdir = _features_dir(data_dir)
    fdir.mkdir(parents=True, exist_ok=True)
    cfg = RepoConfig(**repo_config_dict(data_dir, online=online), repo_path=fdir)
    return FeatureStore(config=cfg)


def data_dir_of(store: "FeatureStore") -> Path:
    """The data dir a store from :func:`open_store` was opened on (its registry lives in it)."""
    return Path(store.config.registry.path).parent.parent


def read_online(store: "FeatureStore", spec: TableSpec, keys: Sequence[Any]) -> dict[Any, dict[str, Any]]:
    """Online features of ``spec`` for each key (a join-key value, or a tuple for several keys).

    Missing entities come back with every feature ``None``, never dropped.
    """
    if not keys:
        return {}
    rows = [dict(zip(spec.keys, k if isinstance(k, tuple) else (k,))) for k in keys]
    data = store.get_online_features(features=spec.refs(), entity_rows=rows).to_dict()
    out: dict[Any, dict[str, Any]] = {}
    for i, k in enumerate(keys):
        out[k] = {n: _plain(data[n][i]) for n in spec.feature_names}
    return out


def _plain(v: Any) -> Any:
    """NaN and None both mean "no value"; numpy scalars become Python numbers."""
    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def tables_time_range(data_dir, views: Sequence[str] | None = None) -> tuple[datetime, datetime]:
    """Earliest and latest ``event_timestamp`` over the built Parquet tables (the default backfill window)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    lo, hi = None, None
    for name in views or list(TABLES):
        path = table_path(data_dir, name)
        if not path.exists():
            raise NotReadyError(f"{path} is missing; run `skillpath features build` first")
        col = pq.read_table(path, columns=[TIMESTAMP])[TIMESTAMP]
        if len(col) == 0:
            continue
        mm = pc.min_max(col).as_py()
        lo = mm["min"] if lo is None else min(lo, mm["min"])
        hi = mm["max"] if hi is None else max(hi, mm["max"])
    if lo is None or hi is None:
        raise NotReadyError("the feature tables are empty (no events?); nothing to materialise")
    return lo, hi


def rebuild_online(store: "FeatureStore") -> tuple[datetime, datetime]:
    """Load every feature view's latest rows from the offline tables into the online store (after the
    online store came back empty); returns the window loaded."""
    start, end = tables_time_range(data_dir_of(store))
    store.materialize(start_date=start, end_date=end + timedelta(microseconds=1), feature_views=list(TABLES))
    return start, end
