"""``POST /recommend`` in its default mode ``hybrid``: the blend of :mod:`recommender.hybrid`.

The model's scores of the mentee (its cold start when it cannot place them) with today's
freshness term, the mentee's mastery, exclusions and plan inputs go into
:func:`recommender.hybrid.prepared.prepare_next_up` once per context; the request's filters
(types, minutes, excluded items, stale items, and the requested goal skills as in mode
``model``) go into its ``select``, which equals :func:`recommender.hybrid.hybrid_next_up`
with them. Each item's first reason says which part of the blend chose it.
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from collections import OrderedDict
from typing import Any, NamedTuple

import numpy as np

from recommender.context import MenteeContext
from recommender.hybrid import DEFAULT_WEIGHTS, HybridWeights, hybrid_reasons
from recommender.hybrid.advance import advance_next_up
from recommender.hybrid.prepared import PreparedNextUp, prepare_next_up
from recommender.mastery import MasteryModel
from recommender.paths.replan import History
from serving.bundle import ModelBundle
from serving.schemas import RecommendRequest, RecommendResponse
from serving.views.recommend import OnlineStatus, item_indices

__all__ = ["hybrid_recommend"]

_MASTERY = MasteryModel()
ANSWER_CLOCK_S = 3600  # a remembered answer's clock precision (see hybrid_recommend)
MAX_ANSWERS = 16       # remembered answers per mentee context (request variants x hours)
MAX_PREPARED_BYTES = 1024 << 20  # the filter-free halves remembered per process (~0.42 MB a mentee at 100k items)


class _Entry(NamedTuple):
    key: Any
    rows: object
    bundle: weakref.ref[ModelBundle]
    prep: PreparedNextUp
    source: str
    read: int
    exclude: Any
    vector: Any  # the user vector the scores came from (None: cold start)


class _Prepared:
    """A process-wide LRU of :class:`PreparedNextUp` bounded by their bytes, one per mentee.

    Each holds a few arrays over the items a mentee's list can draw on (a fifth of a 100k
    catalog), too much to keep with every cached context; an entry is valid for the context
    whose event rows it was built from (identity: a new event makes a new tuple), its key
    (goals, events read, hour) and the bundle. Only a mentee's latest half is kept: a new
    event or hour replaces it at once, so superseded halves never pile up to the bound. The
    latest half of a mentee is also what the next context's half is advanced from
    (:func:`~recommender.hybrid.advance.advance_next_up`), so it keeps the rows read and the
    exclusions it was built on."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes, self.nbytes = max_bytes, 0
        self._d: OrderedDict[Any, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._d)

    def get(self, user: str, key: Any, rows: object, b: ModelBundle) -> tuple[PreparedNextUp, str] | None:
        with self._lock:
            hit = self._d.get(user)
            if hit is None or hit.key != key or hit.rows is not rows or hit.bundle() is not b:
                return None
            self._d.move_to_end(user)
            return hit.prep, hit.source

    def latest(self, user: str, b: ModelBundle) -> _Entry | None:
        """The mentee's latest half if it was built with the bundle ``b`` (whatever its events and clock)."""
        with self._lock:
            hit = self._d.get(user)
            return hit if hit is not None and hit.bundle() is b else None

    def put(self, user: str, key: Any, rows: object, b: ModelBundle, prep: PreparedNextUp, source: str, *,
            read: int = 0, exclude: Any = None, vector: Any = None) -> None:
        with self._lock:
            old = self._d.pop(user, None)
            if old is not None:
                self.nbytes -= old.prep.nbytes
            # a weak reference: never what keeps a replaced bundle alive
            self._d[user] = _Entry(key, rows, weakref.ref(b), prep, source, read, exclude, vector)
            self.nbytes += prep.nbytes
            while self.nbytes > self.max_bytes and len(self._d) > 1:
                self.nbytes -= self._d.popitem(last=False)[1].prep.nbytes


_PREPARED = _Prepared(MAX_PREPARED_BYTES)


def _history(ctx: MenteeContext) -> History:
    """The mentee's events up to ``now`` as the planner reads them (:func:`~recommender.paths.replan.mentee_history`),
    built once per set of events read."""
    key = ("history", ctx.n_upto_now)
    hit = ctx.memo.get(key)
    if hit is None or hit[0] is not ctx.catalog:
        # the context's rows are the mentee's, in time order: the first n_upto_now are mentee_history's
        ev = ctx.events
        if ctx.n_upto_now < len(ev):
            ev = ev.iloc[:ctx.n_upto_now].reset_index(drop=True)
        hit = (ctx.catalog, History(ev, ctx.catalog.items.indices(ev["item_id"].tolist(), missing="-1")))
        ctx.memo[key] = hit
    return hit[1]  # type: ignore[no-any-return]


def hybrid_recommend(req: RecommendRequest, ctx: MenteeContext, b: ModelBundle, *, online: OnlineStatus,
                     weights: HybridWeights = DEFAULT_WEIGHTS) -> RecommendResponse:
    """The top ``req.k`` by the hybrid blend for ``ctx`` (goals: the request's, else the mentee's).

    The answer is remembered with the mentee's context (so a new event of theirs, a profile or
    catalog change drops it) for the same request, bundle (model and catalog view: a reload,
    a catalog write or the view's daily refresh makes a new one), events read and hour of the
    clock: nothing it reads changes in between but time, to which the answer is exact to the
    hour (freshness is daily). A request not answered yet costs the filter's half only
    (:func:`_prepared` keeps the rest).
    """
    key = (req.k, tuple(req.types or ()), req.max_minutes, tuple(req.exclude_item_ids or ()), req.include_stale,
           ctx.goals, ctx.goals_requested, ctx.n_upto_now, int(ctx.now.timestamp() // ANSWER_CLOCK_S), weights)
    answers = ctx.cached("hybrid-answers", OrderedDict)
    hit = answers.get(key)
    if hit is not None and hit[0] is b:
        resp = hit[1]
    else:
        resp = _answer(req, ctx, b, weights)
        answers[key] = (b, resp)
        while len(answers) > MAX_ANSWERS:
            answers.popitem(last=False)
    return resp if resp.online_features == online else resp.model_copy(update={"online_features": online})


def _prepared(ctx: MenteeContext, b: ModelBundle, weights: HybridWeights) -> tuple[PreparedNextUp, str]:
    """The filter-free half of the mentee's list (:func:`~recommender.hybrid.prepared.prepare_next_up`),
    remembered like the answers (same events, bundle, goals, events read and hour; in :data:`_PREPARED`),
    so a request with a filter not seen before costs only :meth:`PreparedNextUp.select`. After an event
    (or on a new hour) the mentee's last half is advanced when the event changes only the model's scores
    and the items seen (:func:`~recommender.hybrid.advance.advance_next_up`; a view), else rebuilt."""
    same = (ctx.goals, ctx.goals_requested, weights.explore > 0)
    key = (*same, ctx.n_upto_now, int(ctx.now.timestamp() // ANSWER_CLOCK_S))
    hit = _PREPARED.get(ctx.user_id, key, ctx.rows, b)
    if hit is not None:
        return hit
    view = b.view
    allowed = view.available.copy()
    allowed[ctx.exclude] = False
    mentee = dataclasses.replace(ctx.mentee, goals=ctx.goals)
    vector = b.vector(ctx)
    last = _PREPARED.latest(ctx.user_id, b)
    prep, scored = None, None
    if last is not None and last.exclude is not None and last.key[:len(same)] == same:
        # the same vector gives the same scores (same bundle): the product over every item is skipped
        if vector is not None and last.vector is not None and np.array_equal(vector, last.vector):
            cf_scores, source = None, last.source
        else:
            cf_scores, source = scored = _cf_scores(ctx, b)
        prep = advance_next_up(last.prep, mentee=mentee, rows_before=last.rows, read_before=last.read,  # type: ignore[arg-type]
                               rows=ctx.rows, read=ctx.n_upto_now, now=ctx.now, cf_scores=cf_scores,
                               allowed=allowed, excluded_before=last.exclude, excluded=ctx.exclude,
                               mastery_model=_MASTERY)
    if prep is None:
        cf_scores, source = scored or _cf_scores(ctx, b)
        prep = prepare_next_up(catalog=view.catalog, mentee=mentee, events=ctx.events, now=ctx.now,
                               state=ctx.mastery(_MASTERY), cf_scores=cf_scores, allowed=allowed,
                               freshness=view.freshness, mastery_model=_MASTERY, history=_history(ctx),
                               explore=weights.explore > 0)
    _PREPARED.put(ctx.user_id, key, ctx.rows, b, prep, source, read=ctx.n_upto_now, exclude=ctx.exclude,
                  vector=vector)
    return prep, source


def _cf_scores(ctx: MenteeContext, b: ModelBundle) -> tuple[Any, str]:
    """The mentee's scores over every item with today's freshness term, and their source."""
    base, source = b.scores(ctx)
    return base + b.view.freshness_weight * b.view.log_freshness, source


def _keep(req: RecommendRequest, b: ModelBundle, skills: tuple[int, ...]) -> Any:
    """The items the request's filters keep (catalog-length; None: all), goal skills ``skills`` included."""
    view, cat = b.view, b.view.catalog
    mask = view.allow_mask(types=tuple(sorted(set(req.types or ()))), max_minutes=req.max_minutes,
                           skills=skills, include_stale=req.include_stale)
    keep = None if mask is None else mask.mask
    if req.exclude_item_ids:
        keep = np.ones(cat.n_items, dtype=bool) if keep is None else keep.copy()
        keep[item_indices(cat, req.exclude_item_ids, "exclude_item_ids")] = False
    return keep


def _answer(req: RecommendRequest, ctx: MenteeContext, b: ModelBundle, weights: HybridWeights) -> RecommendResponse:
    view, cat = b.view, b.view.catalog
    filter_skills = tuple(sorted(set(ctx.goal_skills.tolist()))) if ctx.goals_requested else ()
    prep, source = _prepared(ctx, b, weights)
    res = prep.select(_keep(req, b, filter_skills), req.k, weights)
    reasons = hybrid_reasons(cat, res, ctx.goals)
    texts, fresh = view.texts, view.freshness
    items = [_item(texts[i], float(res.chosen.relevance[n]), float(fresh[i]), reasons[n])
             for n, i in enumerate(res.chosen.items.tolist())]
    towards: dict[str, Any] = {}
    if not items and filter_skills:
        items, towards = _towards_goals(req, b, prep, filter_skills)
    known = ctx.has_profile or ctx.n_events > 0 or (b.users is not None and ctx.user_id in b.users)
    return RecommendResponse.model_validate({
        "user_id": ctx.user_id, "model_version": b.version, "user_known": known,
        "fallback": None if source == "model" else source, "online_features": "off", "mode": "hybrid",
        "items": items, **towards})


def _item(t: Any, score: float, freshness: float, reasons: list[str]) -> dict[str, Any]:
    """One answer item from its text row ``t`` (``view.texts``): the reasons, then its date's if it has one."""
    return {"item_id": t.item_id, "title": t.title, "type": t.type, "score": score, "freshness": freshness,
            "skills": list(t.skills), "reasons": [*reasons, *([t.date_reason] if t.date_reason else [])]}


def _towards_goals(req: RecommendRequest, b: ModelBundle, prep: PreparedNextUp,
                   skills: tuple[int, ...]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """When the request's goal skills leave no ready item: the next steps towards them (the planner's steps
    the mentee can take now, under the request's other filters; :meth:`PreparedNextUp.ready_steps`), each
    reason naming the goal it leads to, else nothing; and the fields that say which (``goal_fallback``,
    ``note``). An empty list is never left unexplained: a client must tell "not ready yet" from "no content"."""
    view, cat = b.view, b.view.catalog
    ids = [cat.skill_ids.ids[j] for j in skills]
    goals = ", ".join(ids)
    name = lambda s: cat.graph.skills[s].name or s  # noqa: E731
    texts, fresh = view.texts, view.freshness
    items = []
    steps, path = prep.ready_steps(_keep(req, b, ()))
    for n, (st, score) in enumerate(steps[:req.k], start=1):
        t = texts[st.item_index]
        head = (f"prerequisite of {st.goal_skill_id}" if st.skill_id != st.goal_skill_id
                else f"teaches {st.goal_skill_id}, your goal")
        why = f"step {n} of your learning path towards {name(st.goal_skill_id)}: {name(st.skill_id)} level {st.level}"
        items.append(_item(t, score, float(fresh[st.item_index]), [head, why]))
    if items:
        return items, {"goal_fallback": "prerequisites",
                       "note": f"nothing teaching {goals} is ready for you yet: these are the next steps towards it"}
    m = cat.item_skill_levels_csc
    if not any(view.available[m.indices[m.indptr[j]:m.indptr[j + 1]]].any() for j in skills):
        why = f"no active resource teaches {goals}"
    elif set(ids) <= set(path.already_met):
        why = f"you already hold {goals} at the level of your goal, and no resource teaching it fits this request"
    elif path.unreachable:  # the planner's first blocker is the root cause (later skills wait on it)
        s, reason = path.unreachable[0]
        why = f"nothing teaching {goals} is ready for you and no step towards it fits this request: {name(s)}: {reason}"
    else:
        why = f"no resource teaching {goals} is ready for you and no step towards it fits this request's filters"
    return [], {"goal_fallback": "nothing", "note": why}
