"""Forgetting a mentee in the online feature store (SQLite, and Redis when configured).

Feast has no "delete these entities" call, so this removes the rows the way Feast stores
them: each mentee-keyed feature view (:data:`features.tables.TABLES` whose keys include
``user_id``) holds one row per entity key, serialised by Feast's own
``serialize_entity_key`` (version 3, as :func:`features.store.repo_config_dict` sets).
Views keyed by ``(user_id, skill_id)`` are addressed with every skill of the catalog.

- SQLite (``<data_dir>/features/online.db``, always checked: the CLI may have
  materialised it even when the service reads Redis): ``DELETE`` from each view's table
  ``<project>_<view>``.
- Redis: the mentee's hashes (``<entity key><project>``; one hash holds every view of
  that key) are deleted. A Redis that cannot be reached raises, so the forget is
  reported as incomplete and can be run again; nothing is silently left behind.

Returns how many entity keys were removed (per store, summed).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from features.store import DEFAULT_REDIS_TIMEOUT_S, online_store_config
from features.tables import PROJECT, TABLES, TableSpec

__all__ = ["forget_online", "mentee_keys"]


def mentee_keys(spec: TableSpec, user_id: str, skill_ids: Iterable[str]) -> list[bytes]:
    """The serialised entity keys ``user_id`` can have in ``spec``'s view (Feast's encoding)."""
    from feast.infra.key_encoding_utils import serialize_entity_key
    from feast.protos.feast.types.EntityKey_pb2 import EntityKey
    from feast.protos.feast.types.Value_pb2 import Value

    others = [k for k in spec.keys if k != "user_id"]
    if not others:
        combos: list[dict[str, str]] = [{"user_id": user_id}]
    elif others == ["skill_id"]:
        combos = [{"user_id": user_id, "skill_id": s} for s in skill_ids]
    else:
        raise ValueError(f"{spec.name}: cannot enumerate a mentee's keys over {others}")
    return [serialize_entity_key(EntityKey(join_keys=list(c), entity_values=[Value(string_val=v) for v in c.values()]),
                                 entity_key_serialization_version=3) for c in combos]


def _mentee_views() -> list[TableSpec]:
    return [t for t in TABLES.values() if "user_id" in t.keys]


def _forget_sqlite(path: Path, keys: dict[str, list[bytes]]) -> int:
    if not path.exists():
        return 0
    con = sqlite3.connect(path, timeout=30)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        removed = 0
        with con:
            for view, ks in keys.items():
                table = f"{PROJECT}_{view}"
                if table not in tables or not ks:
                    continue
                quoted = '"' + table.replace('"', '""') + '"'
                for start in range(0, len(ks), 500):  # SQLite's bound-parameter limit
                    chunk = ks[start:start + 500]
                    marks = ",".join("?" * len(chunk))
                    removed += con.execute(f"SELECT COUNT(DISTINCT entity_key) FROM {quoted} "
                                           f"WHERE entity_key IN ({marks})", chunk).fetchone()[0]
                    con.execute(f"DELETE FROM {quoted} WHERE entity_key IN ({marks})", chunk)
        return removed
    finally:
        con.close()


def _forget_redis(url: str, keys: dict[str, list[bytes]]) -> int:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=DEFAULT_REDIS_TIMEOUT_S * 8,
                                  socket_connect_timeout=DEFAULT_REDIS_TIMEOUT_S * 8)
    try:
        names = sorted({k + PROJECT.encode() for ks in keys.values() for k in ks})
        return int(sum(client.delete(*names[i:i + 500]) for i in range(0, len(names), 500)))
    finally:
        client.close()


def forget_online(data_dir: str | Path, user_id: str, *, online: str | None, skill_ids: Iterable[str]) -> int:
    """Remove ``user_id``'s rows from the SQLite online store of ``data_dir`` and, when ``online`` is a
    Redis URL, from Redis; the number of entity keys removed (see the module docstring)."""
    path = Path(online_store_config("sqlite", data_dir)["path"])
    spec = (online or "").strip()
    redis_url = spec if spec.startswith(("redis://", "rediss://")) else None
    if not path.exists() and redis_url is None:
        return 0  # no online store: nothing to remove (and no seconds spent importing Feast)
    skills = list(skill_ids)
    keys = {t.name: mentee_keys(t, user_id, skills) for t in _mentee_views()}
    removed = _forget_sqlite(path, keys)
    if redis_url is not None:
        removed += _forget_redis(redis_url, keys)
    return removed
