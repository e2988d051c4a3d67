"""One feature view's rows in Feast's Redis online store, read and written without the SDK's per-call work.

``FeatureStore.push`` costs ~12 ms of CPU for one row: it deserialises every feature view of the
registry (with runtime type checks) to find the push source's view, then goes through pandas,
arrow and the provider. ``get_online_features`` costs ~0.5 ms for one key. :class:`RedisRows`
resolves the view once and then talks to Redis with Feast's own client, key layout and
protobufs, so what it writes and reads is byte for byte what Feast writes and reads:

- key: ``serialize_entity_key(EntityKey(join_keys, values), v) + project`` (Feast's ``_redis_key``);
- hash fields: ``_mmh3(f"{view}:{feature}")`` -> ``ValueProto`` bytes, ``_ts:{view}`` -> ``Timestamp`` bytes;
- a write is skipped for a key whose stored ``_ts`` is as new or newer (Feast's dedup), and the key's
  expiry (``key_ttl_seconds``) is set as Feast sets it;
- a read of a missing key or field gives ``None`` per feature (``get_online_features`` does the same).

``tests/features/test_redis_rows.py`` checks this against the SDK on a real ``redis-server``.
Only ``int64``/``float64`` features and string join keys (what :mod:`features.tables` declares).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.tables import TIMESTAMP, TableSpec

if TYPE_CHECKING:  # pragma: no cover
    from feast import FeatureStore

__all__ = ["RedisRows", "redis_rows_for"]


def redis_rows_for(store: "FeatureStore", spec: TableSpec) -> "RedisRows | None":
    """A :class:`RedisRows` for ``spec`` when ``store``'s online store is plain Redis, else None
    (SQLite, cluster or sentinel Redis, GLIDE client, versioned views: the SDK path stays)."""
    cfg = getattr(getattr(store, "config", None), "online_store", None)
    if getattr(cfg, "type", None) != "redis":  # checked before importing Feast's Redis module (and for stand-ins)
        return None
    from feast.infra.online_stores.redis import RedisClient, RedisOnlineStoreConfig, RedisType

    if not isinstance(cfg, RedisOnlineStoreConfig) or cfg.redis_type != RedisType.redis:
        return None
    if cfg.client != RedisClient.redis or getattr(store.config.registry, "enable_online_feature_view_versioning", False):
        return None
    return RedisRows(store, spec)


class RedisRows:
    """Reads and writes of ``spec``'s rows, Feast's layout, one pipeline per call.

    Not thread-safe to construct concurrently with a registry change; the view's name, features and
    the project are fixed for the life of the object (a re-``apply`` that renames them needs a new one).
    """

    def __init__(self, store: "FeatureStore", spec: TableSpec) -> None:
        from feast.infra.online_stores.helpers import _mmh3

        self.spec = spec
        self._cfg = store.config.online_store
        self._project = store.config.project.encode("utf-8")
        self._version = store.config.entity_key_serialization_version
        view = spec.name
        self._ts_field = f"_ts:{view}".encode("utf-8")
        self._fields = [_mmh3(f"{view}:{n}") for n in spec.feature_names]
        self._kinds = [t for _, t in spec.features]
        online = store._get_provider().online_store  # Feast's own client: its pool, timeouts, password, db
        self._client = online._get_client(self._cfg)

    # ------------------------------------------------------------ keys and values
    def key(self, values: Sequence[str] | str) -> bytes:
        """Feast's Redis key of one entity (a join-key value, or a tuple for several keys)."""
        from feast.infra.key_encoding_utils import serialize_entity_key
        from feast.protos.feast.types.EntityKey_pb2 import EntityKey
        from feast.protos.feast.types.Value_pb2 import Value

        vals = (values,) if isinstance(values, str) else tuple(values)
        ek = EntityKey(join_keys=list(self.spec.keys), entity_values=[Value(string_val=str(v)) for v in vals])
        return serialize_entity_key(ek, entity_key_serialization_version=self._version) + self._project

    def _value_bytes(self, kind: str, v: Any) -> bytes:
        from feast.protos.feast.types.Value_pb2 import Value

        if v is None or (isinstance(v, float) and math.isnan(v)):
            return Value().SerializeToString()
        if kind == "int64":
            return Value(int64_val=int(v)).SerializeToString()
        return Value(double_val=float(v)).SerializeToString()

    # ------------------------------------------------------------ write
    def write(self, rows: pd.DataFrame) -> int:
        """Write ``rows`` (keys, features, ``event_timestamp``); returns how many keys were written
        (rows not newer than what the store holds are skipped, as Feast skips them)."""
        from google.protobuf.timestamp_pb2 import Timestamp

        if rows.empty:
            return 0
        keys = [self.key(tuple(k) if len(self.spec.keys) > 1 else k[0])
                for k in rows[list(self.spec.keys)].itertuples(index=False, name=None)]
        # microseconds since the epoch: Feast's push goes through datetime, which keeps microseconds
        stamps_us = (pd.to_datetime(rows[TIMESTAMP], utc=True).dt.as_unit("ns").to_numpy(np.int64) // 1000).tolist()
        cols = [rows[n].to_numpy() for n in self.spec.feature_names]
        with self._client.pipeline(transaction=False) as pipe:
            for k in keys:
                pipe.hget(k, self._ts_field)
            prev = pipe.execute()
            latest: dict[bytes, int] = {}
            written = 0
            for i, (k, old) in enumerate(zip(keys, prev)):
                ts = Timestamp()
                ts.FromMicroseconds(stamps_us[i])
                new_ns = ts.seconds * 1_000_000_000 + ts.nanos
                seen = latest.get(k, 0)
                if old:
                    p = Timestamp()
                    p.ParseFromString(old)
                    seen = max(seen, p.seconds * 1_000_000_000 + p.nanos)
                if seen and new_ns <= seen:
                    continue
                latest[k] = new_ns
                mapping: dict[bytes, bytes] = {self._ts_field: ts.SerializeToString()}
                for f, kind, col in zip(self._fields, self._kinds, cols):
                    mapping[f] = self._value_bytes(kind, _item(col[i]))
                pipe.hset(k, mapping=mapping)
                if self._cfg.key_ttl_seconds:
                    pipe.expire(name=k, time=self._cfg.key_ttl_seconds)
                written += 1
            if written:
                pipe.execute()
        return written

    # ------------------------------------------------------------ read
    def read(self, keys: Sequence[Any]) -> dict[Any, dict[str, Any]]:
        """Features per key (join-key value or tuple), ``None`` where the store has none: the same dict
        as :func:`features.store.read_online` (which goes through ``get_online_features``)."""
        from feast.protos.feast.types.Value_pb2 import Value

        if not keys:
            return {}
        with self._client.pipeline(transaction=False) as pipe:
            for k in keys:
                pipe.hmget(self.key(k), self._fields)
            replies = pipe.execute()
        out: dict[Any, dict[str, Any]] = {}
        names = self.spec.feature_names
        for k, vals in zip(keys, replies):
            row: dict[str, Any] = {}
            for n, raw in zip(names, vals):
                v = None
                if raw:
                    p = Value()
                    p.ParseFromString(raw)
                    which = p.WhichOneof("val")
                    v = None if which is None else getattr(p, which)
                    if isinstance(v, float) and math.isnan(v):
                        v = None
                row[n] = v
            out[k] = row
        return out


def _item(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
