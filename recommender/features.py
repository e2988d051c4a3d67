"""Item and user feature matrices (scipy CSR + column names) built from the catalog and mentees.

Two families, one per kind of model (``Recommender.feature_kind``):

- ``"skills"`` (content model): items x skills holding the level each item teaches, and
  users x (2 x skills) holding ``[goal level | self-assessed level]``;
- ``"tags"`` (LightFM): one-hot-ish tags, rows normalised to sum 1 (as LightFM's own
  ``Dataset`` does), items: ``item:<id>``, ``skill:<s>``, ``skill:<s>=<level>``,
  ``type:<t>``, ``difficulty:<d>``; users: ``user:<id>``, ``goal:<s>``, ``goal:<s>=<level>``,
  ``self:<s>=<level>``.

Passing ``names=`` (the fitted columns) maps *new* items or users into an existing space:
unknown columns (their identity tags) are dropped, so a model scores them from features.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from catalog.catalog import Catalog
from catalog.ids import IdMap
from catalog.schema import Mentee, Resource

__all__ = [
    "FeatureMatrix", "ModelFeatures", "item_skill_matrix", "user_skill_matrix",
    "item_tag_matrix", "user_tag_matrix", "build_features",
]


@dataclass(frozen=True)
class FeatureMatrix:
    """A CSR feature matrix (float32) with its column names."""

    matrix: sp.csr_matrix
    names: IdMap

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape  # type: ignore[return-value]


def _mentee_lookup(mentees: Mapping[str, Mentee] | Iterable[Mentee]) -> dict[str, Mentee]:
    if isinstance(mentees, Mapping):
        return dict(mentees)
    return {m.user_id: m for m in mentees}


def item_skill_matrix(catalog: Catalog) -> FeatureMatrix:
    """Items x skills, the level (1-5) each item teaches: the content model's item side."""
    return FeatureMatrix(sp.csr_matrix(catalog.item_skill_levels, dtype=np.float32), catalog.skill_ids)


def user_skill_matrix(mentees: Mapping[str, Mentee] | Iterable[Mentee], users: IdMap, skills: IdMap) -> FeatureMatrix:
    """Users x (2 x skills): ``[goal level | self level]`` (0 where none); unknown skills are ignored."""
    lookup = _mentee_lookup(mentees)
    S = len(skills)
    rows, cols, vals = [], [], []
    for u, uid in enumerate(users):
        m = lookup.get(uid)
        if m is None:
            continue
        for g in m.goals:
            j = skills.get(g.skill_id)
            if j >= 0:
                rows.append(u)
                cols.append(j)
                vals.append(g.level)
        for sl in m.self_levels:
            j = skills.get(sl.skill_id)
            if j >= 0:
                rows.append(u)
                cols.append(S + j)
                vals.append(sl.level)
    mat = sp.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(len(users), 2 * S), dtype=np.float32)
    names = IdMap([f"goal:{s}" for s in skills] + [f"self:{s}" for s in skills])
    return FeatureMatrix(mat, names)


def _tag_matrix(rows_tags: Sequence[list[str]], names: IdMap | None, normalize: bool) -> FeatureMatrix:
    if names is None:
        seen: dict[str, None] = {}
        for tags in rows_tags:
            for t in tags:
                seen.setdefault(t, None)
        names = IdMap(seen)
    rows, cols = [], []
    for r, tags in enumerate(rows_tags):
        for t in tags:
            j = names.get(t)
            if j >= 0:
                rows.append(r)
                cols.append(j)
    mat = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(rows_tags), len(names)),
                        dtype=np.float32)
    mat.sum_duplicates()
    mat.data[:] = 1.0
    if normalize:
        sums = np.asarray(mat.sum(axis=1)).ravel()
        mat = sp.csr_matrix(sp.diags(np.where(sums > 0, 1.0 / np.maximum(sums, 1e-12), 0.0)) @ mat, dtype=np.float32)
    return FeatureMatrix(mat, names)


def _item_tags(r: Resource, identity: bool) -> list[str]:
    tags = [f"item:{r.item_id}"] if identity else []
    for sl in r.skills:
        tags += [f"skill:{sl.skill_id}", f"skill:{sl.skill_id}={sl.level}"]
    return tags + [f"type:{r.type}", f"difficulty:{r.difficulty}"]


def item_tag_matrix(resources: Catalog | Sequence[Resource], *, names: IdMap | None = None, identity: bool = True,
                    normalize: bool = True) -> FeatureMatrix:
    """LightFM item features; with ``names``, rows for (new) resources in an existing column space."""
    res = resources.resources if isinstance(resources, Catalog) else list(resources)
    return _tag_matrix([_item_tags(r, identity) for r in res], names, normalize)


def _user_tags(uid: str, m: Mentee | None, identity: bool) -> list[str]:
    tags = [f"user:{uid}"] if identity else []
    if m is not None:
        for g in m.goals:
            tags += [f"goal:{g.skill_id}", f"goal:{g.skill_id}={g.level}"]
        tags += [f"self:{sl.skill_id}={sl.level}" for sl in m.self_levels]
    return tags


def user_tag_matrix(mentees: Mapping[str, Mentee] | Iterable[Mentee], users: IdMap, *, names: IdMap | None = None,
                    identity: bool = True, normalize: bool = True) -> FeatureMatrix:
    """LightFM user features for ``users`` (in order); users without a profile get identity only."""
    lookup = _mentee_lookup(mentees)
    return _tag_matrix([_user_tags(uid, lookup.get(uid), identity) for uid in users], names, normalize)


@dataclass(frozen=True)
class ModelFeatures:
    """Both feature families for one (catalog, users) pair; :meth:`for_model` picks the right one."""

    item_skills: FeatureMatrix
    user_skills: FeatureMatrix
    item_tags: FeatureMatrix
    user_tags: FeatureMatrix

    def for_model(self, kind: str | None | object) -> tuple[sp.csr_matrix | None, sp.csr_matrix | None]:
        """``(item_features, user_features)`` for a model or its ``feature_kind``."""
        kind = getattr(kind, "feature_kind", kind)
        if kind == "skills":
            return self.item_skills.matrix, self.user_skills.matrix
        if kind == "tags":
            return self.item_tags.matrix, self.user_tags.matrix
        return None, None

    def names_for_model(self, kind: str | None | object) -> dict[str, IdMap]:
        """Column names to save with a model (``save(id_maps=...)``), so serving can build new rows."""
        kind = getattr(kind, "feature_kind", kind)
        if kind == "skills":
            return {"item_features": self.item_skills.names, "user_features": self.user_skills.names}
        if kind == "tags":
            return {"item_features": self.item_tags.names, "user_features": self.user_tags.names}
        return {}


def build_features(catalog: Catalog, mentees: Mapping[str, Mentee] | Iterable[Mentee], users: IdMap) -> ModelFeatures:
    """Every feature matrix a model may need, aligned with ``catalog.items`` and ``users``."""
    lookup = _mentee_lookup(mentees)
    return ModelFeatures(
        item_skills=item_skill_matrix(catalog),
        user_skills=user_skill_matrix(lookup, users, catalog.skill_ids),
        item_tags=item_tag_matrix(catalog),
        user_tags=user_tag_matrix(lookup, users),
    )
