"""Open a data dir's entity store, importing its CSV files when they are new or changed.

The files in the data dir (``skills.csv``, ``resources.csv``, ``mentees.csv``,
``mentors.csv``; or their Parquet/JSONL forms) are an import format: the store is
seeded from them on the first start, and they are imported again (as upserts: entities
created over the API stay) whenever their size or modification time differs from the
last import, e.g. after ``skillpath data import`` or an edited ``resources.csv``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from catalog.catalog import World
from catalog.datadir import DataDir
from catalog.loaders import find_table, load_world
from catalog.store.base import KINDS, EntityStore
from catalog.store.entities import Entities
from catalog.store.sqlite import SQLiteEntityStore

__all__ = ["open_entities", "open_store", "files_fingerprint", "FINGERPRINT_KEY"]

FINGERPRINT_KEY = "import_fingerprint"


def files_fingerprint(dd: DataDir) -> str:
    """Names, sizes and modification times of the data dir's entity files."""
    parts = []
    for kind in KINDS:
        p = find_table(dd, kind)
        if p is not None:
            st = p.stat()
            parts.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def open_store(db_path: str | Path, database_url: str | None = None) -> EntityStore:
    """The SQLite store in ``db_path`` (the event log's file), or the PostgreSQL store at ``database_url``."""
    if database_url:
        from catalog.store.pg import PgEntityStore  # psycopg only when a server is used

        return PgEntityStore(database_url)
    return SQLiteEntityStore(db_path)


def open_entities(db_path: str | Path, *, data_dir: DataDir | None = None, world: World | None = None,
                  actor: str = "import", database_url: str | None = None,
                  only: Mapping[str, Sequence[str]] | None = None) -> Entities:
    """The store the settings name (:func:`open_store`), seeded from ``data_dir``'s files or ``world``.

    ``world`` seeds an empty store (a caller that already holds one); ``data_dir`` imports
    its files when their fingerprint changed since the last import (on PostgreSQL the
    fingerprint is shared: replicas started from copies of one data dir import it once).
    ``only``: a read-only view of just those entities (:class:`Entities`), unless an import is due,
    which needs them all.
    """
    store = open_store(db_path, database_url)
    now_us = time.time_ns() // 1000
    if data_dir is not None and data_dir.has_world():
        fp = files_fingerprint(data_dir)
        if store.get_meta(FINGERPRINT_KEY) == fp:
            return Entities(store, only=only)
        ents = Entities(store)
        ents.import_world(world if world is not None else load_world(data_dir), actor=actor, now_us=now_us)
        ents.store.set_meta(FINGERPRINT_KEY, fp)
        return ents
    ents = Entities(store, only=only if world is None else None)
    if world is not None and ents.count("skills") == 0:
        ents.import_world(world, actor=actor, now_us=now_us)
    return ents
