"""The prerequisite graph: a DAG over skills, checked once and queried often."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

from catalog.errors import CycleError, UnknownSkillError
from catalog.schema import Skill, SkillLevel

__all__ = ["SkillGraph"]


class SkillGraph:
    """Skills and their prerequisites, validated to be a DAG.

    ``prereqs[s]`` are the direct prerequisites of ``s`` (with required levels);
    ``dependents[s]`` the skills that list ``s`` as a prerequisite.

    Raises
    ------
    UnknownSkillError
        A prerequisite names a skill that does not exist.
    CycleError
        The graph has a cycle; the error names the skills on it.
    """

    def __init__(self, skills: Iterable[Skill]) -> None:
        self.skills: dict[str, Skill] = {s.skill_id: s for s in skills}
        self.prereqs: dict[str, tuple[SkillLevel, ...]] = {}
        self.dependents: dict[str, list[str]] = {s: [] for s in self.skills}
        unknown: list[str] = []
        for sid, skill in self.skills.items():
            self.prereqs[sid] = skill.prerequisites
            for p in skill.prerequisites:
                if p.skill_id not in self.skills:
                    unknown.append(p.skill_id)
                else:
                    self.dependents[p.skill_id].append(sid)
        if unknown:
            raise UnknownSkillError(sorted(set(unknown)), "a prerequisite must be a defined skill")
        self.order: list[str] = self._toposort()
        self._rank = {s: i for i, s in enumerate(self.order)}

    def __len__(self) -> int:
        return len(self.skills)

    def __contains__(self, skill_id: object) -> bool:
        return skill_id in self.skills

    def __getitem__(self, skill_id: str) -> Skill:
        try:
            return self.skills[skill_id]
        except KeyError:
            raise UnknownSkillError(skill_id) from None

    @staticmethod
    def find_cycle(prereqs: Mapping[str, Iterable[str]]) -> list[str] | None:
        """Return one cycle (as a list of skill ids, each a prerequisite of the next) or None."""
        white, grey, black = 0, 1, 2
        color = {s: white for s in prereqs}
        for root in sorted(prereqs):
            if color[root] != white:
                continue
            stack: list[tuple[str, list[str]]] = [(root, sorted(prereqs[root]))]
            path = [root]
            color[root] = grey
            while stack:
                node, children = stack[-1]
                if children:
                    child = children.pop()
                    if color.get(child, black) == grey:
                        cyc = path[path.index(child):]
                        return list(reversed(cyc))
                    if color.get(child, black) == white:
                        color[child] = grey
                        path.append(child)
                        stack.append((child, sorted(prereqs.get(child, ()))))
                else:
                    color[node] = black
                    path.pop()
                    stack.pop()
        return None

    def _toposort(self) -> list[str]:
        # Kahn's algorithm with a heap: deterministic (alphabetical among ready skills).
        indeg = {s: len(self.prereqs[s]) for s in self.skills}
        ready = [s for s, d in indeg.items() if d == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            s = heapq.heappop(ready)
            order.append(s)
            for d in self.dependents[s]:
                indeg[d] -= 1
                if indeg[d] == 0:
                    heapq.heappush(ready, d)
        if len(order) != len(self.skills):
            remaining = {s: [p.skill_id for p in self.prereqs[s]] for s in self.skills if indeg[s] > 0}
            raise CycleError(self.find_cycle(remaining) or sorted(remaining))
        return order

    def rank(self, skill_id: str) -> int:
        """Position in a fixed topological order (prerequisites have smaller ranks)."""
        return self._rank[skill_id]

    def ancestors(self, skill_id: str) -> set[str]:
        """All transitive prerequisites of ``skill_id`` (not including itself)."""
        self[skill_id]
        seen: set[str] = set()
        stack = [p.skill_id for p in self.prereqs[skill_id]]
        while stack:
            s = stack.pop()
            if s not in seen:
                seen.add(s)
                stack.extend(p.skill_id for p in self.prereqs[s])
        return seen

    def descendants(self, skill_id: str) -> set[str]:
        """All skills that (transitively) require ``skill_id``."""
        self[skill_id]
        seen: set[str] = set()
        stack = list(self.dependents[skill_id])
        while stack:
            s = stack.pop()
            if s not in seen:
                seen.add(s)
                stack.extend(self.dependents[s])
        return seen

    def depth(self) -> dict[str, int]:
        """Longest prerequisite chain below each skill (roots have depth 0)."""
        d: dict[str, int] = {}
        for s in self.order:
            d[s] = max((d[p.skill_id] + 1 for p in self.prereqs[s]), default=0)
        return d
