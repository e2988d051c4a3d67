"""The entity store's contract: versioned JSON documents per kind, a change log, tombstones.

:class:`EntityStore` is what the service, the CLI and the importer write skills,
resources, mentees and mentors through; :class:`~catalog.store.sqlite.SQLiteEntityStore`
keeps them in the event log's SQLite file, :class:`~catalog.store.pg.PgEntityStore` in
PostgreSQL for several replicas (``SKILLPATH_DATABASE_URL``); both pass the same contract
tests (tests/catalog/store/test_store_contract.py). A store knows nothing about what a document means: validation,
references and the skill graph are checked by :mod:`catalog.store.entities` before a
write reaches it. Every write is all or nothing and is appended to the change log.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from catalog.errors import IntegrityError

__all__ = ["KINDS", "ID_FIELD", "TABLES", "Stored", "Change", "Write", "EntityStore", "merge_plan", "changes_query"]

#: Entity kinds, in the order a world is assembled (skills first: the others refer to them).
KINDS: tuple[str, ...] = ("skills", "resources", "mentees", "mentors")
#: The store's tables as :meth:`EntityStore.snapshot` gives them, each row's columns in this order.
TABLES: dict[str, tuple[str, ...]] = {
    "entities": ("kind", "id", "doc", "version", "updated_us"),
    "entity_changes": ("seq", "at_us", "actor", "op", "kind", "id", "version", "summary"),
    "store_meta": ("key", "value"),
    "tombstones": ("user_id", "at_us", "actor"),
}
ID_FIELD: dict[str, str] = {"skills": "skill_id", "resources": "item_id", "mentees": "user_id",
                            "mentors": "mentor_id"}


@dataclass(frozen=True, slots=True)
class Stored:
    """One entity as stored: its document and version (1 on creation, +1 per write)."""

    kind: str
    id: str
    doc: dict[str, Any]
    version: int


@dataclass(frozen=True, slots=True)
class Change:
    """One line of the change log: who (an API key id or a CLI role) did what, when."""

    seq: int
    at_us: int
    actor: str
    op: str  # put | patch | retire | delete | forget | import
    kind: str
    id: str
    version: int
    summary: str


@dataclass(frozen=True, slots=True)
class Write:
    """One document to store (``doc`` None deletes the entity), with the version the writer expects.

    ``expected`` None: any version (or none); 0: must not exist yet; n: must be at version n.
    """

    id: str
    doc: dict[str, Any] | None
    expected: int | None = None
    summary: str = ""


class EntityStore(ABC):
    """Versioned documents per kind with an append-only change log (see the module docstring)."""

    @property
    def pushes_changes(self) -> bool:
        """True while :meth:`revision` is kept current by the database's notifications (no query per call):
        a reader may then check it on every request instead of every :data:`serving.app.SYNC_INTERVAL_S`."""
        return False

    @abstractmethod
    def get(self, kind: str, entity_id: str) -> Stored | None: ...

    @abstractmethod
    def get_many(self, kind: str, ids: Sequence[str]) -> dict[str, Stored]: ...

    @abstractmethod
    def all(self, kind: str) -> list[Stored]:
        """Every entity of ``kind`` in creation order (a catalog's item order follows it)."""

    @abstractmethod
    def write(self, kind: str, writes: Sequence[Write], *, actor: str, op: str, now_us: int) -> list[Stored]:
        """Store every write or none; raises :class:`~catalog.errors.VersionConflictError` naming the
        entities whose stored version is not the expected one. Returns what was stored (deletes omitted)."""

    def last_write(self) -> tuple[int, int] | None:
        """The first and last change-log sequence numbers of this object's latest :meth:`write` (None: not
        known). A caller that serialises its writes tells from it, without another query, whether anyone
        else wrote in between (:meth:`~catalog.store.entities.Entities._caught_up`)."""
        return getattr(self, "_last_write", None)

    @abstractmethod
    def changes(self, *, since: int = 0, limit: int = 100, kind: str | None = None,
                entity_id: str | None = None) -> list[Change]:
        """The change log after sequence number ``since``, oldest first."""

    @abstractmethod
    def revision(self) -> int:
        """The latest change's sequence number (0: none): a cheap stamp other processes compare."""

    @abstractmethod
    def changed_since(self, seq: int) -> dict[str, set[str]]:
        """Kinds and ids written after change ``seq`` (how another process catches up)."""

    @abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    @abstractmethod
    def tombstone(self, user_id: str, *, actor: str, now_us: int) -> None:
        """Record that a mentee was forgotten: replayed events of theirs are dropped from then on."""

    @abstractmethod
    def tombstones(self, user_ids: Sequence[str] | None = None) -> set[str]: ...

    @abstractmethod
    def snapshot(self) -> dict[str, list[tuple]]:
        """Every row of every table (:data:`TABLES`), entities in creation order: what ``skillpath db
        export|import`` moves between backends."""

    @abstractmethod
    def restore(self, rows: dict[str, list[tuple]]) -> dict[str, int]:
        """Merge a :meth:`snapshot` into this store in one transaction, keeping sequence numbers and versions
        (:func:`merge_plan`: entities changed here since are kept), so a copy can run again. Raises
        :class:`~catalog.errors.IntegrityError` if this store's change log differs at a shared sequence number
        (it holds another deployment's entities). Returns the rows added per table."""

    @abstractmethod
    def close(self) -> None: ...

    def summarise(self, doc: Mapping[str, Any] | None, fields: Sequence[str] = ()) -> str:
        """A short "what" for the change log: the fields a write set (never whole documents)."""
        if doc is None:
            return "deleted"
        keys = list(fields) or sorted(doc)
        return "set " + ", ".join(keys)


def changes_query(mark: str, *, since: int, limit: int, kind: str | None,
                  entity_id: str | None) -> tuple[str, list[object]]:
    """The change-log query of :meth:`EntityStore.changes` and its parameters, for a driver whose
    placeholder is ``mark`` (``?`` for SQLite, ``%s`` for psycopg)."""
    where, params = [f"seq > {mark}"], [since]
    if kind is not None:
        where.append(f"kind = {mark}")
        params.append(kind)
    if entity_id is not None:
        where.append(f"id = {mark}")
        params.append(entity_id)
    return (f"SELECT seq, at_us, actor, op, kind, id, version, summary FROM entity_changes "
            f"WHERE {' AND '.join(where)} ORDER BY seq LIMIT {mark}", [*params, int(limit)])


def merge_plan(mine: Mapping[int, tuple], theirs: Mapping[str, list[tuple]], where: str) -> tuple[list, list]:
    """What merging snapshot ``theirs`` adds to a store whose change log is ``mine`` (seq -> row).

    Returns the change-log rows missing here and the entity rows to upsert: every one but those
    changed here after the snapshot's last change (this store moved on; a copy run again after
    writes on the target must not turn them back). Raises :class:`IntegrityError` if the logs differ
    at a sequence number both hold (another deployment's entities).
    """
    changes = theirs["entity_changes"]
    for row in changes:
        have = mine.get(int(row[0]))
        if have is not None and tuple(have) != tuple(row):
            raise IntegrityError(f"{where}: change {row[0]} differs from the copy's ({have[4]} {have[5]} vs "
                                 f"{row[4]} {row[5]}): this database holds another deployment's entities; "
                                 "copy into an empty one")
    last = max((int(r[0]) for r in changes), default=0)
    moved = {(r[4], r[5]) for seq, r in mine.items() if seq > last}
    return ([r for r in changes if int(r[0]) not in mine],
            [r for r in theirs["entities"] if (r[0], r[1]) not in moved])
