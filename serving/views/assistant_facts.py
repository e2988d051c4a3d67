"""What the virtual mentor fetches per intent, through the code the REST endpoints run.

``next_step`` is ``POST /recommend``, ``path`` and ``progress`` are ``POST /path``,
``explain`` of a skill is ``GET /skills/{id}``, ``mentor`` is ``POST /mentors/match`` (or,
for named skills, the ranking ``/path`` uses to name a mentor per step), ``stale`` reads
the freshness ``/recommend`` filters by, ``search`` is the BM25 index: each is called
through :class:`Endpoints` (the running app's methods) or the serving objects it holds,
and the answers become :mod:`analysis.assistant.cards`. Nothing is invented here: a
card holds values an endpoint returned or the catalog has (docs/assistant.md, "Wiring").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from analysis.assistant import (
    ConversationState, Entities, Facts, GoalProgress, MentorCard, ProgressCard, ResourceIndex,
    SkillCard, SkillRef, StepCard, Understanding, resource_card, search_facts, skill_names,
)
from catalog.catalog import World
from catalog.errors import NotReadyError
from catalog.schema import DEFAULT_PREREQ_LEVEL, Mentee
from recommender.matching import Need, rank_mentors
from recommender.mastery.bkt import level_of
from serving.bundle import CatalogView
from serving.schemas import RecommendRequest, RecommendResponse
from serving.schemas_mentors import MentorMatchRequest, MentorMatchResponse
from serving.schemas_paths import GoalIn, PathRequest, PathResponse, SkillResponse
from serving.userstate import MenteeContexts
from serving.views.mentors import MentorsView

__all__ = ["Endpoints", "Fetched", "FactFetcher", "needs_profile", "CARDS", "PLAN_STEPS"]

CARDS = 5  # cards an answer shows
PLAN_STEPS = 20  # a path is planned this far, so totals and the deadline check describe more than 5 steps
_EXPLAIN_POOL = 100  # recommendations searched for an item's reasons


class Endpoints(Protocol):
    """The running app's endpoint methods (``SkillPathApp``), the same ones the routes call."""

    def recommend(self, req: RecommendRequest) -> RecommendResponse: ...
    def path(self, req: PathRequest, *, mentors: bool = True) -> PathResponse: ...
    def skill(self, skill_id: str) -> SkillResponse: ...
    def mentor_match(self, req: MentorMatchRequest) -> MentorMatchResponse: ...


@dataclass
class Fetched:
    """The facts of one answer, plus the skill ids behind each mentor card (the API lists ids, the text names)."""

    facts: Facts = Facts()
    mentor_skills: dict[str, tuple[str, ...]] = field(default_factory=dict)


def needs_profile(u: Understanding) -> bool:
    """Intents that need the mentee's stored goals when the message names no skill."""
    return u.intent in ("progress", "set_goal") or (u.intent in ("path", "mentor") and not u.entities.skills)


def _date(s: str | None) -> date | None:
    return date.fromisoformat(s) if s else None


class FactFetcher:
    """Fetches :class:`Facts` for an understood message; one per service, read-only, thread-safe."""

    def __init__(self, world: World, endpoints: Endpoints, *, index: ResourceIndex, mentors: MentorsView,
                 contexts: MenteeContexts, catalog_view: Callable[[], CatalogView]) -> None:
        self.world, self.endpoints, self.index = world, endpoints, index
        self.mentors, self.contexts, self.catalog_view = mentors, contexts, catalog_view
        self._fetch = {"next_step": self._next_step, "path": self._path, "explain": self._explain,
                       "search": self._search, "progress": self._progress, "mentor": self._mentor,
                       "stale": self._stale}

    def fetch(self, u: Understanding, state: ConversationState, user_id: str, now: datetime) -> Fetched:
        """The facts ``u`` needs (nothing for help and set_goal: the caller proposes and saves goals)."""
        fn = self._fetch.get(u.intent)
        return Fetched() if fn is None or not u.understood else fn(u, state, user_id, now)

    def _names(self, u: Understanding) -> dict[str, str]:
        return skill_names(self.world.catalog, u.entities.skills)

    # ------------------------------------------------------------ per intent
    def _next_step(self, u: Understanding, state: ConversationState, user_id: str, now: datetime) -> Fetched:
        e = u.entities
        extra = bool(e.level or e.language)  # filters /recommend has not: ask for more, keep the matching ones
        resp = self.endpoints.recommend(RecommendRequest(
            user_id=user_id, k=50 if extra else CARDS, goal_skills=list(e.skills) or None,
            types=list(e.types) or None, max_minutes=e.max_minutes))
        items = resp.items
        if extra:
            ok = self.index.mask(Entities(skills=e.skills, level=e.level, language=e.language), now=now)
            cat = self.world.catalog
            items = [i for i in items if ok[cat.items.index(i.item_id)]]
        cards = tuple(resource_card(self.world.catalog, i.item_id, reasons=tuple(i.reasons)) for i in items[:CARDS])
        return Fetched(Facts(resources=cards, names=self._names(u)))

    def _plan(self, user_id: str, e: Entities, *, mentors: bool = True) -> PathResponse:
        goals = [GoalIn(skill=s, level=e.level[1] if e.level else None) for s in e.skills] or None
        return self.endpoints.path(PathRequest(user_id=user_id, goals=goals, max_steps=PLAN_STEPS), mentors=mentors)

    def _path(self, u: Understanding, state: ConversationState, user_id: str, now: datetime) -> Fetched:
        return self._path_facts(user_id, u.entities, self._names(u))

    def _path_facts(self, user_id: str, e: Entities, names: dict[str, str]) -> Fetched:
        p = self._plan(user_id, e)
        steps = tuple(StepCard(s.step, s.item_id, s.title, s.type, s.minutes, s.skill, s.skill_name, s.level,
                               _date(s.eta), tuple(s.reasons), s.mentor.mentor_id if s.mentor else None,
                               s.mentor.name if s.mentor else None) for s in p.steps)
        return Fetched(Facts(steps=steps, names=names, total_steps=p.total_steps,
                             total_minutes=p.total_minutes,
                             unreachable=tuple((x.skill_name, x.reason) for x in p.unreachable)))

    def _explain(self, u: Understanding, state: ConversationState, user_id: str, now: datetime) -> Fetched:
        iid = u.entities.item_id
        if iid is None:
            cards = tuple(self._skill_card(s) for s in u.entities.skills[:CARDS])
            return Fetched(Facts(skills=cards, names=self._names(u)))
        if state.intent == "path" and iid in state.card_ids:  # a step of the last path: the plan's reasons
            steps = self._path_facts(user_id, state.entities, {})
            if any(s.item_id == iid for s in steps.facts.steps):
                return steps
        reasons: tuple[str, ...] = ()
        try:
            resp = self.endpoints.recommend(RecommendRequest(user_id=user_id, k=_EXPLAIN_POOL,
                                                             include_stale=True))
            reasons = next((tuple(i.reasons) for i in resp.items if i.item_id == iid), ())
        except NotReadyError:  # no model yet: the card describes itself
            pass
        return Fetched(Facts(resources=(resource_card(self.world.catalog, iid, reasons=reasons),)))

    def _skill_card(self, skill_id: str) -> SkillCard:
        s = self.endpoints.skill(skill_id)
        return SkillCard(s.skill_id, s.name, s.domain,
                         tuple(SkillRef(p.skill_id, p.name, p.level) for p in s.prerequisites),
                         tuple(SkillRef(d.skill_id, d.name, d.level) for d in s.dependents), s.resources)

    def _search(self, u: Understanding, state: ConversationState, user_id: str, now: datetime) -> Fetched:
        mentee = self.world.mentees.get(user_id)
        return Fetched(search_facts(u, self.index, k=CARDS, now=now, language=(mentee.language or None) if mentee
                                    else None))

    def _progress(self, u: Understanding, state: ConversationState, user_id: str, now: datetime) -> Fetched:
        p = self._plan(user_id, Entities(), mentors=False)  # progress names no mentor: skip ranking them per step
        eta: dict[str, date] = {}
        for s in p.steps:  # the last step serving a goal is when the plan reaches it
            eta[s.goal] = date.fromisoformat(s.eta)
        unreachable = {x.skill for x in p.unreachable}
        goals = []
        for g in p.goals:
            m = p.mastery.get(g.skill)
            goals.append(GoalProgress(g.skill, g.skill_name, g.level, None if m is None else float(level_of(m)), m,
                                      g.met, _date(g.deadline), None if g.skill in unreachable else eta.get(g.skill)))
        ctx = self.contexts.get(user_id, now=now)
        done = {r[0] for r in ctx.rows if r[1] == "complete"}
        started = {r[0] for r in ctx.rows if r[1] == "start"} - done
        return Fetched(Facts(progress=ProgressCard(tuple(goals), len(done), len(started)), names=self._names(u)))

    def _mentor(self, u: Understanding, state: ConversationState, user_id: str, now: datetime) -> Fetched:
        names = self.mentors.matcher.skill_names
        assigned = self.mentors.pairs().get(user_id)
        if not u.entities.skills:
            resp = self.endpoints.mentor_match(MentorMatchRequest(user_id=user_id, k=CARDS))
            helpful = [m for m in resp.mentors if m.covered_skills or m.partial_skills]  # "who can help": not nobody
            cards = tuple(MentorCard(m.mentor_id, m.name, tuple(names.get(s, s) for s in m.covered_skills),
                                     m.free_places, m.mentor_id == assigned, tuple(m.reasons)) for m in helpful)
            return Fetched(Facts(mentors=cards), {m.mentor_id: tuple(m.covered_skills) for m in helpful})
        mentee = self.world.mentees.get(user_id) or Mentee(user_id)
        wanted = {g.skill_id: g.level for g in mentee.goals}
        level = u.entities.level[0] if u.entities.level else None
        needs = [Need(s, level or wanted.get(s, DEFAULT_PREREQ_LEVEL), 1.0) for s in u.entities.skills]
        matcher = self.mentors.matcher
        ranked = rank_mentors(needs, mentee, matcher.mentors, len(matcher.mentors),
                              loads=self.mentors.loads(without=[user_id]), weights=matcher.weights,
                              skill_names=names)
        cards, skills = [], {}
        for r in ranked:  # only mentors who know an asked skill at the level needed
            covered = tuple(s for s in r.match.covered_skills if s in u.entities.skills)
            if covered:
                cards.append(MentorCard(r.mentor_id, r.name, tuple(names.get(s, s) for s in covered), r.free_places,
                                        r.mentor_id == assigned, tuple(r.match.reasons)))
                skills[r.mentor_id] = covered
            if len(cards) == CARDS:
                break
        return Fetched(Facts(mentors=tuple(cards), names=self._names(u)), skills)

    def _stale(self, u: Understanding, state: ConversationState, user_id: str, now: datetime) -> Fetched:
        view, cat = self.catalog_view(), self.world.catalog
        e = u.entities
        if e.item_id:
            idx = [cat.items.index(e.item_id)]
        elif e.skills:  # the skill's active resources, stalest first
            idx = sorted({int(i) for s in e.skills for i in cat.items_for_skill(s) if cat.active[i]},
                         key=lambda i: (view.freshness[i], i))[:CARDS]
        else:  # "are these outdated?": the last answer's cards
            idx = [i for i in (cat.items.get(c) for c in state.card_ids[:CARDS]) if i >= 0]
        cards = tuple(resource_card(cat, cat.items.ids[i], freshness=round(float(view.freshness[i]), 4),
                                    stale=not bool(view.fresh[i])) for i in idx)
        return Fetched(Facts(resources=cards, names=self._names(u)))

