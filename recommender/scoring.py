"""Serving-time scoring: one augmented item matrix, built once per model load.

Item bias and freshness are folded into one contiguous float32 matrix
``M = [V | b | log f]`` scored against ``q = [u | 1 | λ]``, so

    score = u·v + b + λ·log(freshness)

in one streaming pass with nothing computed per item at request time. Decay is
*additive* in log space: a stale item loses the same amount whatever the sign of its
raw score (multiplying raw scores by freshness would reward stale items whose score is
negative). Turning decay off (``decay=False``) just sets λ = 0 in the query.

Single-user float32 requests scan a panel copy of the matrix (64 items per block,
column-major inside it, see :mod:`recommender._panel`) with a fused kernel that
scores 64 items per column step in registers and keeps a running top-k without
materialising the score vector. With ``dtype="bfloat16"`` or ``"float16"``
a half-size copy is scanned first with a proven per-item error bound, and only the
items that could still be in the top-k are re-scored in float32: the answer is the
exact float32 answer at about half the memory traffic (``exact=False`` skips the
re-scoring and returns the reduced-precision ranking). Batches on a float32 index
scan the same panels, 4 users x 64 items per register tile, each panel read from
memory once per batch (:mod:`recommender._panel_batch`); with a reduced
dtype they use :mod:`recommender._batch` (16 users x 8 items over cache-sized blocks
of the row-major matrix). Both keep the same running selection.

Thread safety: ``recommend*`` and ``score_vector`` allocate their own (small) scratch
and only read the index, so any number of threads may call them concurrently (the
kernels release the GIL). :meth:`ScoringIndex.update_freshness` writes in place and
must not run concurrently with scoring; :meth:`ScoringIndex.with_freshness` builds a
new index for an atomic swap instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from catalog.errors import ConfigError, IntegrityError, UnknownItemError
from recommender import _batch as B
from recommender import _kernels as K
from recommender import _panel as P
from recommender import _panel_batch as PB
from recommender.topk import NO_MASK, NO_WORDS, ItemMask, as_exclusions, as_mask, check_k, exclusions_csr, pack_mask

__all__ = ["ScoringIndex", "DTYPES", "log_freshness"]

DTYPES = ("float32", "bfloat16", "float16")
_EPS32 = 2.0**-24  # float32 unit roundoff
_FP16_MAX = 65504.0
_BF16_MAX = 3.3895e38
_FP16_MIN_NORMAL = 2.0**-14
_FP16_QUERY_LIMIT = 2.0**15
_SAFE_SCORE = 2.0**120  # reduced-precision exact scans run only while ‖q‖·max‖x‖ stays below this
# Items per block in batches (see recommender/_batch.py): the block's rows (264 B each
# at 64 factors) stay in L2 while every group of 16 users is scored against them.
_BATCH_BLOCK = 512
_BATCH_BLOCK_ONE_GROUP = 1024


def log_freshness(freshness: ArrayLike) -> NDArray[np.float32]:
    """``log(freshness)`` for freshness in (0, 1] (see :mod:`catalog.freshness`)."""
    f = np.asarray(freshness, dtype=np.float64)
    if f.ndim != 1 or not np.all((f > 0) & (f <= 1)):
        raise IntegrityError("freshness must be a 1-D array of values in (0, 1]")
    return np.log(f).astype(np.float32)


def _vector(x: ArrayLike | None, n: int, what: str) -> NDArray[np.float32]:
    if x is None:
        return np.zeros(n, np.float32)
    v = np.asarray(x, dtype=np.float32)
    if v.shape != (n,):
        raise IntegrityError(f"{what} has shape {v.shape}, expected ({n},)")
    if not np.all(np.isfinite(v)):
        raise IntegrityError(f"{what} has non-finite values")
    return v


def _scaled(q: NDArray[np.float32]) -> NDArray[np.float32]:
    """``q * 2**112`` (the float16 decode scale, exact), 64-byte aligned like ``q``."""
    out = K.aligned_empty(q.shape[0])
    np.multiply(q, K.FP16_QUERY_SCALE, out=out)
    return out


class ScoringIndex:
    """Item side of the scorer: augmented matrix, masks and reduced copy, prepared once.

    Parameters
    ----------
    item_factors : (n_items, d) float array
        ``item_factors_`` of a factor model (d may be 0, see :meth:`for_scores`).
    item_bias : (n_items,) float, optional
        Folded in as the ``b`` column (user side holds 1).
    log_freshness : (n_items,) float, optional
        ``log(freshness)`` (<= 0), the decay column; zeros (no decay) when absent.
    freshness_weight : float
        λ, the user-side weight of the decay column when ``decay=True``.
    active : (n_items,) bool, optional
        Items that may ever be recommended (retired resources are False).
    dtype : "float32" | "bfloat16" | "float16"
        Storage scanned by requests (the row-major float32 matrix is always kept for
        exact re-scoring and :meth:`components`; ``"float32"`` adds a panel copy of it
        that single-user requests and batches scan, so twice the matrix memory).
    exact : bool
        With a reduced dtype, re-score candidates in float32 so answers are exact.
    """

    def __init__(self, item_factors: ArrayLike, *, item_bias: ArrayLike | None = None,
                 log_freshness: ArrayLike | None = None, freshness_weight: float = 1.0,
                 active: ArrayLike | None = None, dtype: str = "float32", exact: bool = True) -> None:
        v = np.asarray(item_factors)
        if v.ndim != 2:
            raise IntegrityError(f"item_factors must be 2-D (n_items x d), got shape {v.shape}")
        if dtype not in DTYPES:
            raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        if not np.isfinite(freshness_weight):
            raise ConfigError(f"freshness_weight must be finite, got {freshness_weight}")
        n, d = v.shape
        self.n_items, self.n_factors = n, d
        self.dtype, self.exact = dtype, bool(exact)
        self.freshness_weight = float(freshness_weight)
        m = np.empty((n, d + 2), np.float32)
        m[:, :d] = v
        if not np.all(np.isfinite(m[:, :d])):
            raise IntegrityError("item_factors has non-finite values (or values beyond float32 range)")
        m[:, d] = _vector(item_bias, n, "item_bias")
        m[:, d + 1] = _vector(log_freshness, n, "log_freshness")
        self.matrix_: NDArray[np.float32] = m
        self._set_active(as_mask(active, n, what="active"))
        self._reduced: NDArray[np.uint16] | NDArray[np.int16] | None = None
        self._weights: NDArray[np.float32] | None = None
        self._panel: NDArray[np.float32] | NDArray[np.uint16] | None = None
        self._tail: NDArray[np.float32] | None = None  # bfloat16 panels: the exact bias/decay columns
        self._build_scan()

    def _build_scan(self) -> None:
        """(Re)build what single-user requests scan: a float32 or bfloat16 panel copy, or
        a row-major float16 copy (its decode is not vectorised in the panel tile)."""
        self._panel = self._reduced = self._weights = self._fallback_panel = self._tail = None
        if self.dtype == "float32":
            self._panel = P.build_panel(self.matrix_)
        else:
            self._build_reduced()

    def _set_active(self, active: NDArray[np.bool_]) -> None:
        # a copy: the packed words below must not go stale if the caller's array changes
        self.active_: NDArray[np.bool_] = active.copy()
        # the panel scans read it packed, one word per 64 items (see topk.ItemMask)
        self._active_words = NO_WORDS if active.size == 0 or active.all() else pack_mask(active)

    def with_active(self, active: ArrayLike | None) -> ScoringIndex:
        """The same index (arrays shared, nothing rebuilt) with another ``active`` mask."""
        new = object.__new__(ScoringIndex)
        new.__dict__.update(self.__dict__)
        new._set_active(as_mask(active, self.n_items, what="active"))
        return new

    @classmethod
    def for_scores(cls, n_items: int, **kwargs) -> ScoringIndex:
        """An index with no factors, for models that compute score vectors (EASE)."""
        return cls(np.zeros((n_items, 0), np.float32), **kwargs)

    # ------------------------------------------------------------ preparation
    def _build_reduced(self) -> None:
        m = self.matrix_
        if self.dtype == "bfloat16":
            if np.abs(m[:, : self.n_factors]).max(initial=0.0) >= _BF16_MAX:  # the tail stays float32
                raise IntegrityError("values exceed the bfloat16 range")
            red = np.empty(m.shape, np.uint16)
            K.to_bf16(m, red)
            scale = 1.0
        else:
            if np.abs(m).max(initial=0.0) > _FP16_MAX:
                raise IntegrityError("values exceed the float16 range (65504); use dtype='bfloat16'")
            h = m.astype(np.float16)
            h[np.abs(h) < _FP16_MIN_NORMAL] = 0  # flush subnormals (see _kernels)
            red = h.view(np.int16)  # int16 tells the kernels "float16"
            scale = float(2.0**112)
        self._reduced = np.ascontiguousarray(red)
        big_d = m.shape[1]
        gamma = big_d * _EPS32 / (1 - big_d * _EPS32) + 4 * _EPS32
        d = self.n_factors
        # bf16: the factor columns are scanned in bfloat16, the bias and log-freshness
        # columns (a float32 tail) exactly, so cold items with zero factors have no error.
        exact_from = d if self.dtype == "bfloat16" else big_d
        w = K.bound_weights(m, self._reduced, scale, gamma, exact_from)
        self._weights = (w * (1 + 2.0**-20)).astype(np.float32)
        # ‖x‖ bounds every partial sum |Σ q_j x_j| by ‖q‖·‖x‖ (Cauchy-Schwarz): requests whose
        # ‖q‖·max‖x‖ nears the float32 range could overflow a pass (inf is no bound), see _select.
        self._max_row_norm = float(np.sqrt(np.einsum("ij,ij->i", m, m, dtype=np.float64)).max(initial=0.0))
        if self.dtype == "bfloat16":  # scanned as panels (see _panel); no row-major copy kept
            self._panel = P.build_panel(np.ascontiguousarray(self._reduced[:, :d]))
            self._tail = P.build_panel(np.ascontiguousarray(m[:, d:]))
            self._weights = P.pad_weights(self._weights)
            self._reduced = None

    def update_freshness(self, log_freshness: ArrayLike) -> None:
        """Replace the decay column in place (daily refresh); not concurrent-safe."""
        lf = _vector(log_freshness, self.n_items, "log_freshness")
        self.matrix_[:, self.n_factors + 1] = lf
        self._build_scan()  # new arrays: a with_freshness copy never writes shared ones

    def with_freshness(self, log_freshness: ArrayLike) -> ScoringIndex:
        """A new index with another decay column; swap it in atomically."""
        new = object.__new__(ScoringIndex)
        new.__dict__.update(self.__dict__)
        new.matrix_ = self.matrix_.copy()
        new.update_freshness(log_freshness)
        return new

    def with_dtype(self, dtype: str, *, exact: bool = True) -> ScoringIndex:
        """The same index scanning another storage format; shares the float32 matrix.

        Because of the sharing, refresh either index with :meth:`with_freshness` (which
        copies), never :meth:`update_freshness` (which would stale the other's copy).
        """
        if dtype not in DTYPES:
            raise ConfigError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        new = object.__new__(ScoringIndex)
        new.__dict__.update(self.__dict__)
        new.dtype, new.exact = dtype, bool(exact)
        new._reduced = new._weights = new._panel = new._tail = None
        if dtype == self.dtype:
            new._reduced, new._weights, new._panel, new._tail = self._reduced, self._weights, self._panel, self._tail
        else:
            new._build_scan()
        return new

    @property
    def nbytes(self) -> int:
        """Memory held by the index (float32 matrix, panel or reduced copy, bound weights)."""
        extra = sum(a.nbytes for a in (self._panel, self._tail, self._reduced, self._weights, self._fallback_panel,
                                       self._active_words) if a is not None)
        return self.matrix_.nbytes + extra

    # ------------------------------------------------------------ query side
    def query(self, user_vector: ArrayLike, *, decay: bool = True) -> NDArray[np.float32]:
        """``[u | 1 | λ]`` (λ = 0 when ``decay`` is off), 64-byte aligned (see ``_kernels``)."""
        u = np.asarray(user_vector, dtype=np.float32)
        if u.shape != (self.n_factors,):
            raise IntegrityError(f"user vector has shape {u.shape}, expected ({self.n_factors},)")
        q, finite = K.make_query(u, np.float32(self.freshness_weight if decay else 0.0))
        if not finite:
            raise IntegrityError("user vector has non-finite values")
        return q

    def _queries(self, user_matrix: ArrayLike, decay: bool) -> NDArray[np.float32]:
        u = np.asarray(user_matrix, dtype=np.float32)
        if u.ndim != 2 or u.shape[1] != self.n_factors:
            raise IntegrityError(f"user matrix has shape {u.shape}, expected (m, {self.n_factors})")
        if not np.all(np.isfinite(u)):
            raise IntegrityError("user matrix has non-finite values")
        q = np.empty((u.shape[0], self.n_factors + 2), np.float32)
        q[:, : self.n_factors] = u
        q[:, self.n_factors] = 1.0
        q[:, self.n_factors + 1] = self.freshness_weight if decay else 0.0
        return q

    # ------------------------------------------------------------ single user
    def recommend(self, user_vector: ArrayLike, k: int, *, exclude: ArrayLike | None = None,
                  allow: ArrayLike | None = None, decay: bool = True,
                  ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Top-k items for one user: ``(item indices int64, scores float32)`` best-first.

        ``allow`` is a boolean mask over items (a request filter, cached by the caller;
        an :class:`~recommender.topk.ItemMask` is applied a panel at a time by the float32
        and bfloat16 scans, the fastest);
        ``exclude`` item indices are never returned. ``decay=False`` ranks on
        ``u·v + b`` (what the user would see without freshness decay).
        """
        k = check_k(k)
        q = self.query(user_vector, decay=decay)
        ma = as_mask(allow, self.n_items)
        wb = allow.words if type(allow) is ItemMask else NO_WORDS
        ex = as_exclusions(exclude, self.n_items)
        return self._select(q, k, ma, wb, ex)

    def _select(self, q: NDArray[np.float32], k: int, ma: NDArray[np.bool_], wb: NDArray[np.int64],
                ex: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """``ma``: the allow mask's bools (row-major kernels); ``wb``: the same packed (an
        ItemMask's words, empty for a bool mask), which the panel kernels use instead."""
        n = self.n_items
        wa, mb = self._active_words, (NO_MASK if wb.size else ma)
        if self.dtype == "float32":
            return P.fused_panel(self._panel, n, q, k, wa, wb, mb, ex)
        if self.dtype == "bfloat16" and not self.exact:
            return P.fused_panel_bf16(self._panel, self._tail, self._weights, n, q, k, wa, wb, mb, ex)
        if not self.exact:
            qr = _scaled(q) if self.dtype == "float16" else q
            return K.fused_reduced(self._reduced, qr, k, self.active_, ma, ex)
        qr = q
        if self.dtype == "float16":
            if np.abs(q).max() >= _FP16_QUERY_LIMIT:  # q * 2**112 would overflow
                return self._select_rows(q, k, ma, wb, ex)
            qr = _scaled(q)
        q64 = q.astype(np.float64)
        qnorm = math.sqrt(q64 @ q64)
        if qnorm * self._max_row_norm >= _SAFE_SCORE:  # a pass could overflow: its bound would be no bound
            return self._select_rows(q, k, ma, wb, ex)
        err = np.float32(qnorm * (1 + 2.0**-20))
        cap = max(4096, 16 * k)
        ci, cu = np.empty(cap, np.int64), np.empty(cap, np.float32)
        if self.dtype == "bfloat16":
            idx, vals, ok = P.fused_panel_bf16_exact(self._panel, self._tail, self._weights, self.matrix_, n, q,
                                                     err, k, wa, wb, mb, ex, ci, cu)
        else:
            idx, vals, ok = K.fused_reduced_exact(self._reduced, self._weights, self.matrix_, qr, q,
                                                  err, k, self.active_, ma, ex, ci, cu)
        if not ok:  # too many near-ties for the candidate buffer: plain float32 pass
            return self._select_rows(q, k, ma, wb, ex)
        return idx, vals

    def _select_rows(self, q: NDArray[np.float32], k: int, ma: NDArray[np.bool_], wb: NDArray[np.int64],
                     ex: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Exact float32 top-k: the reduced paths' fallback when near-ties overflow the candidate buffer.

        The float32 panel scan (the same FMA chain as the re-scoring, so the answer is the
        one a float32 index gives), over a float32 panel built on the first fallback and
        kept: the index then holds that copy too. It was not rare with a weakly trained
        model whose many cold items score alike (42% of requests on a 100k-item world with
        5-iteration ALS, before the bf16 panel kept bias and freshness exact: now 0 of 400
        there), and it must stay as fast as a float32 index, not a slow path (the one-user
        batch kernel it replaced took 5x longer).
        """
        panel = self._fallback_panel
        if panel is None:
            panel = self._fallback_panel = P.build_panel(self.matrix_)
        return P.fused_panel(panel, self.n_items, q, k, self._active_words, wb, NO_MASK if wb.size else ma, ex)

    def score_vector(self, scores: ArrayLike, k: int, *, exclude: ArrayLike | None = None,
                     allow: ArrayLike | None = None, decay: bool = True,
                     ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Top-k of externally computed scores (EASE): adds ``b + λ·log f``, same filters."""
        k = check_k(k)
        s = np.ascontiguousarray(scores, dtype=np.float32)
        if s.shape != (self.n_items,):
            raise IntegrityError(f"scores have shape {s.shape}, expected ({self.n_items},)")
        d = self.n_factors
        lam = self.freshness_weight if decay else 0.0
        offset = self.matrix_[:, d] + np.float32(lam) * self.matrix_[:, d + 1]
        ma = as_mask(allow, self.n_items)
        ex = as_exclusions(exclude, self.n_items)
        return K.select_1d(s, k, self.active_, ma, ex, offset, np.float32(1.0))

    def components(self, user_vector: ArrayLike, items: ArrayLike,
                   ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        """``(raw score u·v + b, freshness)`` of ``items``, to show why they rank where they do."""
        it = np.asarray(items, dtype=np.int64)
        if it.size and (it.min() < 0 or it.max() >= self.n_items):
            raise UnknownItemError([str(int(i)) for i in it[(it < 0) | (it >= self.n_items)]])
        q = self.query(user_vector, decay=False)
        rows = self.matrix_[it]
        return rows @ q, np.exp(rows[:, self.n_factors + 1])

    def scores(self, user_vector: ArrayLike, *, decay: bool = True) -> NDArray[np.float32]:
        """The full score vector (diagnostics and tests; serving never needs it)."""
        return self.matrix_ @ self.query(user_vector, decay=decay)

    # ------------------------------------------------------------ batches
    def recommend_batch(self, user_matrix: ArrayLike, k: int, *,
                        exclude: Sequence[ArrayLike | None] | None = None,
                        allow: ArrayLike | None = None, decay: bool = True,
                        ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Top-k for each row of ``user_matrix``: ``(m, k)`` arrays padded with -1 / -inf.

        One ``allow`` mask for the whole batch (group requests by filter), one
        ``exclude`` array per user. A fused kernel scores the items for groups of
        users in registers and selects as it goes (no score matrix, no BLAS): on a
        float32 index it scans the same panels as :meth:`recommend` (each panel read
        once per batch, every group scored from L1; the scores are bitwise the
        single-user ones), otherwise the row-major matrix in blocks.
        """
        k = check_k(k)
        qs = self._queries(user_matrix, decay)
        m, n = qs.shape[0], self.n_items
        ma = as_mask(allow, n)
        ex_ptr, ex_idx = exclusions_csr(exclude, m, n)
        if k == 0 or m == 0:
            return np.full((m, k), -1, np.int64), np.full((m, k), -np.inf, np.float32)
        if self.dtype == "float32":
            return PB.fused_panel_batch(self._panel, n, PB.pack_groups(qs), m, k, self.active_, ma,
                                       ex_ptr, ex_idx)
        qt = B.pack_queries(qs)
        block = _BATCH_BLOCK_ONE_GROUP if qt.shape[0] == 1 else _BATCH_BLOCK
        return B.fused_batch(self.matrix_, qt, m, k, self.active_, ma, ex_ptr, ex_idx, block)

    def reach(self, user_matrix: ArrayLike, item: int, k: int, *, decay: bool = False,
              allow: ArrayLike | None = None) -> NDArray[np.bool_]:
        """Per user, whether ``item`` is in their top-k (``decay=False``: had it not decayed).

        ``reach(U, stale_item, 10).sum()`` answers "how many mentees' top-10 would this
        stale item have entered without decay".
        """
        if not 0 <= int(item) < self.n_items:
            raise UnknownItemError(str(item))
        idx, _ = self.recommend_batch(user_matrix, k, allow=allow, decay=decay)
        return (idx == int(item)).any(axis=1)
