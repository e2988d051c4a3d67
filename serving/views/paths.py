"""Learning paths for the service: ``POST /path``, ``/recommend`` in mode ``path``, ``GET /skills/{id}``.

A thin layer over :mod:`recommender.paths.answers`: it hands the planner the mentee's
context and the bundle's scores of it over all items (the rule ``/recommend`` ranks with)
with today's freshness, maps errors to request fields, and names a mentor for each step:
the mentee's own mentor (persisted assignment) when they know the step's skill at its
level, else the best mentor with a free place who does
(:class:`recommender.matching.MentorMatcher`'s scoring, one need).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from catalog.catalog import World
from catalog.errors import ConfigError, UnknownSkillError, UnknownUserError
from catalog.schema import Mentee
from recommender.context import MenteeContext
from recommender.matching import Need, rank_mentors
from recommender.paths.answers import MAX_NEXT_UP, next_up_view, path_view, skill_view
from serving.bundle import ModelBundle, ScoreSource
from serving.errors import FieldError
from serving.schemas import RecommendedItem, RecommendRequest, RecommendResponse
from serving.schemas_paths import PathRequest, PathResponse, SkillResponse, StepMentor
from serving.views.mentors import MentorsView
from serving.views.recommend import OnlineStatus, item_indices

__all__ = ["PathsView", "MAX_NEXT_UP"]


class PathsView:
    """Path endpoints over ``world`` (fixed for the service's life) and its persisted mentor assignment."""

    def __init__(self, world: World, mentors: MentorsView) -> None:
        self.world, self.mentors = world, mentors
        # The catalog is fixed for the service's life (reloads swap the model only): name skills once.
        self.skill_names: dict[str, str] = {s: sk.name or s for s, sk in world.catalog.skills.items()}

    def over(self, world: World, mentors: MentorsView) -> PathsView:
        """This view over ``world`` (this one's skill graph: a resource write), its skill names kept."""
        new = PathsView.__new__(PathsView)
        new.world, new.mentors, new.skill_names = world, mentors, self.skill_names
        return new

    # ------------------------------------------------------------ POST /path
    def plan(self, req: PathRequest, ctx: MenteeContext, b: ModelBundle, *, mentors: bool = True) -> PathResponse:
        """The path toward ``ctx.goals`` (the request's ``goals``, else the mentee's); ``mentors=False``
        leaves the steps' mentors out (most of the call's time, for callers that do not show them)."""
        scores, source = self._scores(ctx, b, "goals")
        out = self._call(lambda: path_view(ctx, scores=scores, freshness=b.view.freshness, max_steps=req.max_steps,
                                           minutes_per_week=req.minutes_per_week), "goals")
        if mentors:
            self._add_mentors(ctx.mentee, out["steps"])
        out.pop("prerequisites", None)
        return PathResponse.model_validate({**out, "model_version": b.version, "scores_from": source})

    # ------------------------------------------------------------ /recommend, mode "path"
    def next_up(self, req: RecommendRequest, ctx: MenteeContext, b: ModelBundle, *, online: OnlineStatus
                ) -> RecommendResponse:
        """The first ``min(k, 5)`` path steps in the ``/recommend`` items shape.

        ``goal_skills`` are the goals (default: the mentee's); ``types``, ``max_minutes`` and
        ``exclude_item_ids`` restrict what may be planned; staleness follows the planner
        (fresh material first; stale only when nothing fresh fits, and the reasons say so).
        """
        view, cat = b.view, b.view.catalog
        scores, source = self._scores(ctx, b, "goal_skills")
        allow = view.allow_mask(types=tuple(sorted(set(req.types or ()))), max_minutes=req.max_minutes,
                                include_stale=True)
        scores = scores.copy()
        if allow is not None:
            scores[~allow.mask] = np.nan
        scores[item_indices(cat, req.exclude_item_ids, "exclude_item_ids")] = np.nan
        out = self._call(lambda: next_up_view(ctx, scores=scores, freshness=view.freshness,
                                              n=min(req.k, MAX_NEXT_UP)), "goal_skills")
        self._add_mentors(ctx.mentee, out["steps"])
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
        return RecommendResponse(user_id=ctx.user_id, model_version=b.version,
                                 user_known=ctx.has_profile or ctx.n_events > 0,
                                 fallback=None if source == "model" else source,
                                 online_features=online, mode="path", items=items)

    # ------------------------------------------------------------ GET /skills/{id}
    def skill(self, skill_id: str) -> SkillResponse:
        return SkillResponse.model_validate(skill_view(self.world.catalog, skill_id))

    # ------------------------------------------------------------ helpers
    def _scores(self, ctx: MenteeContext, b: ModelBundle, field: str) -> tuple[NDArray[np.float64], ScoreSource]:
        """The bundle's scores of the mentee over all items; a mentee without a profile needs goals."""
        if not ctx.has_profile and not ctx.goals_requested:
            hint = "has events but no profile" if ctx.n_events > 0 else "has no profile"
            raise FieldError(["user_id"], UnknownUserError(
                ctx.user_id, f"{ctx.user_id!r} {hint}, so there are no stored goals to plan for; pass {field}"))
        return b.scores(ctx)

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
        names = self.skill_names
        pairs = self.mentors.pairs()
        loads = self.mentors.loads(without=[mentee.user_id])
        mine = pairs.get(mentee.user_id)
        seen: dict[tuple[str, int], StepMentor | None] = {}
        for st in steps:
            key = (st["skill"], int(st["level"]))
            if key not in seen:
                seen[key] = self._mentor_for(mentee, *key, mine, loads, names)
            st["mentor"] = seen[key]

    def _mentor_for(self, mentee: Mentee, skill: str, level: int, mine: str | None,
                    loads: Mapping[str, int], names: Mapping[str, str]) -> StepMentor | None:
        world = self.world
        name = names.get(skill, skill)
        if mine is not None and mine in world.mentors:
            m = world.mentors[mine]
            have = {s.skill_id: s.level for s in m.skills}.get(skill, 0)
            if have >= level:
                return StepMentor(mentor_id=m.mentor_id, name=m.name or m.mentor_id, assigned=True,
                                  reason=f"your mentor {m.name or m.mentor_id} knows {name} at level {have}")
        matcher = self.mentors.matcher
        ranked = rank_mentors([Need(skill, level, 1.0)], mentee, matcher.mentors, 3, loads=dict(loads),
                              weights=matcher.weights, skill_names=names)
        for r in ranked:  # a full cover outranks any non-cover (coverage + urgency weigh 0.6 of 1)
            if skill in r.match.covered_skills:
                have = {s.skill_id: s.level for s in world.mentors[r.mentor_id].skills}[skill]
                places = "1 free place" if r.free_places == 1 else f"{r.free_places} free places"
                return StepMentor(mentor_id=r.mentor_id, name=r.name or r.mentor_id, assigned=False,
                                  reason=f"{r.name or r.mentor_id} can help with {name} (level {have}; {places})")
        return None
