"""The in-memory catalog: skills, their graph, resources, and column arrays over them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.errors import UnknownItemError, UnknownSkillError, UnknownUserError, UnknownMentorError
from catalog.graph import SkillGraph
from catalog.ids import IdMap
from catalog.schema import Mentee, Mentor, Resource, Skill, parse_timestamp

__all__ = ["Catalog", "World"]


def _to_us(dts: Iterable) -> NDArray[np.int64]:
    """Aware datetimes (or None) -> int64 microseconds since the epoch (None -> INT64_MIN)."""
    nat = np.iinfo(np.int64).min
    return np.fromiter(
        (nat if d is None else int(d.timestamp() * 1_000_000) for d in dts), dtype=np.int64
    )


class Catalog:
    """Skills, the prerequisite graph and resources, with dense indices for both.

    Attributes (all aligned with ``items`` / ``skill_ids``):

    - ``items``: IdMap of resource ids; ``skill_ids``: IdMap of skill ids (graph order).
    - ``resources``: list of :class:`Resource`.
    - ``published_us``, ``updated_us``: int64 microseconds since epoch (``updated`` is
      ``INT64_MIN`` where unknown).
    - ``item_half_life``: float64 half-life override per item (NaN where none).
    - ``active``: bool; ``difficulty``, ``duration_minutes``: int32; ``types``: object.
    - ``item_skill_levels``: CSR (n_items x n_skills), the level each item teaches;
      ``item_skill_levels_csc`` the same matrix by skill (the items teaching a skill).
    - ``main_skill``: int64, each item's first tag (what the resource is about).
    - ``prereq_edges``: int64 (n_edges x 3): skill index, prerequisite skill index, level asked.

    Derived arrays are built here, once: per-request code reads them and never rebuilds them
    from ``resources`` (at 100k items that costs more than the whole request).
    """

    def __init__(self, skills: Iterable[Skill], resources: Iterable[Resource]) -> None:
        self.graph = SkillGraph(skills)
        self.skill_ids = IdMap(self.graph.order, error=UnknownSkillError)
        self.resources: list[Resource] = list(resources)
        self.items = IdMap((r.item_id for r in self.resources), error=UnknownItemError)
        r = self.resources
        self.published_us = _to_us(x.published_at for x in r)
        self.updated_us = _to_us(x.updated_at for x in r)
        self.item_half_life = np.array(
            [np.nan if x.half_life_days is None else x.half_life_days for x in r], dtype=np.float64
        )
        self.active = np.array([x.active for x in r], dtype=bool)
        self.difficulty = np.array([x.difficulty for x in r], dtype=np.int32)
        self.duration_minutes = np.array([x.duration_minutes for x in r], dtype=np.int32)
        self.types = np.array([x.type for x in r], dtype=object)
        rows, cols, vals = [], [], []
        main = np.full(len(r), -1, dtype=np.int64)
        unknown: list[str] = []
        for i, res in enumerate(r):
            if res.skills:
                main[i] = self.skill_ids.get(res.skills[0].skill_id)
            for sl in res.skills:
                j = self.skill_ids.get(sl.skill_id)
                if j < 0:
                    unknown.append(sl.skill_id)
                    continue
                rows.append(i)
                cols.append(j)
                vals.append(sl.level)
        if unknown:
            raise UnknownSkillError(sorted(set(unknown)), "resources may only tag defined skills")
        self.item_skill_levels = sp.csr_matrix(
            (np.asarray(vals, dtype=np.float32), (rows, cols)),
            shape=(len(self.items), len(self.skill_ids)),
        )
        self.item_skill_levels_csc = self.item_skill_levels.tocsc()
        self.main_skill = main
        ids = self.skill_ids
        self.prereq_edges = np.array(
            [(ids.index(s), ids.index(q.skill_id), q.level) for s in ids for q in self.graph.prereqs[s]],
            dtype=np.int64).reshape(-1, 3)
        self.skill_half_life = np.array(
            [np.nan if self.graph.skills[s].half_life_days is None else self.graph.skills[s].half_life_days
             for s in self.skill_ids],
            dtype=np.float64,
        )

    @property
    def skills(self) -> dict[str, Skill]:
        return self.graph.skills

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_skills(self) -> int:
        return len(self.skill_ids)

    def available_at(self, as_of: datetime | str) -> NDArray[np.bool_]:
        """Items that may be recommended at ``as_of``: active and already published.

        A catalog can list resources ahead of their publication (a course's later weeks,
        a scheduled release); nobody should be sent to one before it exists.
        """
        as_of_us = int(parse_timestamp(as_of).timestamp() * 1_000_000)
        return self.active & (self.published_us <= as_of_us)

    def resource(self, item_id: str) -> Resource:
        return self.resources[self.items.index(item_id)]

    def skill(self, skill_id: str) -> Skill:
        return self.graph[skill_id]

    def items_for_skill(self, skill_id: str) -> NDArray[np.int64]:
        """Indices of resources tagged with ``skill_id``."""
        j = self.skill_ids.index(skill_id)
        m = self.item_skill_levels_csc
        return np.sort(m.indices[m.indptr[j]:m.indptr[j + 1]]).astype(np.int64)

    def __repr__(self) -> str:
        return f"Catalog(skills={self.n_skills}, items={self.n_items})"


@dataclass
class World:
    """Everything a SkillPath deployment knows besides events: catalog, mentees, mentors."""

    catalog: Catalog
    mentees: dict[str, Mentee]
    mentors: dict[str, Mentor]

    def mentee(self, user_id: str) -> Mentee:
        try:
            return self.mentees[user_id]
        except KeyError:
            raise UnknownUserError(user_id) from None

    def mentor(self, mentor_id: str) -> Mentor:
        try:
            return self.mentors[mentor_id]
        except KeyError:
            raise UnknownMentorError(mentor_id) from None

    @classmethod
    def build(cls, skills: Sequence[Skill], resources: Sequence[Resource],
              mentees: Sequence[Mentee] = (), mentors: Sequence[Mentor] = ()) -> "World":
        return cls(Catalog(skills, resources), {m.user_id: m for m in mentees},
                   {m.mentor_id: m for m in mentors})
