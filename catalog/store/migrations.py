"""The entity store's schema as plain, ordered SQL migrations, each applied once.

``store_migrations`` records which have run; a store opening a file applies the missing
ones in order inside one transaction. Never edit a released migration: append a new one.
The event log's own table (``events``) is created by :mod:`catalog.eventlog`.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, """
CREATE TABLE IF NOT EXISTS entities (
    kind        TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    doc         TEXT    NOT NULL,   -- the entity as JSON
    version     INTEGER NOT NULL,
    updated_us  INTEGER NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE TABLE IF NOT EXISTS entity_changes (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    at_us    INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    op       TEXT    NOT NULL,
    kind     TEXT    NOT NULL,
    id       TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    summary  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS entity_changes_entity ON entity_changes (kind, id);
CREATE TABLE IF NOT EXISTS store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tombstones (
    user_id  TEXT PRIMARY KEY,
    at_us    INTEGER NOT NULL,
    actor    TEXT NOT NULL
);
"""),
)
