"""Skills, resources, mentees and mentors kept in an :class:`~catalog.store.base.EntityStore`.

:class:`Entities` validates every write fully before the store sees it (a batch is all
or nothing; each bad record is named by index and field), refuses unknown references
(a resource teaching an unknown skill, a goal on an unknown skill, deleting a skill
something still refers to) and skill graph edits that close a cycle, then writes through
the store (versions, ``If-Match``, the change log) and keeps the validated entities in
memory to assemble a :class:`~catalog.catalog.World`. Other processes' writes are picked
up by :meth:`Entities.sync` (one cheap query when nothing changed; then only the entities the
change log names are read and validated again, so another replica's edit costs O(changed), not a
reload of every document: at 5,000 resources the reload made a retirement take ~0.5 s to reach
the other replica's answers under load).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from catalog.catalog import Catalog, World
from catalog.errors import BatchValidationError, InvalidValueError, NotReadyError, UnknownIdError
from catalog.graph import SkillGraph
from catalog.loaders import parse_records
from catalog.store.base import ID_FIELD, KINDS, EntityStore, Stored, Write
from catalog.store.docs import to_doc

__all__ = ["Entities", "MAX_BATCH", "paused_gc"]

MAX_BATCH = 1000
_TOUCHED_KEPT = 256  # generations of written ids :meth:`Entities.touched` can answer for
#: Changes behind beyond which :meth:`Entities.sync` reloads everything (one query per kind beats per-id reads).
CATCH_UP_MAX = 1000


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection inside: a batch allocates thousands of small dicts, and in a process
    holding a large catalog each full collection it triggers scans everything (seconds per batch)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _unknown(kind: str) -> type[UnknownIdError]:
    from catalog.errors import UnknownItemError, UnknownMentorError, UnknownSkillError, UnknownUserError
    return {"skills": UnknownSkillError, "resources": UnknownItemError, "mentees": UnknownUserError,
            "mentors": UnknownMentorError}[kind]


class Entities:
    """The validated entities of one store (see the module docstring); thread-safe.

    ``only`` (kind -> ids) holds just those entities of those kinds, for a one-shot reader such as
    ``skillpath recommend``: parsing 6,000 mentees to answer one is most of its start. Such a partial
    view refuses writes, since validating one (a skill still in use, say) needs every entity.
    """

    def __init__(self, store: EntityStore, *, only: Mapping[str, Sequence[str]] | None = None) -> None:
        self.store = store
        self.only = dict(only) if only else None
        self._lock = threading.RLock()
        self._seen = 0
        self._stored: dict[str, dict[str, Stored]] = {k: {} for k in KINDS}
        self._objs: dict[str, dict[str, Any]] = {k: {} for k in KINDS}
        self.generation = 0  # +1 whenever the entities in memory change
        self.kind_generation = {k: 0 for k in KINDS}  # the same, per kind
        # Which ids this process's own writes touched, per generation (the last :data:`_TOUCHED_KEPT`), so a
        # reader applying them looks at those entities only, not a scan of them all (:meth:`touched`).
        self._touched: list[tuple[int, str, frozenset[str]]] = []
        self._touched_floor = 0  # before this generation, nothing is known (start, another process's writes)
        self.reload()

    # ------------------------------------------------------------ reading
    def reload(self) -> None:
        """Read every entity from the store (start, or after another process's writes)."""
        with self._lock:
            rev = self.store.revision()
            only = self.only or {}
            stored = {k: ({i: s for i, s in self.store.get_many(k, list(only[k])).items()} if k in only
                          else {s.id: s for s in self.store.all(k)}) for k in KINDS}
            objs: dict[str, dict[str, Any]] = {}
            skill_ids = list(stored["skills"])
            for k in KINDS:
                ents, errors = parse_records(k, [s.doc for s in stored[k].values()], skill_ids=skill_ids)
                if errors:
                    raise BatchValidationError(errors, collection=k, source=f"stored {k}")
                objs[k] = {getattr(e, ID_FIELD[k]): e for e in ents}
            changed = [k for k in KINDS if self._stored[k] != stored[k]]
            self._stored, self._objs, self._seen = stored, objs, rev
            self._bump(changed)
            self._touched, self._touched_floor = [], self.generation

    def _bump(self, kinds: Sequence[str], ids: Sequence[str] | None = None) -> None:
        self.generation += 1
        for k in kinds:
            self.kind_generation[k] += 1
        if ids is not None:
            self._touched.append((self.generation, kinds[0], frozenset(ids)))
            del self._touched[:-_TOUCHED_KEPT]
        elif kinds:  # a change whose ids are not known: nothing before it can be answered
            self._touched, self._touched_floor = [], self.generation

    def touched(self, kind: str, since: int) -> frozenset[str] | None:
        """Ids of ``kind`` this process wrote after generation ``since`` (None: not known, e.g. another
        process wrote, or too many writes ago; read everything then). Written ids may be new ones."""
        with self._lock:
            if since < self._touched_floor or (self._touched and self._touched[0][0] > since + 1):
                return None
            out: set[str] = set()
            for gen, k, ids in reversed(self._touched):  # newest first: a reader is usually one write behind
                if gen <= since:
                    break
                if k == kind:
                    out |= ids
            return frozenset(out)

    def sync(self) -> bool:
        """Catch up with writes made through other processes; True if the store moved on.

        Reads only the entities the change log names since the last revision seen; a skill change
        (other kinds are validated against the skills), or more than :data:`CATCH_UP_MAX` changes,
        reloads everything instead. The result equals :meth:`reload`'s (tested), creation order included.
        """
        if self.store.revision() == self._seen:
            return False
        with self._lock:
            rev = self.store.revision()
            if rev == self._seen:
                return False
            changes = self.store.changes(since=self._seen, limit=CATCH_UP_MAX + 1)
            if len(changes) > CATCH_UP_MAX or any(c.kind == "skills" for c in changes):
                self.reload()
            else:
                self._catch_up(changes, rev)
            return True

    def _catch_up(self, changes: Sequence[Any], rev: int) -> None:
        """Apply ``changes`` (the log after :attr:`revision`) by reading just the entities they name; a kind
        that gained an entity is read whole, for its place in creation order (a catalog's item order)."""
        ids: dict[str, set[str]] = {}
        for c in changes:
            ids.setdefault(c.kind, set()).add(c.id)
        skill_ids = list(self._stored["skills"])
        moved = []
        for kind, wanted in ids.items():
            fresh = self.store.get_many(kind, sorted(wanted))
            if any(i not in self._stored[kind] for i in fresh):
                stored = {s.id: s for s in self.store.all(kind)}
                parse = list(stored)
            else:
                stored = dict(self._stored[kind])
                for i in wanted:
                    if i in fresh:
                        stored[i] = fresh[i]
                    else:
                        stored.pop(i, None)
                parse = [i for i in fresh if fresh[i] != self._stored[kind].get(i)]
            if stored == self._stored[kind]:
                continue  # our own writes, already applied
            ents, errors = parse_records(kind, [stored[i].doc for i in parse], skill_ids=skill_ids)
            if errors:
                raise BatchValidationError(errors, collection=kind, source=f"stored {kind}")
            new = dict(zip(parse, ents))
            self._objs[kind] = {i: new[i] if i in new else self._objs[kind][i] for i in stored}
            self._stored[kind] = stored
            moved.append(kind)
        self._seen = max(rev, max(c.seq for c in changes)) if changes else rev
        if moved:
            self._bump(moved)

    def _caught_up(self, n: int) -> None:
        """After our write of ``n`` changes: we hold everything up to the store's revision only if no other
        process wrote between (our changes follow what we had seen); otherwise the next :meth:`sync` catches
        up. The store's :meth:`~catalog.store.base.EntityStore.last_write` answers without a query (each
        statement of a write is a release of the GIL that requests beside it wait to get back)."""
        span = self.store.last_write()
        if span is not None and span[1] - span[0] + 1 == n:
            if span[0] == self._seen + 1:
                self._seen = span[1]
            return
        rev = self.store.revision()
        if rev == self._seen + n:
            self._seen = rev

    @property
    def revision(self) -> int:
        return self._seen

    def get(self, kind: str, entity_id: str) -> Stored:
        s = self._stored[kind].get(entity_id)
        if s is None:
            raise _unknown(kind)(entity_id)
        return s

    def find(self, kind: str, entity_id: str) -> Stored | None:
        return self._stored[kind].get(entity_id)

    def ids(self, kind: str) -> list[str]:
        return list(self._stored[kind])

    def entity(self, kind: str, entity_id: str) -> Any:
        return self._objs[kind][entity_id]

    def find_entity(self, kind: str, entity_id: str) -> Any | None:
        return self._objs[kind].get(entity_id)

    def entities(self, kind: str) -> list[Any]:
        return list(self._objs[kind].values())  # one C call: atomic under the GIL while a writer adds

    def count(self, kind: str) -> int:
        return len(self._stored[kind])

    def world(self) -> World:
        """The world the entities make now (raises CycleError only if the store was edited behind our back)."""
        o = self._objs
        # list()/dict() copy in one C call (atomic under the GIL): a writer thread may add to these dicts meanwhile
        skills, resources = list(o["skills"].values()), list(o["resources"].values())
        return World(Catalog(skills, resources), dict(o["mentees"]), dict(o["mentors"]))

    def page(self, kind: str, *, after: str | None, limit: int,
             keep: Callable[[Any], bool] | None = None) -> tuple[list[Stored], str | None]:
        """Entities after the cursor ``after`` (an id, in creation order) passing ``keep``; next cursor or None."""
        ids = list(self._stored[kind])
        start = 0
        if after:
            try:
                start = ids.index(after) + 1
            except ValueError:
                raise InvalidValueError("cursor", f"unknown cursor {after!r}; start without one") from None
        out: list[Stored] = []
        for pos in range(start, len(ids)):
            i = ids[pos]
            if keep is None or keep(self._objs[kind][i]):
                out.append(self._stored[kind][i])
                if len(out) == limit:
                    more = any(keep is None or keep(self._objs[kind][j]) for j in ids[pos + 1:])
                    return out, (i if more else None)
        return out, None

    # ------------------------------------------------------------ writing
    def put(self, kind: str, records: Sequence[Mapping[str, Any]], *, actor: str, now_us: int, op: str = "put",
            expected: Mapping[str, int | None] | None = None, collection: str = "items",
            _synced: bool = False) -> list[Stored]:
        """Create or replace every record (all or nothing); ``expected`` maps ids to the version a writer saw."""
        self._writable()
        if len(records) > MAX_BATCH:
            raise InvalidValueError(collection, f"{len(records)} records; at most {MAX_BATCH} per call")
        with self._lock, paused_gc():
            if not _synced:  # ``_synced``: the caller synced under this lock already (patch)
                self.sync()
            recs = [dict(r) for r in records]
            skill_ids = list(self._stored["skills"])
            ents, errors = parse_records(kind, recs, skill_ids=skill_ids)
            if errors:
                raise BatchValidationError(errors, collection=collection)
            new = {getattr(e, ID_FIELD[kind]): e for e in ents}
            if kind == "skills":
                merged = {**self._objs["skills"], **new}
                SkillGraph(merged.values())  # raises CycleError naming the cycle
            exp = expected or {}
            writes = []
            for i, e in new.items():
                old = self._stored[kind].get(i)
                doc = to_doc(e)
                if old is not None and old.doc == doc and exp.get(i) in (None, old.version):
                    continue  # an idempotent replay: nothing to store, no version bump
                changed = sorted(k for k in doc if old is None or old.doc.get(k) != doc[k])
                writes.append(Write(i, doc, exp.get(i), ("created " if old is None else "set ") + ", ".join(changed)))
            stored = self.store.write(kind, writes, actor=actor, op=op, now_us=now_us) if writes else []
            for s in stored:
                self._stored[kind][s.id] = s
                self._objs[kind][s.id] = new[s.id]
            if writes:
                self._caught_up(len(writes))
                self._bump([kind], [w.id for w in writes])
            return [self._stored[kind][i] for i in new]

    def patch(self, kind: str, entity_id: str, fields: Mapping[str, Any], *, actor: str, now_us: int,
              expected: int | None = None) -> Stored:
        """Change some fields of one entity (the others kept); the id cannot change. Synced first, under the
        lock the write holds, so the fields are laid over the latest stored document (one query)."""
        self._writable()
        with self._lock:
            self.sync()
            cur = self.get(kind, entity_id)
            id_field = ID_FIELD[kind]
            if id_field in fields and fields[id_field] != entity_id:
                raise InvalidValueError(id_field, f"cannot change the id {entity_id!r}; PUT a new entity instead")
            unknown = sorted(set(fields) - set(cur.doc))
            if unknown:
                raise InvalidValueError(unknown[0], f"no such field on {kind}; fields are {', '.join(cur.doc)}")
            doc = {**cur.doc, **fields}
            return self.put(kind, [doc], actor=actor, now_us=now_us, op="patch", collection="body", _synced=True,
                            expected={entity_id: cur.version if expected is None else expected})[0]

    def retire(self, item_id: str, *, actor: str, now_us: int, expected: int | None = None) -> Stored:
        """A resource set inactive: never recommended again, its history and events kept."""
        return self.patch("resources", item_id, {"active": False}, actor=actor, now_us=now_us, expected=expected)

    def delete(self, kind: str, entity_id: str, *, actor: str, now_us: int, expected: int | None = None,
               op: str = "delete") -> None:
        """Remove a skill nothing refers to, a mentor, or a mentee's profile (forgetting does more)."""
        self._writable()
        with self._lock:
            self.sync()
            cur = self.get(kind, entity_id)
            if kind == "skills":
                users = self._skill_users(entity_id)
                if users:
                    raise InvalidValueError("skill_id", f"skill {entity_id!r} is still used by {', '.join(users[:5])}"
                                            + (f" and {len(users) - 5} more" if len(users) > 5 else "")
                                            + "; change those first")
            self.store.write(kind, [Write(entity_id, None, cur.version if expected is None else expected, "deleted")],
                             actor=actor, op=op, now_us=now_us)
            del self._stored[kind][entity_id]
            del self._objs[kind][entity_id]
            self._caught_up(1)
            self._bump([kind], [entity_id])

    def _writable(self) -> None:
        if self.only is not None:
            raise NotReadyError("this view of the entity store holds only some entities (a one-shot read); "
                                "open it whole to write")

    def _skill_users(self, skill_id: str) -> list[str]:
        o = self._objs
        out = [f"skill {s.skill_id}" for s in o["skills"].values() if any(p.skill_id == skill_id for p in s.prerequisites)]
        out += [f"resource {r.item_id}" for r in o["resources"].values() if any(x.skill_id == skill_id for x in r.skills)]
        out += [f"mentee {m.user_id}" for m in o["mentees"].values()
                if any(g.skill_id == skill_id for g in m.goals) or any(x.skill_id == skill_id for x in m.self_levels)]
        out += [f"mentor {m.mentor_id}" for m in o["mentors"].values() if any(x.skill_id == skill_id for x in m.skills)]
        return out

    def import_world(self, world: World, *, actor: str, now_us: int) -> dict[str, int]:
        """Upsert every entity of ``world`` (CSV import, first start); returns how many were written per kind."""
        counts = {}
        for kind, ents in (("skills", world.catalog.graph.skills.values()), ("resources", world.catalog.resources),
                           ("mentees", world.mentees.values()), ("mentors", world.mentors.values())):
            docs = [to_doc(e) for e in ents]
            before = self.store.revision()
            for start in range(0, len(docs), MAX_BATCH):
                self.put(kind, docs[start:start + MAX_BATCH], actor=actor, now_us=now_us, op="import")
            counts[kind] = len(self.store.changes(since=before, limit=10**9, kind=kind))
        return counts

