"""Learning paths for the service: ``POST /path``, ``/recommend`` in mode ``path``, ``GET /skills/{id}``.

A thin layer over the pure :mod:`recommender.paths.answers`: it supplies what the planner
takes from the serving side (the mentee's events from the log, the served model's
scores of the mentee's folded-in vector over all items, today's freshness, the clock),
maps errors to request fields, and names a mentor for each step: the mentee's own
mentor (persisted assignment) when they know the step's skill at its level, else the
best mentor with a free place who does (:class:`recommender.matching.MentorMatcher`'s
scoring, one need).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from catalog.catalog import World
from catalog.errors import ConfigError, UnknownSkillError, UnknownUserError
from catalog.schema import Mentee
from recommender.matching import Need, rank_mentors
from recommender.paths.answers import next_up_view, path_view, skill_view
from serving.errors import FieldError
from serving.schemas import RecommendedItem, RecommendRequest, RecommendResponse
from serving.schemas_paths import PathRequest, PathResponse, SkillResponse, StepMentor

if TYPE_CHECKING:  # pragma: no cover
    from serving.app import SkillPathApp

__all__ = ["PathsView", "MAX_NEXT_UP"]

MAX_NEXT_UP = 5


class PathsView:
    """Path endpoints over a :class:`~serving.app.SkillPathApp` (its world, log, model and mentors)."""

    def __init__(self, app: SkillPathApp) -> None:
        self.app = app
        # The catalog is fixed for the app's life (reloads swap the model only): name skills once.
        self.skill_names: dict[str, str] = {s: sk.name or s for s, sk in app.world.catalog.skills.items()}

    # ------------------------------------------------------------ POST /path
    def plan(self, req: PathRequest) -> PathResponse:
        goals = None if req.goals is None else [(g.skill, g.level) for g in req.goals]
        view, world, scores, source, version = self._inputs(req.user_id, [s for s, _ in goals or []], "goals")
        out = self._call(lambda: path_view(
            world, self.app.log.user_events(req.user_id), user_id=req.user_id, scores=scores,
            freshness=view.freshness, now=self.app.clock(), goals=goals, max_steps=req.max_steps,
            minutes_per_week=req.minutes_per_week), "goals")
        self._add_mentors(world.mentees[req.user_id], out["steps"])
        out.pop("prerequisites", None)
        return PathResponse.model_validate({**out, "model_version": version, "scores_from": source})

    # ------------------------------------------------------------ /recommend, mode "path"
    def next_up(self, req: RecommendRequest) -> RecommendResponse:
        """The first ``min(k, 5)`` path steps in the ``/recommend`` items shape.

        ``goal_skills`` are the goals (default: the mentee's); ``types``, ``max_minutes`` and
        ``exclude_item_ids`` restrict what may be planned; staleness follows the planner
        (fresh material first; stale only when nothing fresh fits, and the reasons say so).
        """
        app = self.app
        skills = list(dict.fromkeys(req.goal_skills or []))
        view, world, scores, source, version = self._inputs(req.user_id, skills, "goal_skills")
        cat = world.catalog
        allow = view.allow_mask(types=tuple(sorted(set(req.types or ()))), max_minutes=req.max_minutes,
                                include_stale=True)
        scores = scores.copy()
        if allow is not None:
            scores[~allow.mask] = np.nan
        scores[app._item_indices(req.exclude_item_ids, "exclude_item_ids")] = np.nan
        goals = [(s, None) for s in skills] or None
        events = app.log.user_events(req.user_id)
        known = req.user_id in world.mentees or len(events) > 0
        out = self._call(lambda: next_up_view(
            world, events, user_id=req.user_id, scores=scores,
            freshness=view.freshness, now=app.clock(), n=min(req.k, MAX_NEXT_UP), goals=goals),
            "goal_skills")
        self._add_mentors(world.mentees[req.user_id], out["steps"])
        lam = view.freshness_weight
        items = []
        for st in out["steps"]:
            i = cat.items.index(st["item_id"])
            res = cat.resources[i]
            reasons = [f"step {st['step']} of your path to {cat.skills[st['goal']].name}", *st["reasons"]]
            if st.get("mentor"):
                reasons.append(st["mentor"].reason)
            items.append(RecommendedItem(
                item_id=res.item_id, title=res.title, type=res.type,
                score=float(scores[i] + lam * view.log_freshness[i]), freshness=float(view.freshness[i]),
                skills=[f"{x.skill_id}:{x.level}" for x in res.skills], reasons=reasons))
        return RecommendResponse(user_id=req.user_id, model_version=version, user_known=known,
                                 fallback=None if source == "model" else source,
                                 online_features=app._online_status(), mode="path", items=items)

    # ------------------------------------------------------------ GET /skills/{id}
    def skill(self, skill_id: str) -> SkillResponse:
        return SkillResponse.model_validate(skill_view(self.app.world.catalog, skill_id))

    # ------------------------------------------------------------ helpers
    def _inputs(self, user_id: str, goal_skills: list[str], field: str
                ) -> tuple[Any, World, NDArray[np.float64], Literal["model", "content", "popular"], str]:
        """(catalog view, world holding the mentee, scores over all items, where they came from, model)."""
        app = self.app
        b = app.bundle
        world = app.world
        unknown = [s for s in dict.fromkeys(goal_skills) if s not in world.catalog.skill_ids]
        if unknown:
            raise FieldError([field], UnknownSkillError(unknown, "see GET /skills/{skill_id} or the skills file"))
        if user_id not in world.mentees:
            if not goal_skills:
                hint = ("has events but no profile" if app.log.last_seq(user_id) > 0 else "has no profile")
                raise FieldError(["user_id"], UnknownUserError(
                    user_id, f"{user_id!r} {hint}, so there are no stored goals to plan for; pass {field}"))
            # A mentee without a profile, with explicit goals: plan from their events alone.
            world = dataclasses.replace(world, mentees={user_id: Mentee(user_id)})
        goals_idx = world.catalog.skill_ids.indices(goal_skills) if goal_skills else app._profile_goals(user_id)
        scores, source = app.score_all(b, user_id, goals_idx)
        return b.view, world, scores, source, b.version

    @staticmethod
    def _call(fn: Any, field: str) -> dict[str, Any]:
        """Run the planner; goal problems name the request field."""
        try:
            return fn()
        except (UnknownSkillError, ConfigError) as e:
            raise FieldError([field], e) from None

    def _add_mentors(self, mentee: Mentee, steps: list[dict[str, Any]]) -> None:
        """Set ``step["mentor"]`` (a :class:`StepMentor` or None) on each step, one look-up per skill level."""
        if not steps:
            return
        app = self.app
        names = self.skill_names
        pairs = app.mentors.pairs()
        loads = app.mentors.loads(without=[mentee.user_id])
        mine = pairs.get(mentee.user_id)
        seen: dict[tuple[str, int], StepMentor | None] = {}
        for st in steps:
            key = (st["skill"], int(st["level"]))
            if key not in seen:
                seen[key] = self._mentor_for(mentee, *key, mine, loads, names)
            st["mentor"] = seen[key]

    def _mentor_for(self, mentee: Mentee, skill: str, level: int, mine: str | None,
                    loads: Mapping[str, int], names: Mapping[str, str]) -> StepMentor | None:
        world = self.app.world
        name = names.get(skill, skill)
        if mine is not None and mine in world.mentors:
            m = world.mentors[mine]
            have = {s.skill_id: s.level for s in m.skills}.get(skill, 0)
            if have >= level:
                return StepMentor(mentor_id=m.mentor_id, name=m.name or m.mentor_id, assigned=True,
                                  reason=f"your mentor {m.name or m.mentor_id} knows {name} at level {have}")
        matcher = self.app.mentors.matcher
        ranked = rank_mentors([Need(skill, level, 1.0)], mentee, matcher.mentors, 3, loads=dict(loads),
                              weights=matcher.weights, skill_names=names)
        for r in ranked:  # a full cover outranks any non-cover (coverage + urgency weigh 0.6 of 1)
            if skill in r.match.covered_skills:
                have = {s.skill_id: s.level for s in world.mentors[r.mentor_id].skills}[skill]
                places = "1 free place" if r.free_places == 1 else f"{r.free_places} free places"
                return StepMentor(mentor_id=r.mentor_id, name=r.name or r.mentor_id, assigned=False,
                                  reason=f"{r.name or r.mentor_id} can help with {name} (level {have}; {places})")
        return None
