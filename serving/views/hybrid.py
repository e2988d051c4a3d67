"""``POST /recommend`` in its default mode ``hybrid``: the blend of :mod:`recommender.hybrid`.

The model's scores of the mentee (its cold start when it cannot place them) with today's
freshness term, the request's filters (types, minutes, excluded and seen items, stale
items, and the requested goal skills as in mode ``model``), the mentee's mastery and plan
go into :func:`recommender.hybrid.hybrid_next_up`; each item's first reason says which
part of the blend chose it.
"""

from __future__ import annotations

import dataclasses

from recommender.context import MenteeContext
from recommender.hybrid import DEFAULT_WEIGHTS, HybridWeights, hybrid_next_up, hybrid_reasons
from recommender.mastery import MasteryModel
from serving.bundle import ModelBundle
from serving.schemas import RecommendRequest, RecommendResponse
from serving.views.recommend import OnlineStatus, item_indices

__all__ = ["hybrid_recommend"]

_MASTERY = MasteryModel()


def hybrid_recommend(req: RecommendRequest, ctx: MenteeContext, b: ModelBundle, *, online: OnlineStatus,
                     weights: HybridWeights = DEFAULT_WEIGHTS) -> RecommendResponse:
    """The top ``req.k`` by the hybrid blend for ``ctx`` (goals: the request's, else the mentee's)."""
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
                         mastery_model=_MASTERY)
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
        "fallback": None if source == "model" else source, "online_features": online, "mode": "hybrid",
        "items": items})

