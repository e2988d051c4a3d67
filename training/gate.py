"""The promotion gate: a new version becomes ``@champion`` only if it ranks better on the
same validation data as the current champion, and is never degenerate
(:mod:`training.degenerate`: constant scores, coverage below a floor, one list for most users).

Both models are scored by :func:`score_saved_model` on identical inputs: the validation
window's positives are the truth, the events before the validation cut are the
histories. Each model keeps its own id space (the champion may not know new mentees or
items); mentees it never saw are folded in from their history, items it never saw score
``-inf`` (it could not recommend them) but stay in the truth, so both face the same
denominator.

If the champion was trained on events at or after the validation cut it has seen the
validation data, and scoring its artifact would flatter it; then its *recipe* (model and
parameters) is refitted on the candidate's training window and that is scored instead.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from catalog.catalog import World
from catalog.freshness import catalog_freshness
from catalog.ids import IdMap
from catalog.schema import parse_timestamp
from recommender.features import user_skill_matrix, user_tag_matrix
from recommender.interactions import build_interactions
from recommender.metrics import truth_matrix
from recommender.models import Recommender, load_model
from recommender.split import positive_events
from training.data import UserExtra
from training.evaluate import fit_resolved, rank_users, ranking_metrics

__all__ = ["GateResult", "score_saved_model", "decide", "refit_saved"]


def _extend(base: IdMap, extra: list[str]) -> IdMap:
    known = set(base.to_list())
    return IdMap([*base.to_list(), *sorted({e for e in extra if e not in known})])


def _user_features(model: Recommender, world: World, users: IdMap,
                   user_extra: UserExtra | None = None) -> sp.csr_matrix | None:
    names = getattr(model, "id_maps_", {}).get("user_features")
    if model.feature_kind is None or names is None:
        return None
    if model.feature_kind == "tags":
        mat = user_tag_matrix(world.mentees, users, names=names).matrix
        if user_extra is not None and any(n.startswith("feast:") for n in names.to_list()):
            extra, extra_names = user_extra(users)
            cols = names.indices([f"feast:{n}" for n in extra_names], missing="-1")
            keep = np.flatnonzero(cols >= 0)
            coo = sp.coo_matrix(extra[:, keep])  # tag rows never use feast: columns, so add in place
            mat = sp.csr_matrix(mat + sp.csr_matrix((coo.data, (coo.row, cols[keep][coo.col])), shape=mat.shape),
                                dtype=np.float32)
        return mat
    skills = IdMap([n.split(":", 1)[1] for n in names.to_list() if n.startswith("goal:")])
    return user_skill_matrix(world.mentees, users, skills).matrix


def score_saved_model(model: Recommender, history_events: pd.DataFrame, truth_events: pd.DataFrame, world: World,
                      *, k: int = 10, as_of: Any = None, user_extra: UserExtra | None = None) -> dict[str, float]:
    """Metrics (``ndcg@k`` ...) of a loaded model (with ``id_maps_``) on ``truth_events``'s positives,
    histories from ``history_events``; see the module docstring. ``user_extra`` fills a tags
    model's ``feast:`` user columns (as in training); without it they stay 0."""
    maps = getattr(model, "id_maps_", {})
    if "users" not in maps or "items" not in maps:
        raise ValueError("score_saved_model needs a model saved with its users/items id maps")
    users = _extend(maps["users"], [*history_events["user_id"].astype(str), *truth_events["user_id"].astype(str)])
    items = _extend(maps["items"], world.catalog.items.to_list())
    train = build_interactions(history_events, users=users, items=items, on_unknown="drop")
    truth = truth_matrix(positive_events(truth_events)[["user_id", "item_id"]], train)
    feats = _user_features(model, world, users, user_extra)
    u, ranked, truth = rank_users(model, train, truth, k, user_features=feats)
    freshness = None
    if as_of is not None:
        fresh = catalog_freshness(world.catalog, parse_timestamp(str(as_of)))
        idx = world.catalog.items.indices(items.to_list(), missing="-1")
        freshness = np.where(idx >= 0, fresh[np.maximum(idx, 0)], 1.0)
    return ranking_metrics(u, ranked, truth, train, k, freshness=freshness)


def refit_saved(model: Recommender, prepared: Any, params: Mapping[str, Any] | None = None, *,
                k: int = 10) -> Recommender:
    """Fit ``model``'s recipe (name, params; ``"auto"`` values resolved on ``prepared``'s fit
    window, as for the candidate) on ``prepared`` and reload it with its id maps."""
    fresh, _, _ = fit_resolved(model.name, prepared, dict(params if params is not None else model.get_params()), k=k)
    with tempfile.TemporaryDirectory() as tmp:
        id_maps = {"users": prepared.users, "items": prepared.items, **prepared.features.names_for_model(fresh)}
        digest = fresh.save(tmp, id_maps=id_maps)
        return load_model(tmp, expected_sha256=digest)


@dataclass(frozen=True)
class GateResult:
    """The promotion decision and the two scores behind it."""

    decision: str                 # first | promoted | rejected | forced | refused (degenerate)
    promote: bool
    candidate_score: float
    champion_score: float | None
    champion_version: str | None
    champion_scored: str          # artifact | refit | none
    metric: str
    why: str = ""                 # the degenerate checks that failed, when refused

    def tags(self) -> dict[str, str]:
        key = self.metric.replace("@", "_at_")
        return {
            "gate.why": self.why,
            "gate.decision": self.decision,
            "gate.metric": self.metric,
            f"gate.candidate_{key}": f"{self.candidate_score:.6f}",
            f"gate.champion_{key}": "" if self.champion_score is None else f"{self.champion_score:.6f}",
            "gate.champion_version": self.champion_version or "",
            "gate.champion_scored": self.champion_scored,
        }


def decide(candidate_score: float, champion_score: float | None, *, force: bool = False,
           champion_version: str | None = None, champion_scored: str = "artifact",
           metric: str = "ndcg@10", degenerate: Sequence[str] = ()) -> GateResult:
    """Promote when there is no champion, when the candidate scores strictly higher, or when forced;
    never when ``degenerate`` names a failed check (:mod:`training.degenerate`), whatever the scores
    or ``force``: the decision is ``refused`` and ``why`` says which checks failed."""
    if degenerate:
        decision, promote = "refused", False
    elif champion_score is None:
        decision, promote = "first", True
    elif candidate_score > champion_score:
        decision, promote = "promoted", True
    elif force:
        decision, promote = "forced", True
    else:
        decision, promote = "rejected", False
    return GateResult(decision=decision, promote=promote, candidate_score=float(candidate_score),
                      champion_score=None if champion_score is None else float(champion_score),
                      champion_version=champion_version,
                      champion_scored="none" if champion_score is None else champion_scored, metric=metric,
                      why="; ".join(degenerate))
