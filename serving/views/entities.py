"""What the entity routes answer: reads, writes with versions, pages and the change log.

Receives the :class:`~catalog.store.entities.Entities` it reads and writes and the clock;
the app applies each write to what requests read before the answer goes out
(:meth:`serving.app.SkillPathApp.refresh`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel

from catalog.errors import InvalidValueError
from catalog.store.base import ID_FIELD, Stored
from catalog.store.entities import Entities
from serving.schemas_entities import (
    BatchItem, BatchResponse, ChangeOut, ChangesResponse, EntityListResponse, EntityResponse,
)

__all__ = ["EntitiesView", "FILTERS"]

#: Query filters each list route accepts.
FILTERS: dict[str, tuple[str, ...]] = {
    "skills": ("domain",), "resources": ("skill", "type", "active"), "mentees": ("skill",), "mentors": ("skill",),
}


def _out(s: Stored) -> EntityResponse:
    return EntityResponse(kind=s.kind, id=s.id, version=s.version, entity=s.doc)


def _keep(kind: str, f: dict[str, Any]) -> Callable[[Any], bool] | None:
    f = {k: v for k, v in f.items() if v is not None}
    if not f:
        return None
    skill, typ, active, domain = f.get("skill"), f.get("type"), f.get("active"), f.get("domain")

    def keep(e: Any) -> bool:
        if domain is not None and e.domain != domain:
            return False
        if typ is not None and e.type != typ:
            return False
        if active is not None and e.active != active:
            return False
        if skill is not None:
            levels = e.goals if kind == "mentees" else e.skills
            return any(x.skill_id == skill for x in levels)
        return True
    return keep


class EntitiesView:
    """See the module docstring."""

    def __init__(self, entities: Entities, clock: Callable[[], datetime]) -> None:
        self.entities, self.clock = entities, clock

    def _now_us(self) -> int:
        return int(self.clock().timestamp() * 1_000_000)

    def _record(self, kind: str, entity_id: str | None, body: BaseModel, field: str = "body") -> dict[str, Any]:
        rec = body.model_dump(mode="json")
        id_field = ID_FIELD[kind]
        if entity_id is not None:
            if rec.get(id_field) not in (None, entity_id):
                raise InvalidValueError(f"{field}.{id_field}", f"{rec[id_field]!r} differs from the path's {entity_id!r}")
            rec[id_field] = entity_id
        return rec

    def get(self, kind: str, entity_id: str) -> EntityResponse:
        return _out(self.entities.get(kind, entity_id))

    def find(self, kind: str, entity_id: str) -> Stored | None:
        return self.entities.find(kind, entity_id)

    def list(self, kind: str, *, cursor: str | None, limit: int, **filters: Any) -> EntityListResponse:
        page, nxt = self.entities.page(kind, after=cursor, limit=limit, keep=_keep(kind, filters))
        return EntityListResponse(items=[_out(s) for s in page], next_cursor=nxt)

    def put(self, kind: str, entity_id: str, body: BaseModel, *, if_match: int | None, actor: str) -> EntityResponse:
        rec = self._record(kind, entity_id, body)
        [s] = self.entities.put(kind, [rec], actor=actor, now_us=self._now_us(),
                                expected=None if if_match is None else {entity_id: if_match}, collection="body")
        return _out(s)

    def patch(self, kind: str, entity_id: str, body: BaseModel, *, if_match: int | None, actor: str) -> EntityResponse:
        fields = body.model_dump(mode="json", exclude_unset=True)
        return _out(self.entities.patch(kind, entity_id, fields, actor=actor, now_us=self._now_us(),
                                        expected=if_match))

    def batch(self, kind: str, body: Any, *, actor: str) -> BatchResponse:
        recs = []
        for n, item in enumerate(body.items):
            rec = self._record(kind, None, item, f"items.{n}")
            if not rec.get(ID_FIELD[kind]):
                raise InvalidValueError(f"items.{n}.{ID_FIELD[kind]}", "each item of a batch needs its id")
            recs.append(rec)
        stored = self.entities.put(kind, recs, actor=actor, now_us=self._now_us())
        return BatchResponse(stored=len(stored), items=[BatchItem(id=s.id, version=s.version) for s in stored])

    def retire(self, kind: str, item_id: str, *, if_match: int | None, actor: str) -> EntityResponse:
        return _out(self.entities.retire(item_id, actor=actor, now_us=self._now_us(), expected=if_match))

    def delete(self, kind: str, entity_id: str, *, if_match: int | None, actor: str) -> None:
        self.entities.delete(kind, entity_id, actor=actor, now_us=self._now_us(), expected=if_match)

    def changes(self, kind: str | None, *, since: int, limit: int) -> ChangesResponse:
        out = []
        for c in self.entities.store.changes(since=since, limit=limit, kind=kind):
            at = datetime.fromtimestamp(c.at_us / 1e6, tz=timezone.utc).isoformat().replace("+00:00", "Z")
            out.append(ChangeOut(seq=c.seq, at=at, actor=c.actor, op=c.op, kind=c.kind, id=c.id, version=c.version,
                                 summary=c.summary))
        return ChangesResponse(changes=out)
