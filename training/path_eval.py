"""Does the plan make people learn? Policies against the synthetic world's hidden truth.

A learner simulator: a mentee starts at their TRUE mastery (the synthetic world's hidden
truth at the end of the observed history, consistent with the events every policy sees),
then for ``steps`` rounds the policy recommends one resource, the mentee studies it (true
mastery moves by :meth:`catalog.synth.TrueLearningModel.study`, with noise) and the
policy observes what a real system would: a ``start`` and a ``complete`` event, and
sometimes (by resource type, as in the world's own simulation) a noisy ``assess`` score
on the resource's main skill. The policy then re-plans or re-scores.

**Metric.** On the mentee's goal skills ``g`` with target mastery ``t_g = level_g / 5``,
``score(m) = mean_g min(m_g, t_g)`` (learning beyond the target does not count) and
``score_max = mean_g t_g``. Learning effectiveness
``E = (score_end - score_start) / (score_max - score_start)``: 0 = nothing learned toward
the goals, 1 = every goal reached. True mastery never decreases, so E is in [0, 1].

**Policies** (same mentees, same seeds, same random streams per mentee):

- ``hybrid``: the default ``/recommend`` list (:func:`recommender.hybrid.hybrid_next_up`, the
  shipped weights), its first item;
- ``planner``: :func:`recommender.paths.replan.replan` (BKT mastery from the events, partial
  credit for completed work, prerequisites, level fit, freshness), first step of the plan;
  the model's fold-in scores break ties;
- ``planner-fullcredit``: the same with all-or-nothing credit (a completion
  reaches its level, :data:`recommender.paths.credit.FULL_CREDIT`);
- ``planner-nocredit``: the same with ``credit_completed=False``: levels from BKT mastery
  only, no credit for completed work (see ``docs/paths.md``, re-planning);
- ``planner-noprereq``: the planner with ``prerequisites=False`` (the ablation);
- ``goal-topk``: the model's best item among those tagged with a goal skill;
- ``topk``: the model's best item (plain top-k, re-scored after every step by fold-in);
- ``popularity``: the most popular item not yet seen; ``random``: any item not yet seen.

Every policy skips items the mentee has seen (viewed, started, completed, dismissed) or
that are inactive. When the plan is empty (goals believed met, or nothing reachable) the
planners fall back to ``goal-topk``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.catalog import World
from catalog.errors import ConfigError, NotReadyError
from catalog.freshness import catalog_freshness
from catalog.schema import EVENT_COLUMNS, Mentee
from catalog.synth.learning import TrueLearningModel, assessment_score
from recommender.hybrid import DEFAULT_WEIGHTS, HybridWeights, hybrid_next_up
from recommender.interactions import EventWeights, build_id_maps, build_interactions
from recommender.mastery import MasteryModel
from recommender.models import Recommender, make_model
from recommender.paths.credit import DEFAULT_CREDIT, FULL_CREDIT, CompletionCredit
from recommender.paths.replan import PLANNING_THRESHOLD, replan

__all__ = ["POLICIES", "ASSESS_P", "PathEvalConfig", "EvalWorld", "MenteeRun", "prepare_world",
           "eligible_mentees", "goal_score", "required_arrays", "run_mentee", "sample_mentees", "run_evaluation", "runs_frame"]

POLICIES: tuple[str, ...] = ("hybrid", "planner", "planner-fullcredit", "planner-nocredit", "planner-noprereq", "goal-topk",
                              "topk", "popularity", "random")
# Chance that studying a resource of this type ends with an assessment (the world's own rates).
ASSESS_P: dict[str, float] = {"quiz": 0.9, "exercise": 0.7, "project": 0.5, "course": 0.4, "tutorial": 0.15}
_DEFAULT_ASSESS_P = 0.03


@dataclass(frozen=True, kw_only=True)
class PathEvalConfig:
    """What to simulate: seeds, mentees per seed, steps per mentee, the model, the policies."""

    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    n_mentees: int = 60
    steps: int = 20
    model: str = "als"
    model_params: dict[str, Any] = field(default_factory=dict)
    policies: tuple[str, ...] = POLICIES
    min_gap: float = 0.1           # mentees whose goal score is this far from the target
    near_max_required: int = 4     # "near" mentees have at most this many skills to learn
    horizon_weeks: int = 12
    credit: CompletionCredit = DEFAULT_CREDIT   # the planners' credit for completed work
    planning_threshold: float | None = PLANNING_THRESHOLD  # the planners' level bar (None: BKT's 0.95)
    hybrid_weights: HybridWeights = DEFAULT_WEIGHTS

    def __post_init__(self) -> None:
        unknown = [p for p in self.policies if p not in POLICIES]
        if unknown:
            raise ConfigError(f"unknown policies {unknown}; choose from {list(POLICIES)}")
        if not self.seeds or self.n_mentees < 1 or self.steps < 1:
            raise ConfigError("need at least one seed, one mentee and one step")
        if not 0 < self.min_gap < 1:
            raise ConfigError(f"min_gap must be in (0, 1), got {self.min_gap}")


@dataclass
class EvalWorld:
    """A world prepared once for every policy and seed: truth, a trained model, item arrays."""

    world: World
    now: datetime
    user_ids: list[str]                   # rows of ``mastery`` and ``history``
    mastery: NDArray[np.float64]          # true mastery at ``now``, users x skills
    learning: TrueLearningModel
    model: Recommender
    history: sp.csr_matrix                # training confidences, users x items
    blocked: sp.csr_matrix                # seen or dismissed in the history, users x items
    popularity: NDArray[np.float64]
    freshness: NDArray[np.float64]
    levels: NDArray[np.float64]           # items x skills, 0 = not taught
    primary: NDArray[np.int64]            # main skill of each item (its first tag)
    events_by_user: dict[str, pd.DataFrame]
    mastery_model: MasteryModel = field(default_factory=MasteryModel)

    def user_index(self, user_id: str) -> int:
        return self.user_ids.index(user_id)


def prepare_world(world: World, events: pd.DataFrame, truth: pd.DataFrame, *, now: datetime,
                  model: str = "als", model_params: dict[str, Any] | None = None,
                  mastery_column: str = "mastery_end") -> EvalWorld:
    """Train ``model`` on ``events`` (everything up to ``now``) and index the truth.

    ``truth`` has ``user_id, skill_id`` and ``mastery_column``: the true mastery at ``now``
    (for a synthetic world, ``mastery_end``: the state its events led to).
    """
    cat = world.catalog
    if mastery_column not in truth.columns:
        raise NotReadyError(f"the truth has no {mastery_column!r} column")
    users, items = build_id_maps(events, catalog=cat, mentees=world.mentees.values())
    inter = build_interactions(events, users=users, items=items, now=now, on_unknown="drop")
    fitted = make_model(model, **(model_params or {})).fit(inter)
    pop = make_model("popularity", binary=True).fit(inter).score([-1], None)[0].astype(np.float64)
    wide = truth.pivot(index="user_id", columns="skill_id", values=mastery_column)
    wide = wide.reindex(index=users.to_list(), columns=cat.skill_ids.to_list())
    blocked = sp.csr_matrix(sp.csr_matrix(inter.seen, dtype=bool) + sp.csr_matrix(inter.dismissed, dtype=bool))
    by_user = {str(u): g.loc[:, list(EVENT_COLUMNS)].reset_index(drop=True)
               for u, g in events.groupby("user_id", sort=False)}
    primary = np.array([cat.skill_ids.index(r.skills[0].skill_id) for r in cat.resources], dtype=np.int64)
    return EvalWorld(
        world=world, now=now, user_ids=users.to_list(), mastery=wide.to_numpy(dtype=np.float64),
        learning=TrueLearningModel.from_catalog(cat), model=fitted, history=inter.matrix.tocsr(),
        blocked=blocked, popularity=pop, freshness=catalog_freshness(cat, now),
        levels=cat.item_skill_levels.toarray().astype(np.float64), primary=primary, events_by_user=by_user)


def _goal_arrays(ew: EvalWorld, mentee: Mentee) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    cat = ew.world.catalog
    best: dict[str, int] = {}
    for g in mentee.goals:
        if g.skill_id in cat.skill_ids:
            best[g.skill_id] = max(best.get(g.skill_id, 0), g.level)
    return cat.skill_ids.indices(list(best)), np.array(list(best.values()), dtype=np.float64) / 5.0


def required_arrays(ew: EvalWorld, mentee: Mentee, m: NDArray[np.float64]
                    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The goal skills plus every prerequisite (transitively, at the level the graph asks;
    highest wins) below its required level in TRUE mastery ``m``: what must be learned."""
    cat = ew.world.catalog
    g = cat.graph
    goals, target = _goal_arrays(ew, mentee)
    need = {cat.skill_ids.ids[j]: float(t) for j, t in zip(goals, target)}
    for s in reversed(g.order):
        if s in need and m[cat.skill_ids.index(s)] < need[s]:
            for q in g.prereqs[s]:
                need[q.skill_id] = max(need.get(q.skill_id, 0.0), q.level / 5.0)
    goal_set = set(need) & {cat.skill_ids.ids[j] for j in goals}
    keep = [s for s in need if s in goal_set or m[cat.skill_ids.index(s)] < need[s]]
    return cat.skill_ids.indices(keep), np.array([need[s] for s in keep], dtype=np.float64)


def goal_score(m: NDArray[np.float64], goals: NDArray[np.int64], target: NDArray[np.float64]) -> float:
    """``mean_g min(m_g, t_g)``: progress toward the goals, capped at each target."""
    return float(np.minimum(m[goals], target).mean())


def eligible_mentees(ew: EvalWorld, *, min_gap: float) -> list[int]:
    """Users (rows of ``ew.mastery``) with goals, a truth row, some history the model can
    fold in, and goal score at least ``min_gap`` below the target."""
    out = []
    has_history = np.diff(ew.history.indptr) > 0
    for u, uid in enumerate(ew.user_ids):
        mentee = ew.world.mentees.get(uid)
        if mentee is None or not mentee.goals or not has_history[u] or np.isnan(ew.mastery[u]).any():
            continue
        goals, target = _goal_arrays(ew, mentee)
        if len(goals) and target.mean() - goal_score(ew.mastery[u], goals, target) >= min_gap:
            out.append(u)
    return out


# ------------------------------------------------------------------ policies


@dataclass
class _Step:
    """What a policy sees before choosing: time, the mentee's events, history row, blocked items.

    ``events`` (past plus simulated) is built only when a policy asks for it: only the
    planners read the raw events; the others use the confidence ``row``.
    """

    now: datetime
    past: pd.DataFrame
    new: list[tuple]
    row: NDArray[np.float32]
    blocked: NDArray[np.bool_]

    @property
    def events(self) -> pd.DataFrame:
        return self.past if not self.new else pd.concat([self.past, _frame(self.new)], ignore_index=True)


Policy = Callable[[_Step], int]


def _best(scores: NDArray[np.floating], ok: NDArray[np.bool_]) -> int:
    s = np.where(ok & np.isfinite(scores), scores, -np.inf)
    i = int(np.argmax(s))
    return i if np.isfinite(s[i]) else -1


def _make_policy(name: str, ew: EvalWorld, mentee: Mentee, rng: np.random.Generator, cfg: PathEvalConfig) -> Policy:
    cat = ew.world.catalog
    goals, _ = _goal_arrays(ew, mentee)
    on_goal = (ew.levels[:, goals] > 0).any(axis=1)

    def fold(step: _Step) -> NDArray[np.float64]:
        return ew.model.score([-1], step.row[None, :])[0].astype(np.float64)

    def goal_topk(step: _Step) -> int:
        i = _best(fold(step), ~step.blocked & on_goal)
        return i if i >= 0 else _best(fold(step), ~step.blocked)

    def planner(step: _Step, prerequisites: bool, credit: CompletionCredit | None = cfg.credit) -> int:
        scores = np.where(step.blocked, np.nan, fold(step))
        _, path = replan(model=ew.mastery_model, mentee=mentee, events=step.events, catalog=cat, scores=scores,
                         freshness=ew.freshness, now=step.now, max_steps=3, horizon_weeks=cfg.horizon_weeks,
                         prerequisites=prerequisites, credit_completed=credit is not None,
                         credit=credit or DEFAULT_CREDIT, planning_threshold=cfg.planning_threshold)
        return path.steps[0].item_index if path.steps else goal_topk(step)

    def hybrid(step: _Step) -> int:
        ev = step.events
        state = ew.mastery_model.update(ew.mastery_model.initial_state(cat, user_id=mentee.user_id,
                                                                        self_levels=mentee.self_levels),
                                        ev, cat, now=step.now)
        res = hybrid_next_up(catalog=cat, mentee=mentee, events=ev, now=step.now, state=state,
                             cf_scores=fold(step), allowed=~step.blocked, freshness=ew.freshness, k=1,
                             weights=cfg.hybrid_weights, mastery_model=ew.mastery_model)
        return int(res.chosen.items[0]) if len(res.chosen.items) else goal_topk(step)

    policies: dict[str, Policy] = {
        "hybrid": hybrid,
        "planner": lambda s: planner(s, True),
        "planner-fullcredit": lambda s: planner(s, True, FULL_CREDIT),
        "planner-nocredit": lambda s: planner(s, True, None),
        "planner-noprereq": lambda s: planner(s, False),
        "goal-topk": goal_topk,
        "topk": lambda s: _best(fold(s), ~s.blocked),
        "popularity": lambda s: _best(ew.popularity, ~s.blocked),
        "random": lambda s: int(rng.choice(np.flatnonzero(~s.blocked))) if (~s.blocked).any() else -1,
    }
    return policies[name]


# ------------------------------------------------------------------ simulation


@dataclass(frozen=True)
class MenteeRun:
    """One simulated mentee under one policy and seed."""

    policy: str
    seed: int
    user_id: str
    score_start: float
    score_end: float
    score_max: float
    steps: int
    minutes: int
    goals_reached: bool
    goal_steps: int        # steps on an item that teaches a goal skill
    slice: str             # "near" or "far" (skills to learn vs ``near_max_required``)
    n_required: int        # skills in the requirement set at the start (goals + unmet prerequisites)
    req_start: float
    req_end: float
    req_max: float

    @property
    def effectiveness(self) -> float:
        return (self.score_end - self.score_start) / (self.score_max - self.score_start)

    @property
    def req_effectiveness(self) -> float:
        return (self.req_end - self.req_start) / (self.req_max - self.req_start)


def run_mentee(ew: EvalWorld, policy: str, u: int, *, seed: int, cfg: PathEvalConfig) -> MenteeRun:
    """Simulate ``cfg.steps`` recommendations for user row ``u`` under ``policy``."""
    cat = ew.world.catalog
    uid = ew.user_ids[u]
    mentee = ew.world.mentee(uid)
    goals, target = _goal_arrays(ew, mentee)
    learn_rng = np.random.default_rng([seed, u, 1])      # same stream for every policy
    choose = _make_policy(policy, ew, mentee, np.random.default_rng([seed, u, 2]), cfg)
    m = ew.mastery[u].copy()
    start = goal_score(m, goals, target)
    req, req_t = required_arrays(ew, mentee, m)
    req_start = goal_score(m, req, req_t)
    row = np.asarray(ew.history[u].toarray(), dtype=np.float32).ravel()
    blocked = ~cat.active.copy()
    blocked[ew.blocked[u].indices] = True
    past = ew.events_by_user.get(uid, pd.DataFrame(columns=list(EVENT_COLUMNS)))
    new: list[tuple] = []
    w = EventWeights()
    minutes = goal_steps = taken = 0
    for k in range(cfg.steps):
        t = ew.now + timedelta(days=k + 1)
        i = choose(_Step(t, past, new, row, blocked))
        if i < 0:
            break
        dur = int(cat.duration_minutes[i])
        m = ew.learning.study(m, ew.levels[i], ew.freshness[i], learn_rng, duration_minutes=dur)
        done = t + timedelta(minutes=max(1, dur))
        new += [(uid, cat.items.ids[i], "start", np.nan, t), (uid, cat.items.ids[i], "complete", np.nan, done)]
        row[i] += w.start + w.complete
        if learn_rng.random() < ASSESS_P.get(str(cat.types[i]), _DEFAULT_ASSESS_P):
            j = ew.primary[i]
            score = float(assessment_score(m[j], ew.levels[i, j], learn_rng))
            new.append((uid, cat.items.ids[i], "assess", score, done + timedelta(minutes=1)))
            row[i] += w.assess
        blocked[i] = True
        taken += 1
        minutes += dur
        goal_steps += int((ew.levels[i, goals] > 0).any())
    end = goal_score(m, goals, target)
    return MenteeRun(policy, seed, uid, start, end, float(target.mean()), taken, minutes,
                     bool((m[goals] >= target).all()), goal_steps,
                     "near" if len(req) <= cfg.near_max_required else "far", len(req), req_start,
                     goal_score(m, req, req_t), float(req_t.mean()))


def _frame(rows: list[tuple]) -> pd.DataFrame:
    """Simulated events ``(user, item, type, value, aware datetime)`` in the event schema."""
    us = np.array([int(r[4].timestamp() * 1_000_000) for r in rows], dtype=np.int64)
    return pd.DataFrame({
        "event_id": [f"sim{k}" for k in range(len(rows))],
        "user_id": [r[0] for r in rows], "item_id": [r[1] for r in rows], "event_type": [r[2] for r in rows],
        "value": np.array([r[3] for r in rows], dtype=np.float64),
        "timestamp": pd.DatetimeIndex(us.view("datetime64[us]")).tz_localize("UTC"),
        "source": "path-eval",
    }, columns=list(EVENT_COLUMNS))


def sample_mentees(ew: EvalWorld, cfg: PathEvalConfig, seed: int) -> list[int]:
    """``cfg.n_mentees`` eligible users for ``seed``: half "near" (at most
    ``near_max_required`` skills to learn), half "far" (topped up from the other stratum
    when one runs short). Near mentees are a small minority of the world, so a uniform
    sample would hardly contain any."""
    pool = eligible_mentees(ew, min_gap=cfg.min_gap)
    if not pool:
        raise NotReadyError("no mentee with goals, history and a goal gap to simulate; use a larger world")
    n_req = [len(required_arrays(ew, ew.world.mentee(ew.user_ids[u]), ew.mastery[u])[0]) for u in pool]
    near = [u for u, n in zip(pool, n_req) if n <= cfg.near_max_required]
    far = [u for u, n in zip(pool, n_req) if n > cfg.near_max_required]
    rng = np.random.default_rng([seed, 7919])
    want_near = min(len(near), max(cfg.n_mentees // 2, cfg.n_mentees - len(far)))
    want_far = min(len(far), cfg.n_mentees - want_near)
    pick = [*rng.choice(near, size=want_near, replace=False), *rng.choice(far, size=want_far, replace=False)]
    return sorted(int(u) for u in pick)


def run_evaluation(ew: EvalWorld, cfg: PathEvalConfig, *, progress: Callable[[int], None] | None = None
                   ) -> list[MenteeRun]:
    """Every policy on the same mentees for every seed (a fresh sample of mentees per seed)."""
    runs: list[MenteeRun] = []
    for seed in cfg.seeds:
        for u in sample_mentees(ew, cfg, seed):
            for policy in cfg.policies:
                runs.append(run_mentee(ew, policy, u, seed=seed, cfg=cfg))
            if progress is not None:
                progress(1)
    return runs


def runs_frame(runs: Sequence[MenteeRun]) -> pd.DataFrame:
    """One row per run, with ``effectiveness``."""
    return pd.DataFrame([{**r.__dict__, "effectiveness": r.effectiveness, "req_effectiveness": r.req_effectiveness}
                         for r in runs])
