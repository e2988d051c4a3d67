"""``POST /recommend`` in its default mode ``hybrid``: the blend of :mod:`recommender.hybrid`.

The model's scores of the mentee (its cold start when it cannot place them) with today's
freshness term, the request's filters (types, minutes, excluded and seen items, stale
items, and the requested goal skills as in mode ``model``), the mentee's mastery and plan
go into :func:`recommender.hybrid.hybrid_next_up`; each item's first reason says which
part of the blend chose it.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict

from recommender.context import MenteeContext
from recommender.hybrid import DEFAULT_WEIGHTS, HybridWeights, hybrid_next_up, hybrid_reasons
from recommender.mastery import MasteryModel
from recommender.paths.replan import History
from serving.bundle import ModelBundle
from serving.schemas import RecommendRequest, RecommendResponse
from serving.views.recommend import OnlineStatus, item_indices

__all__ = ["hybrid_recommend"]

_MASTERY = MasteryModel()
ANSWER_CLOCK_S = 3600  # a remembered answer's clock precision (see hybrid_recommend)
MAX_ANSWERS = 16       # remembered answers per mentee context (request variants x hours)


def _history(ctx: MenteeContext) -> History:
    """The mentee's events up to ``now`` as the planner reads them (:func:`~recommender.paths.replan.mentee_history`),
    built once per set of events read."""
    key = ("history", ctx.n_upto_now)
    hit = ctx.memo.get(key)
    if hit is None or hit[0] is not ctx.catalog:
        # the context's rows are the mentee's, in time order: the first n_upto_now are mentee_history's
        ev = ctx.events.iloc[:ctx.n_upto_now].reset_index(drop=True)
        hit = (ctx.catalog, History(ev, ctx.catalog.items.indices(ev["item_id"].tolist(), missing="-1")))
        ctx.memo[key] = hit
    return hit[1]  # type: ignore[no-any-return]


def hybrid_recommend(req: RecommendRequest, ctx: MenteeContext, b: ModelBundle, *, online: OnlineStatus,
                     weights: HybridWeights = DEFAULT_WEIGHTS) -> RecommendResponse:
    """The top ``req.k`` by the hybrid blend for ``ctx`` (goals: the request's, else the mentee's).

    The answer is remembered with the mentee's context (so a new event of theirs, a profile or
    catalog change drops it) for the same request, bundle (model and catalog view: a reload,
    a catalog write or the view's daily refresh makes a new one), events read and hour of the
    clock: planning a path per request is what this mode costs, and nothing it reads changes
    in between but time, to which the answer is exact to the hour (freshness is daily).
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


def _answer(req: RecommendRequest, ctx: MenteeContext, b: ModelBundle, weights: HybridWeights) -> RecommendResponse:
    view, cat = b.view, b.view.catalog
    filter_skills = tuple(sorted(set(ctx.goal_skills.tolist()))) if ctx.goals_requested else ()
    mask = view.allow_mask(types=tuple(sorted(set(req.types or ()))), max_minutes=req.max_minutes,
                           skills=filter_skills, include_stale=req.include_stale)
    allowed = view.available.copy() if mask is None else view.available & mask.mask
    allowed[ctx.exclude] = False
    allowed[item_indices(cat, req.exclude_item_ids, "exclude_item_ids")] = False
    base, source = b.scores(ctx)
    cf = base + view.freshness_weight * view.log_freshness
    mentee = dataclasses.replace(ctx.mentee, goals=ctx.goals)
    res = hybrid_next_up(catalog=cat, mentee=mentee, events=ctx.events, now=ctx.now, state=ctx.mastery(_MASTERY),
                         cf_scores=cf, allowed=allowed, freshness=view.freshness, k=req.k, weights=weights,
                         mastery_model=_MASTERY, history=_history(ctx))
    reasons = hybrid_reasons(cat, res, ctx.goals)
    texts, fresh = view.texts, view.freshness
    items = []
    for n, i in enumerate(res.chosen.items.tolist()):
        t = texts[i]
        items.append({"item_id": t.item_id, "title": t.title, "type": t.type,
                      "score": float(res.chosen.relevance[n]), "freshness": float(fresh[i]),
                      "skills": list(t.skills), "reasons": [*reasons[n], *([t.date_reason] if t.date_reason else [])]})
    known = ctx.has_profile or ctx.n_events > 0 or (b.users is not None and ctx.user_id in b.users)
    return RecommendResponse.model_validate({
        "user_id": ctx.user_id, "model_version": b.version, "user_known": known,
        "fallback": None if source == "model" else source, "online_features": "off", "mode": "hybrid",
        "items": items})

