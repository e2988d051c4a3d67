"""Everything prepared once per model load and per day: indexes, masks, freshness, the cold start.

:class:`CatalogView` is the catalog at one instant (freshness, stale mask, cached
request filters); :class:`ModelBundle` adds a verified model, its scoring indexes and
what mentees the model cannot place fall back to (the content model over their goals,
popularity at the model's recency half-life), and scores a mentee's context by the one
rule every endpoint uses. Both are immutable once built, so a reload or the daily
freshness refresh builds new ones and swaps a single reference: requests in flight keep
the objects they started with.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, cast

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from catalog.catalog import Catalog
from catalog.errors import IntegrityError
from catalog.freshness import catalog_freshness
from catalog.schema import parse_timestamp
from recommender.context import MenteeContext
from recommender.models.content import ContentRecommender
from recommender.models.ease import EASERecommender
from recommender.models.factor import FactorRecommender
from recommender.topk import ItemMask, ScoringIndex, log_freshness
from serving.reasons import CoCompletion, ItemTexts
from training.registry import LoadedModel

__all__ = ["CatalogView", "ModelBundle", "verify_model", "ScoreSource"]

F32 = NDArray[np.float32]
ScoreSource = Literal["model", "content", "popular"]

# Request-filter masks kept per CatalogView (LRU); 128 x 1.125 n_items bytes (144 MB at 1M items).
MASK_CACHE_SIZE = 128


def _same(a: Catalog, b: Catalog, *columns: str) -> bool:
    """Whether catalogs ``a`` and ``b`` share (the same objects) each of these column arrays."""
    return all(getattr(a, c) is getattr(b, c) for c in columns)


class CatalogView:
    """The catalog at ``as_of``: freshness, the stale mask and cached filter masks."""

    def __init__(self, catalog: Catalog, as_of: datetime, *, floor: float, stale_threshold: float,
                 freshness_weight: float, item_dtype: str = "float32") -> None:
        self.catalog, self.as_of, self.item_dtype = catalog, as_of, item_dtype
        self.floor, self.stale_threshold, self.freshness_weight = floor, stale_threshold, freshness_weight
        self.freshness = catalog_freshness(catalog, as_of, floor=floor)
        self.log_freshness = log_freshness(self.freshness)
        self.fresh = self.freshness >= stale_threshold
        self.available = catalog.available_at(as_of)  # active and already published
        self.as_of_us = as_of_us = int(parse_timestamp(as_of).timestamp() * 1_000_000)
        later = catalog.published_us[catalog.active & (catalog.published_us > as_of_us)]
        self.next_release_us: int | None = int(later.min()) if later.size else None
        self.skill_items = catalog.item_skill_levels_csc
        self.plain = ScoringIndex.for_scores(catalog.n_items, log_freshness=self.log_freshness,
                                             freshness_weight=freshness_weight, active=self.available)
        self._masks: OrderedDict[tuple, ItemMask | None] = OrderedDict()
        self._lock = threading.Lock()
        self.texts = ItemTexts(catalog, as_of)

    def patched(self, catalog: Catalog, rows: NDArray[np.int64]) -> CatalogView:
        """This view over ``catalog``, which differs from this view's catalog only at item ``rows`` (same ids,
        same order: :meth:`Catalog.with_resources` without appends); the result equals
        ``CatalogView(catalog, self.as_of, ...)`` (tested).

        Copy-on-write, O(rows): what the write cannot have changed is shared, by the identity of the
        catalog's column arrays (:meth:`Catalog.with_resources` shares a column its edits leave equal):
        a title or duration edit keeps freshness, availability and the scoring index; otherwise only
        those rows are recomputed. Cached filter masks are carried over, patched at ``rows`` when their
        inputs changed: a new view with an empty cache made every request with a filter rebuild its mask
        after each write (0.5 ms for a type filter at 10,000 items), in the requests' own time."""
        old = self.catalog
        new = copy.copy(self)
        new.catalog = catalog
        rows = np.asarray(rows, dtype=np.int64)
        skills_same = catalog.item_skill_levels is old.item_skill_levels
        if len(rows) and not (skills_same and _same(catalog, old, "published_us", "updated_us", "item_half_life",
                                                    "types")):
            f = catalog_freshness(catalog, self.as_of, floor=self.floor, rows=rows)
            if not np.array_equal(self.freshness[rows], f):
                new.freshness = self.freshness.copy()
                new.freshness[rows] = f
                new.log_freshness = self.log_freshness.copy()
                new.log_freshness[rows] = log_freshness(f)
                new.fresh = self.fresh.copy()
                new.fresh[rows] = f >= self.stale_threshold
        if len(rows) and not _same(catalog, old, "active", "published_us"):
            avail = catalog.active[rows] & (catalog.published_us[rows] <= self.as_of_us)
            if not np.array_equal(self.available[rows], avail):
                new.available = self.available.copy()
                new.available[rows] = avail
            later = catalog.published_us[catalog.active & (catalog.published_us > self.as_of_us)]
            new.next_release_us = int(later.min()) if later.size else None
        if not skills_same:
            new.skill_items = catalog.item_skill_levels_csc
        if new.log_freshness is not self.log_freshness or new.available is not self.available:
            new.plain = self.plain.with_rows(rows, log_freshness=new.log_freshness[rows], active=new.available)
        new._lock = threading.Lock()
        with self._lock:
            masks = list(self._masks.items())
        new._masks = OrderedDict((key, new._patched_mask(key, mask, self, rows)) for key, mask in masks)
        new.texts = self.texts.patched(catalog, rows)
        return new

    def _mask_bits(self, key: tuple, rows: NDArray[np.int64] | None = None) -> NDArray[np.bool_]:
        """The filter ``key`` of :meth:`allow_mask` over every item, or over ``rows`` only."""
        types, max_minutes, skills, include_stale = key
        cat = self.catalog
        pick = (lambda a: a) if rows is None else (lambda a: a[rows])
        m = np.ones(cat.n_items if rows is None else len(rows), dtype=bool)
        if types:
            m &= np.isin(pick(cat.types), list(types))
        if max_minutes is not None:
            m &= pick(cat.duration_minutes) <= max_minutes
        if skills:
            if rows is None:
                m &= np.asarray(self.skill_items[:, list(skills)].sum(axis=1)).ravel() > 0
            else:
                ptr, idx, want = cat.item_skill_levels.indptr, cat.item_skill_levels.indices, list(skills)
                m &= np.array([np.isin(idx[ptr[r]:ptr[r + 1]], want).any() for r in rows.tolist()], dtype=bool)
        if not include_stale:
            m &= pick(self.fresh)
        return m

    def _patched_mask(self, key: tuple, mask: ItemMask | None, prev: CatalogView,
                      rows: NDArray[np.int64]) -> ItemMask | None:
        """``prev``'s cached mask for ``key`` over this view (which differs from ``prev`` at ``rows`` only):
        shared when none of its inputs changed or its bits at ``rows`` stay, else patched there."""
        types, max_minutes, skills, include_stale = key
        cat, old = self.catalog, prev.catalog
        inputs_same = ((not types or cat.types is old.types)
                       and (max_minutes is None or cat.duration_minutes is old.duration_minutes)
                       and (not skills or cat.item_skill_levels is old.item_skill_levels)
                       and (include_stale or self.fresh is prev.fresh))
        if inputs_same or not len(rows):
            return mask
        bits = self._mask_bits(key, rows)
        if mask is None:
            if bits.all():
                return None
            return ItemMask(np.ones(cat.n_items, dtype=bool)).with_rows(rows, bits)
        if np.array_equal(mask.mask[rows], bits):
            return mask
        out = mask.with_rows(rows, bits)
        return None if out.mask.all() else out

    def release_due(self, now: datetime) -> bool:
        """Whether a resource listed for later has been published since this view was made."""
        return self.next_release_us is not None and parse_timestamp(now).timestamp() * 1e6 >= self.next_release_us

    def allow_mask(self, *, types: tuple[str, ...] = (), max_minutes: int | None = None,
                   skills: tuple[int, ...] = (), include_stale: bool = False) -> ItemMask | None:
        """Items a request may return (None: no filter); cached per filter combination,
        packed for the panel scans (:class:`~recommender.topk.ItemMask`).

        The cache is an LRU of :data:`MASK_CACHE_SIZE` entries: each mask is ``n_items * 9 / 8``
        bytes (bools and bits), so clients sending endless combinations cannot grow memory without bound.
        """
        key = (types, max_minutes, skills, include_stale)
        with self._lock:
            if key in self._masks:
                self._masks.move_to_end(key)
                return self._masks[key]
        m = self._mask_bits(key)
        mask = None if m.all() else ItemMask(m)
        with self._lock:
            self._masks[key] = mask
            self._masks.move_to_end(key)
            while len(self._masks) > MASK_CACHE_SIZE:
                self._masks.popitem(last=False)
        return mask


def verify_model(loaded: LoadedModel, catalog: Catalog) -> None:
    """Refuse a model whose items are not exactly the catalog's (count and ids, in order)."""
    model = loaded.model
    if model.n_items_ != catalog.n_items:
        raise IntegrityError(f"model {loaded.version} scores {model.n_items_} items, the catalog has "
                             f"{catalog.n_items}; retrain on this catalog")
    items = getattr(model, "id_maps_", {}).get("items")
    if items is None:
        raise IntegrityError(f"model {loaded.version} carries no item id map; cannot check it matches the catalog")
    if items is not catalog.items and items.to_list() != catalog.items.to_list():
        bad = next(i for i, (a, b) in enumerate(zip(items.to_list(), catalog.items.to_list())) if a != b)
        raise IntegrityError(f"model {loaded.version} item ids differ from the catalog (first at position {bad}: "
                             f"{items.ids[bad]!r} vs {catalog.items.ids[bad]!r}); retrain on this catalog")
    if isinstance(model, FactorRecommender) and not np.isfinite(model.item_factors_).all():
        raise IntegrityError(f"model {loaded.version} has non-finite item factors")


class ModelBundle:
    """A verified model with its scoring index over a :class:`CatalogView`, and the cold start.

    Factor models (ALS, BPR, LightFM) score through the augmented item matrix; the others
    (EASE, content, popularity) compute a score vector and share selection, decay and
    filters through ``view.plain``. ``content`` ranks mentees the model cannot place by
    their goals, ``popularity`` (over the view's items, at the model's recency half-life)
    those without goals; ``cocompletion`` backs the collaborative reason (None: no reason).
    """

    def __init__(self, loaded: LoadedModel, view: CatalogView, *, content: ContentRecommender,
                 popularity: F32 | Callable[[], F32], cocompletion: CoCompletion | None = None,
                 index: Any = None, verified: bool = False) -> None:
        if not verified:  # ``verified``: derived from a bundle checked over these same items (serving.live.patched)
            verify_model(loaded, view.catalog)
        self.loaded, self.view = loaded, view
        self.content, self.cocompletion = content, cocompletion
        # Popularity is a whole-log read that only cold mentees without goals need: given as a
        # function, it is computed on first use (the service forces it right after it is ready).
        self._popularity: F32 | None = None if callable(popularity) else popularity
        self._popularity_fn = popularity if callable(popularity) else None
        self._popularity_lock = threading.Lock()
        self.model = loaded.model
        self.version, self.sha256 = loaded.version, loaded.sha256
        self.is_factor = isinstance(self.model, FactorRecommender)
        self.index: Any
        if index is not None:
            self.index = index
        elif self.is_factor:
            m = cast(FactorRecommender, self.model)
            self.index = ScoringIndex(m.item_factors_, item_bias=m.item_bias_, log_freshness=view.log_freshness,
                                      freshness_weight=view.freshness_weight, active=view.available,
                                      dtype=view.item_dtype)
        else:
            self.index = view.plain
        self.users = getattr(self.model, "id_maps_", {}).get("users")
        self._unit: F32 | None = None

    @property
    def popularity(self) -> F32:
        """Cold-start popularity over the view's items (computed on first use when given as a function)."""
        if self._popularity is None:
            with self._popularity_lock:
                if self._popularity is None:
                    assert self._popularity_fn is not None
                    self._popularity = self._popularity_fn()
        return self._popularity

    def popularity_source(self) -> F32 | Callable[[], F32]:
        """The popularity as given: the array once computed, else the function that computes it."""
        return self._popularity if self._popularity is not None else cast(Callable[[], F32], self._popularity_fn)

    def warm(self) -> None:
        """Build what is otherwise built on first use (popularity, the co-completion matrix): the service
        calls it after it reports ready, so no request pays for a whole-log read."""
        self.popularity  # noqa: B018 - the property computes and keeps it
        if self.cocompletion is not None:
            self.cocompletion.done  # noqa: B018

    def with_view(self, view: CatalogView, *, popularity: F32 | Callable[[], F32]) -> ModelBundle:
        """The same model over a new view (the daily freshness refresh), with that day's popularity."""
        index = None  # a rebuild also picks up resources published since the last view
        if self.is_factor and np.array_equal(view.available, self.view.available):
            index = self.index.with_freshness(view.log_freshness)
        return ModelBundle(self.loaded, view, content=self.content, popularity=popularity,
                           cocompletion=self.cocompletion, index=index)

    # ------------------------------------------------------------ a mentee's scores
    def vector(self, ctx: MenteeContext) -> F32 | None:
        """The mentee's vector under this model (:meth:`user_vector`), once per model and log state."""
        return ctx.cached(("vector", self.sha256), lambda: self.user_vector(
            ctx.history, user_id=ctx.user_id, profile_row=ctx.profile_row))

    def cold_scores(self, ctx: MenteeContext) -> tuple[F32, Literal["content", "popular"]]:
        """Scores for a mentee the model cannot place: content over their goals, else popularity."""
        if len(ctx.goal_skills):
            v = self.content.fold_in(ctx.history, user_features_row=ctx.goals_row)
            return self.content.score_vectors(v[None])[0], "content"
        return self.popularity, "popular"

    def scores(self, ctx: MenteeContext) -> tuple[NDArray[np.float64], ScoreSource]:
        """Scores over all items by the rule ``/recommend`` ranks with (no decay, no filters), and their source."""
        vector = self.vector(ctx)
        if vector is not None:
            return np.asarray(self.model.score_vectors(vector[None, :])[0], dtype=np.float64), "model"
        base, source = self.cold_scores(ctx)
        return np.asarray(base, dtype=np.float64), source

    # ------------------------------------------------------------ users
    def user_vector(self, history: sp.csr_matrix, *, user_id: str, profile_row: F32 | None = None) -> F32 | None:
        """Folded in from the log's history, else the trained vector, else None (cold)."""
        m = self.model
        feats = None if profile_row is None or m.feature_kind != "skills" else profile_row
        if history.nnz:
            return np.asarray(m.fold_in(history, user_features_row=feats), dtype=np.float32)
        u = -1 if self.users is None else self.users.get(user_id)
        keeps_users = self.is_factor or m.feature_kind == "skills"  # EASE/popularity hold no user state
        if keeps_users and 0 <= u < m.n_users_:
            return np.asarray(m.user_vectors([u], history)[0], dtype=np.float32)
        return None

    def top(self, vector: F32, k: int, *, exclude: NDArray[np.int64] | None, allow: ItemMask | None,
            decay: bool = True) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        if self.is_factor:
            return self.index.recommend(vector, k, exclude=exclude, allow=allow, decay=decay)
        scores = self.model.score_vectors(vector[None, :])[0]
        return self.index.score_vector(scores, k, exclude=exclude, allow=allow, decay=decay)

    def top_batch(self, vectors: F32, k: int, *, exclude: list[NDArray[np.int64]] | None = None,
                  decay: bool = True) -> NDArray[np.int64]:
        """(m, k) item indices, -1 padded."""
        if self.is_factor:
            return self.index.recommend_batch(vectors, k, exclude=exclude, decay=decay)[0]
        out = np.full((len(vectors), k), -1, np.int64)
        for r, v in enumerate(vectors):
            i, _ = self.top(v, k, exclude=None if exclude is None else exclude[r], allow=None, decay=decay)
            out[r, : len(i)] = i
        return out

    # ------------------------------------------------------------ items
    @property
    def similarity_method(self) -> str:
        if self.is_factor:
            return "factors"
        return "ease" if isinstance(self.model, EASERecommender) else "skills"

    def similarity(self, item: int) -> F32:
        """Similarity of every item to ``item`` (see :attr:`similarity_method`)."""
        if isinstance(self.model, EASERecommender) and item < self.model.n_fitted_items_:
            col = np.zeros(self.model.n_items_, np.float32)
            col[: self.model.n_fitted_items_] = self.model.weights_[:, item]
            return col
        if self._unit is None:
            if self.is_factor:
                V = cast(FactorRecommender, self.model).item_factors_.astype(np.float32)
            else:
                V = self.view.catalog.item_skill_levels.toarray().astype(np.float32)
            norms = np.linalg.norm(V, axis=1, keepdims=True)
            self._unit = np.ascontiguousarray(V / np.where(norms > 0, norms, 1.0), dtype=np.float32)
        return self._unit @ self._unit[item]
