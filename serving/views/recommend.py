"""``POST /recommend`` (mode ``model``) and ``GET /items/{id}/similar`` over a mentee's context and a bundle.

The served model ranks the mentee's folded-in (or trained) vector through the bundle's
index; a mentee it cannot place gets the bundle's cold start (content over their goals,
else popularity), through the same selection, decay and filters. Requested goal skills
filter what may be returned; stated goals only shape the reasons and the cold start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, cast

import numpy as np
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.errors import UnknownItemError
from recommender.context import MenteeContext
from serving.bundle import ModelBundle
from serving.errors import FieldError
from serving.schemas import RecommendRequest, RecommendResponse, SimilarItem, SimilarResponse

__all__ = ["OnlineStatus", "recommend", "similar", "item_indices"]

OnlineStatus = Literal["ok", "timeout", "unavailable", "rebuilding", "off"]


def item_indices(catalog: Catalog, ids: Sequence[str] | None, field: str) -> NDArray[np.int64]:
    """Catalog indices of ``ids`` (duplicates once); unknown ids are a 400 naming ``field``."""
    if not ids:
        return np.zeros(0, np.int64)
    try:
        return catalog.items.indices(list(dict.fromkeys(ids)))
    except UnknownItemError as e:
        raise FieldError([field], e) from None


def _cocompleted(b: ModelBundle, ctx: MenteeContext, vector: NDArray[np.float32] | None,
                 idx: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Per returned item: completed by enough of the mentee's nearest neighbours (the collaborative reason)."""
    co = b.cocompletion
    if co is None or vector is None:
        return np.zeros(len(idx), bool)
    supported = ctx.cached(("cocompleted", b.sha256), lambda: co.supported_items(co.neighbours(vector, ctx.user_id)))
    return np.isin(idx, supported)


def recommend(req: RecommendRequest, ctx: MenteeContext, b: ModelBundle, *, online: OnlineStatus
              ) -> RecommendResponse:
    """The top ``req.k`` resources for ``ctx`` with reasons (``ctx`` carries the request's goal skills)."""
    view = b.view
    excl_req = item_indices(view.catalog, req.exclude_item_ids, "exclude_item_ids")
    filter_skills = tuple(sorted(set(ctx.goal_skills.tolist()))) if ctx.goals_requested else ()
    allow = view.allow_mask(types=tuple(sorted(set(req.types or ()))), max_minutes=req.max_minutes,
                            skills=filter_skills, include_stale=req.include_stale)
    # as_exclusions (in the index) sorts and tolerates duplicates: no np.union1d per request
    exclude = np.concatenate([ctx.exclude, excl_req]).astype(np.int64, copy=False)
    vector = b.vector(ctx)
    fallback: Literal["popular", "content"] | None = None
    if vector is not None:
        idx, scores = b.top(vector, req.k, exclude=exclude, allow=allow)
    else:
        base, fallback = b.cold_scores(ctx)
        idx, scores = view.plain.score_vector(base, req.k, exclude=exclude, allow=allow)
    co = _cocompleted(b, ctx, vector, idx)
    texts, goal_list, fresh = view.texts, ctx.goal_skills.tolist(), view.freshness[idx].tolist()
    items = []
    for n, (i, s) in enumerate(zip(idx.tolist(), scores.tolist())):
        t = texts[i]
        reasons = [r for r in (texts.goal_reason(i, goal_list),
                               "mentees with your history completed it" if co[n] else None,
                               t.date_reason) if r]
        items.append({"item_id": t.item_id, "title": t.title, "type": t.type, "score": s,
                      "freshness": fresh[n], "skills": list(t.skills), "reasons": reasons})
    known = ctx.has_profile or ctx.n_events > 0 or (b.users is not None and ctx.user_id in b.users)
    # one validation of the whole answer from plain dicts (pydantic-core): cheaper than a
    # model_construct per item, which loops over the fields in Python
    return RecommendResponse.model_validate({
        "user_id": ctx.user_id, "model_version": b.version, "user_known": known, "fallback": fallback,
        "online_features": online, "mode": "model", "items": items})


def similar(b: ModelBundle, item_id: str, k: int = 10) -> SimilarResponse:
    """The ``k`` items most like ``item_id`` by the model's similarity (:attr:`ModelBundle.similarity_method`)."""
    cat = b.view.catalog
    i = cat.items.index(item_id)
    idx, vals = b.view.plain.score_vector(b.similarity(i), k, exclude=np.array([i], np.int64), decay=False)
    items = [SimilarItem(item_id=cat.resources[j].item_id, title=cat.resources[j].title,
                         type=cat.resources[j].type, similarity=float(v))
             for j, v in zip(idx.tolist(), vals.tolist())]
    method = cast(Literal["factors", "ease", "skills"], b.similarity_method)
    return SimilarResponse(item_id=item_id, model_version=b.version, method=method, items=items)
